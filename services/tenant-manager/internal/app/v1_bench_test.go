package app

import (
	"fmt"
	"net/http"
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
	b.ResetTimer()
	inParallel(b.N, 10, func(i int) {
		body := fmt.Sprintf(`{"name":"bench %d","organization_slug":"bench","db_pass":"unused-password","region":"us-east-1"}`, i)
		start := time.Now()
		var p map[string]any
		status := m.v1("POST", "/v1/projects", body, &p)
		lat[i] = time.Since(start)
		if status != http.StatusCreated {
			errs <- fmt.Errorf("create %d: %d %v", i, status, p)
		}
	})
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	reportLatency(b, lat)
}
