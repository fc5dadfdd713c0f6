package app

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/reconcile"
)

// timedAPI adds up the time spent inside Lambda calls (moto's share of a
// run) and counts them.
type timedAPI struct {
	lambdas.API
	calls atomic.Int64
	nanos atomic.Int64
}

func timed[T any](a *timedAPI, f func() (T, error)) (T, error) {
	start := time.Now()
	out, err := f()
	a.nanos.Add(int64(time.Since(start)))
	a.calls.Add(1)
	return out, err
}

func (a *timedAPI) GetFunction(ctx context.Context, in *lambda.GetFunctionInput, o ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	return timed(a, func() (*lambda.GetFunctionOutput, error) { return a.API.GetFunction(ctx, in, o...) })
}
func (a *timedAPI) GetFunctionUrlConfig(ctx context.Context, in *lambda.GetFunctionUrlConfigInput, o ...func(*lambda.Options)) (*lambda.GetFunctionUrlConfigOutput, error) {
	return timed(a, func() (*lambda.GetFunctionUrlConfigOutput, error) { return a.API.GetFunctionUrlConfig(ctx, in, o...) })
}
func (a *timedAPI) GetFunctionConcurrency(ctx context.Context, in *lambda.GetFunctionConcurrencyInput, o ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error) {
	return timed(a, func() (*lambda.GetFunctionConcurrencyOutput, error) {
		return a.API.GetFunctionConcurrency(ctx, in, o...)
	})
}
func (a *timedAPI) UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	return timed(a, func() (*lambda.UpdateFunctionCodeOutput, error) { return a.API.UpdateFunctionCode(ctx, in, o...) })
}
func (a *timedAPI) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	return timed(a, func() (*lambda.UpdateFunctionConfigurationOutput, error) {
		return a.API.UpdateFunctionConfiguration(ctx, in, o...)
	})
}

// BenchmarkFleetReconcile reconciles 200 projects on moto: a rollout (new
// image and memory) at concurrency 5, then compare-only runs over the
// up-to-date fleet. The reconciler's own overhead per up-to-date project
// is the sequential compare-only run's wall time minus the time spent in
// Lambda calls, per project (target <= 5 ms). The rate cap is off here:
// with RECONCILE_RATE r a run takes at least calls / r seconds.
//
//	go test ./internal/app -run '^$' -bench FleetReconcile -benchtime 1x
func BenchmarkFleetReconcile(b *testing.B) {
	const n = 200
	m := newTM(b, fleetOpts(func(c *config.Config) { c.Fleet.Interval = 0 }))
	var failed atomic.Int64
	inParallel(n, 10, func(i int) {
		if status, body := m.create(fmt.Sprintf("bench-fleet-%03d", i)); status != http.StatusCreated {
			b.Logf("create: %d %v", status, body)
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d creates failed", failed.Load())
	}
	fc := m.functions()
	api := &timedAPI{API: fc.API}
	fc.API = api
	b.Cleanup(func() { fc.API = api.API })
	r := m.reconciler()
	ctx := context.Background()
	run := func(concurrency int) (reconcile.Result, time.Duration, int64, time.Duration) {
		r.Settings.Concurrency = concurrency
		calls0, nanos0 := api.calls.Load(), api.nanos.Load()
		start := time.Now()
		res, err := r.Run(ctx, reconcile.TriggerRequested)
		wall := time.Since(start)
		if err != nil || res.Outcome != reconcile.OutcomeUpToDate {
			b.Fatalf("run: %+v %v", res, err)
		}
		return res, wall, api.calls.Load() - calls0, time.Duration(api.nanos.Load() - nanos0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fc.Settings.ImageURI = image(fmt.Sprintf("bench-%d", i))
		fc.Settings.MemoryMiB = int32(1024 + 64*i)
		res, wall, calls, _ := run(5)
		if res.Updated != n {
			b.Fatalf("rollout updated %d of %d", res.Updated, n)
		}
		b.ReportMetric(wall.Seconds(), "rollout-s")
		b.ReportMetric(float64(calls), "rollout-calls")

		res, wall, calls, _ = run(5)
		if res.Updated != 0 || res.Checked != n {
			b.Fatalf("compare-only run: %+v", res)
		}
		b.ReportMetric(wall.Seconds(), "compare-s")
		b.ReportMetric(float64(calls), "compare-calls")

		_, wall, _, inLambda := run(1)
		overhead := (wall - inLambda) / n
		b.ReportMetric(float64(overhead.Microseconds())/1000, "overhead-ms/project")
		if overhead > 5*time.Millisecond {
			b.Errorf("reconciler overhead %s per up-to-date project, above 5 ms", overhead)
		}
	}
}
