package app

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkV1CreateProject measures POST /v1/projects (the request
// supabase-management-js's createAProject sends) with 10 creates in flight
// at a time against the local servers (PostgreSQL 16 workers, moto, the
// Kong fake): p50/p95 latency of one create under that load.
//
//	go test ./internal/app -run '^$' -bench V1CreateProject -benchtime 40x
func BenchmarkV1CreateProject(b *testing.B) {
	m := newTM(b)
	lat := make([]time.Duration, b.N)
	errs := make(chan error, b.N)
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"name":"bench %d","organization_slug":"bench","db_pass":"unused-password","region":"us-east-1"}`, i)
			start := time.Now()
			var p map[string]any
			status := m.v1("POST", "/v1/projects", body, &p)
			lat[i] = time.Since(start)
			if status != http.StatusCreated {
				errs <- fmt.Errorf("create %d: %d %v", i, status, p)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95)/100].Milliseconds()), "p95-ms")
}
