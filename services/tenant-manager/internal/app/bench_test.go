package app

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkProvision measures the control-plane part of provisioning
// (platform rows, tenant database on a real PostgreSQL 16, Lambda and URL
// on moto, Kong Admin API) through the HTTP API: p50/p95 latency one at a
// time, then throughput with 10 concurrent creates. The target is p50 <= 500 ms.
//
//	go test ./internal/app -run '^$' -bench Provision -benchtime 20x
func BenchmarkProvision(b *testing.B) {
	m := newTM(b)
	var seq atomic.Int64
	create := func() (time.Duration, error) {
		id := fmt.Sprintf("bench-%d", seq.Add(1))
		start := time.Now()
		status, body := m.create(id)
		d := time.Since(start)
		if status != http.StatusCreated {
			return d, fmt.Errorf("%s: %d %v", id, status, body)
		}
		return d, nil
	}

	b.Run("sequential", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			d, err := create()
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, d)
		}
		reportLatency(b, lat)
	})
	b.Run("concurrency-10", func(b *testing.B) {
		start := time.Now()
		var failed atomic.Int64
		inParallel(b.N, 10, func(int) {
			if _, err := create(); err != nil {
				failed.Add(1)
			}
		})
		if failed.Load() > 0 {
			b.Fatalf("%d creates failed", failed.Load())
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
	})
}

// inParallel calls f(0) to f(n-1), at most limit at a time, and returns
// when all have returned.
func inParallel(n, limit int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// reportLatency reports the median and 95th percentile of lat (which it
// sorts) in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95)/100].Microseconds())/1000, "p95-ms")
}
