package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/reconcile"
)

// faultAPI sits in front of the Lambda API (the reconciler's seam): it
// counts the updates that succeeded per function, fails chosen functions'
// code updates, and can hold GetFunction calls.
type faultAPI struct {
	lambdas.API
	mu        sync.Mutex
	failCode  map[string]error
	codeOK    map[string]int
	configOK  map[string]int
	gets      atomic.Int64
	afterCode func(function string)
	// hold, when set, blocks GetFunction until it is closed; reached is
	// closed at the first blocked call.
	hold, reached chan struct{}
	reachOnce     sync.Once
}

func newFaultAPI(next lambdas.API) *faultAPI {
	return &faultAPI{API: next, failCode: map[string]error{}, codeOK: map[string]int{}, configOK: map[string]int{}}
}

func (f *faultAPI) GetFunction(ctx context.Context, in *lambda.GetFunctionInput, o ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	f.gets.Add(1)
	f.mu.Lock()
	hold, reached := f.hold, f.reached
	f.mu.Unlock()
	if hold != nil {
		f.reachOnce.Do(func() { close(reached) })
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.API.GetFunction(ctx, in, o...)
}

func (f *faultAPI) UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	name := aws.ToString(in.FunctionName)
	f.mu.Lock()
	injected := f.failCode[name]
	f.mu.Unlock()
	if injected != nil {
		return nil, injected
	}
	out, err := f.API.UpdateFunctionCode(ctx, in, o...)
	if err == nil {
		f.mu.Lock()
		f.codeOK[name]++
		hook := f.afterCode
		f.mu.Unlock()
		if hook != nil {
			hook(name)
		}
	}
	return out, err
}

func (f *faultAPI) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	out, err := f.API.UpdateFunctionConfiguration(ctx, in, o...)
	if err == nil {
		f.mu.Lock()
		f.configOK[aws.ToString(in.FunctionName)]++
		f.mu.Unlock()
	}
	return out, err
}

func (f *faultAPI) setFail(projectID string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failCode, lambdas.FunctionName(projectID))
		return
	}
	f.failCode[lambdas.FunctionName(projectID)] = err
}

func (f *faultAPI) counts() (code, cfg map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	code, cfg = map[string]int{}, map[string]int{}
	for k, v := range f.codeOK {
		code[k] = v
	}
	for k, v := range f.configOK {
		cfg[k] = v
	}
	return code, cfg
}

// sameDB makes a second tenant-manager on another's platform database and
// Kong: two tasks of one deployment.
func sameDB(other *tm) option {
	return func(c *config.Config) {
		c.PlatformDatabaseURL = other.cfg.PlatformDatabaseURL
		c.KongAdminURL = other.cfg.KongAdminURL
	}
}

func fleetOpts(f func(c *config.Config)) option {
	return func(c *config.Config) {
		c.Fleet.Rate = 0
		f(c)
	}
}

func (m *tm) reconciler() *reconcile.Reconciler {
	return m.app.Server.Fleet.(*reconcile.Reconciler)
}

func (m *tm) functions() *lambdas.Client {
	return m.app.Service.Functions.(*lambdas.Client)
}

// fleetStatus reads GET /v1/platform/reconcile.
func (m *tm) fleetStatus() map[string]any {
	m.t.Helper()
	status, body := m.do("GET", "/v1/platform/reconcile", adminToken, "")
	require.Equal(m.t, http.StatusOK, status, "%v", body)
	return body
}

func counts(body map[string]any) (upToDate, pending, failed int) {
	c := body["counts"].(map[string]any)
	return int(c["up_to_date"].(float64)), int(c["pending"].(float64)), int(c["failed"].(float64))
}

