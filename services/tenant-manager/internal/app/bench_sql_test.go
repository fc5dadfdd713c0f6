package app

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkSQLQuery measures POST /v1/projects/{ref}/database/query with
// `select 1` through the HTTP API against the local PostgreSQL 16, 10
// requests at a time: p50/p95 latency and requests per second.
//
//	go test ./internal/app -run '^$' -bench SQLQuery -benchtime 2000x
func BenchmarkSQLQuery(b *testing.B) {
	m := newTM(b)
	id := "sqlq-bench"
	if status, body := m.create(id); status != http.StatusCreated {
		b.Fatal(status, body)
	}
	if status, body := m.sql(id, "select 1"); status != http.StatusCreated { // login and pool set up
		b.Fatal(status, string(body))
	}
	b.ResetTimer()
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	errs := make(chan error, b.N)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			status, body := m.sql(id, "select 1")
			lat[i] = time.Since(t0)
			if status != http.StatusCreated {
				errs <- fmt.Errorf("%d %s", status, body)
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95)/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
