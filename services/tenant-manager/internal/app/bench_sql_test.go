package app

import (
	"fmt"
	"net/http"
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
	errs := make(chan error, b.N)
	start := time.Now()
	inParallel(b.N, 10, func(i int) {
		t0 := time.Now()
		status, body := m.sql(id, "select 1")
		lat[i] = time.Since(t0)
		if status != http.StatusCreated {
			errs <- fmt.Errorf("%d %s", status, body)
		}
	})
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