// waitRunAfter waits until a run that started after since has finished.
func (m *tm) waitRunAfter(since time.Time) map[string]any {
	m.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		body := m.fleetStatus()
		run := body["last_run"].(map[string]any)
		if s, ok := run["started_at"].(string); ok && run["outcome"] != "running" {
			started, err := time.Parse(time.RFC3339Nano, s)
			require.NoError(m.t, err)
			if started.After(since) && run["finished_at"] != nil {
				return body
			}
		}
		require.True(m.t, time.Now().Before(deadline), "no finished run after %s: %v", since, body)
		time.Sleep(100 * time.Millisecond)
	}
}

type liveFn struct {
	image  string
	memory int32
	env    map[string]string
	url    string
}

func (m *tm) live(id string) liveFn {
	m.t.Helper()
	ctx := context.Background()
	fn, err := m.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(lambdas.FunctionName(id))})
	require.NoError(m.t, err, id)
	l := liveFn{image: aws.ToString(fn.Code.ImageUri), memory: aws.ToInt32(fn.Configuration.MemorySize), env: fn.Configuration.Environment.Variables}
	u, err := m.lambda.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(lambdas.FunctionName(id))})
	require.NoError(m.t, err, id)
	l.url = aws.ToString(u.FunctionUrl)
	return l
}

// reservedConcurrency is concurrency as a number, -1 for none.
func (m *tm) reservedConcurrency(id string) int {
	m.t.Helper()
	c := m.concurrency(id)
	if c == nil {
		return -1
	}
	return int(*c)
}

const (
	imageA = "123456789012.dkr.ecr.us-east-1.amazonaws.com/postgrest-lambda:a"
	imageB = "123456789012.dkr.ecr.us-east-1.amazonaws.com/postgrest-lambda:b"
)

func image(tag string) string {
	return "123456789012.dkr.ecr.us-east-1.amazonaws.com/postgrest-lambda:" + tag
}

// TestFleetReconcile: 10 projects on image A and 512 MiB; a restart with
// image B and 1024 MiB converges them all (the paused one stays at
// reserved concurrency 0), then out-of-band deletions, injected failures,
// a failing canary, a killed run, a second task and a JWT rotation.
func TestFleetReconcile(t *testing.T) {
	t.Parallel()
	a := newTM(t, fleetOpts(func(c *config.Config) { c.PostgrestImageURI = imageA }))
	const n = 10
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("fleet-%02d", i+1)
	}
	inParallel(n, 5, func(i int) {
		status, body := a.create(ids[i])
		if status != http.StatusCreated {
			t.Errorf("create %s: %d %v", ids[i], status, body)
		}
	})
	require.False(t, t.Failed())
	paused := "fleet-03"
	status, body := a.do("POST", "/project/"+paused+"/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, 0, a.reservedConcurrency(paused))
	for _, id := range ids {
		l := a.live(id)
		require.Equal(t, imageA, l.image)
		require.EqualValues(t, 512, l.memory)
	}

	// The restart: a task with the new settings reconciles at start.
	before := time.Now()
	b := newTM(t, sameDB(a), fleetOpts(func(c *config.Config) {
		c.PostgrestImageURI = imageB
		c.LambdaMemoryMiB = 1024
	}))
	st := b.waitRunAfter(before)
	require.Equal(t, "completed", st["last_run"].(map[string]any)["outcome"], "%v", st)
	up, pending, failed := counts(st)
	require.Equal(t, [3]int{n, 0, 0}, [3]int{up, pending, failed}, "%v", st)
	version := reconcile.Version(b.functions().Settings)
	require.Equal(t, version, st["desired"].(map[string]any)["version"])
	for _, id := range ids {
		l := b.live(id)
		require.Equal(t, imageB, l.image, id)
		require.EqualValues(t, 1024, l.memory, id)
		var desired, applied string
		require.NoError(t, b.app.Service.Store.Pool.QueryRow(context.Background(),
			"SELECT desired_version, applied_version FROM function_rollout WHERE project_id = $1", id).Scan(&desired, &applied))
		require.Equal(t, [2]string{version, version}, [2]string{desired, applied}, id)
	}
	require.Equal(t, 0, b.reservedConcurrency(paused), "a paused project keeps reserved concurrency 0 through a rollout")

	fault := newFaultAPI(b.functions().API)
	b.functions().API = fault
	t.Cleanup(func() { b.functions().API = fault.API })
	r := b.reconciler()
	r.Settings.RetryDelay = 10 * time.Millisecond
	ctx := context.Background()
	parent := t

	t.Run("out-of-band deletions are repaired", func(t *testing.T) {
		gone, noURL := "fleet-05", "fleet-06"
		oldGone, oldNoURL := b.live(gone).url, b.live(noURL).url
		_, err := b.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(lambdas.FunctionName(gone))})
		require.NoError(t, err)
		_, err = b.lambda.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String(lambdas.FunctionName(noURL))})
		require.NoError(t, err)

		since := time.Now()
		status, body := b.do("POST", "/v1/platform/reconcile", adminToken, "")
		require.Equal(t, http.StatusAccepted, status, "%v", body)
		st := b.waitRunAfter(since)
		require.Equal(t, "completed", st["last_run"].(map[string]any)["outcome"], "%v", st)
		up, _, _ := counts(st)
		require.Equal(t, n, up)

		rdb := goredis.NewClient(&goredis.Options{Addr: env.redisAddr})
		defer rdb.Close()
		for id, old := range map[string]string{gone: oldGone, noURL: oldNoURL} {
			l := b.live(id)
			require.Equal(t, imageB, l.image)
			require.EqualValues(t, 1024, l.memory)
			require.NotEmpty(t, l.url)
			require.NotEqual(t, old, l.url, "%s: a new URL", id)
			p, err := b.app.Service.Store.GetProject(ctx, id)
			require.NoError(t, err)
			require.Equal(t, l.url, *p.FunctionURL, "%s: the stored URL follows", id)
			require.Equal(t, l.url, b.gatewayConfig(id).FunctionURL)
			doc, err := rdb.Get(ctx, provision.ConfigKey(id)).Result()
			require.NoError(t, err, "%s: the configuration document is written through", id)
			require.Contains(t, doc, l.url)
		}
		// Made again like at create: its log group exists with retention.
		lg, err := cloudwatchlogs.NewFromConfig(env.aws).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/postgrest-" + gone)})
		require.NoError(t, err)
		require.Len(t, lg.LogGroups, 1)
		require.NotNil(t, lg.LogGroups[0].RetentionInDays)
	})

	t.Run("a failing project does not block the others", func(t *testing.T) {
		broken := "fleet-10"
		fault.setFail(broken, &types.InvalidParameterValueException{Message: aws.String("injected: the image cannot be pulled")})
		b.functions().Settings.ImageURI = image("c")
		res, err := r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.True(t, res.Ran)
		require.Equal(t, reconcile.OutcomeWithFailures, res.Outcome, "%+v", res)
		require.Equal(t, []string{"fleet-01", "fleet-02"}, res.Canary)
		st := b.fleetStatus()
		up, pending, failed := counts(st)
		require.Equal(t, [3]int{n - 1, 0, 1}, [3]int{up, pending, failed}, "%v", st)
		f := st["failed"].([]any)[0].(map[string]any)
		require.Equal(t, broken, f["project_id"])
		require.Contains(t, f["error"], "injected: the image cannot be pulled")
		require.EqualValues(t, 3, f["attempts"])
		for _, id := range ids {
			want := image("c")
			if id == broken {
				want = imageB
			}
			require.Equal(t, want, b.live(id).image, id)
		}

		// The fault clears: the next run fixes it.
		fault.setFail(broken, nil)
		res, err = r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.Equal(t, reconcile.OutcomeUpToDate, res.Outcome, "%+v", res)
		require.Equal(t, 1, res.Updated)
		require.Equal(t, image("c"), b.live(broken).image)
		up, pending, failed = counts(b.fleetStatus())
		require.Equal(t, [3]int{n, 0, 0}, [3]int{up, pending, failed})
	})

	t.Run("a failing canary stops the rollout", func(t *testing.T) {
		fault.setFail("fleet-01", &types.InvalidParameterValueException{Message: aws.String("injected: bad image")})
		b.functions().Settings.ImageURI = image("d")
		res, err := r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.Equal(t, reconcile.OutcomeCanaryFailed, res.Outcome, "%+v", res)
		require.Contains(t, res.Error, "fleet-01")
		updated := 0
		for _, id := range ids {
			if b.live(id).image == image("d") {
				updated++
			}
		}
		require.Equal(t, 1, updated, "only the other canary was updated")
		st := b.fleetStatus()
		run := st["last_run"].(map[string]any)
		require.Equal(t, "canary_failed", run["outcome"])
		require.Contains(t, run["error"], "injected: bad image")
		up, pending, failed := counts(st)
		require.Equal(t, [3]int{1, n - 2, 1}, [3]int{up, pending, failed}, "%v", st)

		fault.setFail("fleet-01", nil)
		res, err = r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.Equal(t, reconcile.OutcomeUpToDate, res.Outcome, "%+v", res)
		for _, id := range ids {
			require.Equal(t, image("d"), b.live(id).image, id)
		}
	})

	t.Run("a killed run resumes without updating anything twice", func(t *testing.T) {
		code0, cfg0 := fault.counts()
		b.functions().Settings.ImageURI = image("e")
		b.functions().Settings.MemoryMiB = 1536
		runCtx, kill := context.WithCancel(ctx)
		var done atomic.Int64
		fault.mu.Lock()
		fault.afterCode = func(string) {
			if done.Add(1) == 6 {
				kill()
			}
		}
		fault.mu.Unlock()
		res, err := r.Run(runCtx, reconcile.TriggerRequested)
		kill()
		fault.mu.Lock()
		fault.afterCode = nil
		fault.mu.Unlock()
		require.Equal(t, reconcile.OutcomeInterrupted, res.Outcome, "%+v %v", res, err)
		onE := 0
		for _, id := range ids {
			if b.live(id).image == image("e") {
				onE++
			}
		}
		require.Less(t, onE, n, "the run was stopped mid-rollout")

		// A new reconciler (as after a restart) on the same database.
		again := &reconcile.Reconciler{Service: b.app.Service, Functions: b.functions(), Settings: r.Settings, Log: r.Log}
		res, err = again.Run(ctx, reconcile.TriggerStart)
		require.NoError(t, err)
		require.Equal(t, reconcile.OutcomeUpToDate, res.Outcome, "%+v", res)
		code1, cfg1 := fault.counts()
		for _, id := range ids {
			l := b.live(id)
			require.Equal(t, image("e"), l.image, id)
			require.EqualValues(t, 1536, l.memory, id)
			name := lambdas.FunctionName(id)
			require.LessOrEqual(t, code1[name]-code0[name], 1, "%s: code updated twice for one version", id)
			require.LessOrEqual(t, cfg1[name]-cfg0[name], 1, "%s: configuration updated twice for one version", id)
		}
		up, _, _ := counts(b.fleetStatus())
		require.Equal(t, n, up)
	})

	t.Run("two tasks: only one reconciles", func(t *testing.T) {
		c := newTM(parent, sameDB(a), fleetOpts(func(c *config.Config) {
			c.Fleet.Interval = 0
			c.PostgrestImageURI = image("f")
		}))
		cFault := newFaultAPI(c.functions().API)
		c.functions().API = cFault
		t.Cleanup(func() { c.functions().API = cFault.API })

		b.functions().Settings.ImageURI = image("f")
		fault.mu.Lock()
		fault.hold, fault.reached = make(chan struct{}), make(chan struct{})
		fault.reachOnce = sync.Once{}
		hold, reached := fault.hold, fault.reached
		fault.mu.Unlock()
		var releaseOnce sync.Once
		release := func() {
			releaseOnce.Do(func() {
				fault.mu.Lock()
				fault.hold = nil
				fault.mu.Unlock()
				close(hold)
			})
		}
		// A failed assertion must not leave the first task's run blocked.
		defer release()
		type outcome struct {
			res reconcile.Result
			err error
		}
		bDone := make(chan outcome, 1)
		go func() {
			res, err := r.Run(ctx, reconcile.TriggerStart)
			bDone <- outcome{res, err}
		}()
		<-reached

		res, err := c.reconciler().Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.False(t, res.Ran, "the second task must not reconcile while the first does")
		require.Zero(t, cFault.gets.Load(), "the second task made no Lambda call")
		st := c.fleetStatus()
		require.Equal(t, true, st["running"], "%v", st)
		// Asked for on the second task while the first runs: the first
		// runs again when it is done.
		status, body := c.do("POST", "/v1/platform/reconcile", adminToken, `{}`)
		require.Equal(t, http.StatusAccepted, status, "%v", body)
		time.Sleep(200 * time.Millisecond)

		release()
		out := <-bDone
		require.NoError(t, out.err)
		require.True(t, out.res.Ran)
		run, err := b.app.Service.Store.GetFleetRun(ctx)
		require.NoError(t, err)
		require.Equal(t, "requested", *run.Trigger, "the request made on the other task ran on the lock holder")
		require.Equal(t, reconcile.OutcomeUpToDate, *run.Outcome)
		require.Zero(t, cFault.gets.Load())
		for _, id := range ids {
			require.Equal(t, image("f"), b.live(id).image, id)
		}
		st = c.fleetStatus()
		require.Equal(t, false, st["running"], "%v", st)
	})

	t.Run("a JWT rotation's recycle is not undone", func(t *testing.T) {
		id := "fleet-07"
		status, body := b.do("POST", "/project/"+id+"/jwt-secret/rotate", adminToken, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		gen := b.live(id).env[lambdas.GenerationVar]
		require.NotEmpty(t, gen)
		_, cfg0 := fault.counts()
		res, err := r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.Equal(t, 0, res.Updated, "%+v", res)
		_, cfg1 := fault.counts()
		require.Equal(t, cfg0[lambdas.FunctionName(id)], cfg1[lambdas.FunctionName(id)])

		// A configuration change keeps the recycle's generation.
		b.functions().Settings.MemoryMiB = 2048
		res, err = r.Run(ctx, reconcile.TriggerRequested)
		require.NoError(t, err)
		require.Equal(t, n, res.Updated, "%+v", res)
		l := b.live(id)
		require.EqualValues(t, 2048, l.memory)
		require.Equal(t, gen, l.env[lambdas.GenerationVar])
	})

	require.Equal(t, 0, b.reservedConcurrency(paused), "a paused project keeps reserved concurrency 0 through every rollout")
	require.Equal(t, -1, b.reservedConcurrency("fleet-04"))
}

// A reserved concurrency changed out of band comes back to the project's
// setting; an unknown endpoint body field is refused.
func TestFleetConcurrencyAndAPI(t *testing.T) {
	t.Parallel()
	m := newTM(t, fleetOpts(func(c *config.Config) { c.Fleet.Interval = 0 }))
	m.mustCreate("fleet-conc")
	_, err := m.lambda.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("postgrest-fleet-conc"), ReservedConcurrentExecutions: aws.Int32(7)})
	require.NoError(t, err)
	res, err := m.reconciler().Run(context.Background(), reconcile.TriggerRequested)
	require.NoError(t, err)
	require.Equal(t, 1, res.Updated, "%+v", res)
	require.Equal(t, -1, m.reservedConcurrency("fleet-conc"))

	status, body := m.do("POST", "/v1/platform/reconcile", adminToken, `{"force":true}`)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	require.Equal(t, "unknown_field", body["code"])
	status, _ = m.do("GET", "/v1/platform/reconcile", "", "")
	require.Equal(t, http.StatusUnauthorized, status)
}
