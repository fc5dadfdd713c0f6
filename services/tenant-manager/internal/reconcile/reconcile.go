// Package reconcile keeps every tenant function (postgrest-{id}) at its
// desired state: the spec lambdas.Settings gives it (image, memory,
// timeout, architecture, environment, VPC, role, logging, Function URL)
// and the reserved concurrency its project's controls give it. Drifted
// functions are updated (canaries first), missing functions and URLs made
// again as at create; progress lives in the platform database. The edge
// functions Lambdas (functions-{id}) are kept at their own spec in the same
// run.
package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// LockKey names the advisory lock that lets one task reconcile at a time.
const LockKey = store.LockFleetReconcile

// Triggers of a run.
const (
	TriggerStart     = "start"
	TriggerPeriodic  = "periodic"
	TriggerRequested = "requested"
)

// Settings bound the reconciler.
type Settings struct {
	// Concurrency is how many projects are inspected or updated at once
	// (default 5).
	Concurrency int
	// Canary is how many drifted projects are updated and checked before
	// the others; a canary that fails stops the run.
	Canary int
	// Rate caps Lambda calls per second (0: no cap).
	Rate float64
	// Attempts per project and run (default 3), the first RetryDelay
	// apart (default 2 s), doubling.
	Attempts   int
	RetryDelay time.Duration
	// ProjectTimeout bounds one project's update, waits included
	// (default 10 min: a new function may take 5 to become Active).
	ProjectTimeout time.Duration
	// FailureBackoff: periodic runs leave a failed project alone for
	// FailureBackoff × 2^(attempts-1), at most an hour (default 1 min).
	FailureBackoff time.Duration
}

func (s Settings) withDefaults() Settings {
	if s.Concurrency <= 0 {
		s.Concurrency = 5
	}
	if s.Attempts <= 0 {
		s.Attempts = 3
	}
	if s.RetryDelay <= 0 {
		s.RetryDelay = 2 * time.Second
	}
	if s.ProjectTimeout <= 0 {
		s.ProjectTimeout = 10 * time.Minute
	}
	if s.FailureBackoff <= 0 {
		s.FailureBackoff = time.Minute
	}
	return s
}

// Reconciler compares and updates the fleet of tenant functions.
type Reconciler struct {
	Service *provision.Service
	// Functions gives the desired settings and the Lambda API; both are
	// read at the start of each run.
	Functions *lambdas.Client
	// Edge gives the functions Lambdas' desired settings and their Lambda
	// API (nil: edge functions are off).
	Edge     *lambdas.EdgeClient
	Settings Settings
	Log      *slog.Logger

	once    sync.Once
	lim     *limiter
	trigger chan struct{}
}

func (r *Reconciler) init() {
	r.once.Do(func() {
		r.lim = newLimiter(r.Settings.Rate)
		r.trigger = make(chan struct{}, 1)
	})
}

// Version is the desired version: a hash of the spec every function gets
// (the parts that depend on the project follow from its id alone, so one
// version stands for the whole fleet).
func Version(s lambdas.Settings) string {
	b, _ := json.Marshal(s.Spec("{id}"))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Result sums up a run.
type Result struct {
	// Ran is false when another task held the lock.
	Ran     bool     `json:"ran"`
	Outcome string   `json:"outcome"`
	Checked int      `json:"checked"`
	Updated int      `json:"updated"`
	Failed  int      `json:"failed"`
	Canary  []string `json:"canary"`
	Error   string   `json:"error,omitempty"`
}

// Outcomes of a run.
const (
	OutcomeUpToDate     = "completed"
	OutcomeWithFailures = "completed_with_failures"
	OutcomeCanaryFailed = "canary_failed"
	OutcomeInterrupted  = "interrupted"
)

// Run reconciles every active or paused project once, unless another task
// is running the reconciler (Ran false).
func (r *Reconciler) Run(ctx context.Context, trigger string) (Result, error) {
	r.init()
	var res Result
	ran, err := r.Service.Store.TryExclusive(ctx, LockKey, func(ctx context.Context) error {
		for {
			var again bool
			var err error
			res, again, err = r.run(ctx, trigger)
			if err != nil || !again || ctx.Err() != nil {
				return err
			}
			// Asked for on some task while this run went on: the task
			// that asked skipped (this one held the lock), so run again.
			trigger = TriggerRequested
		}
	})
	res.Ran = ran
	return res, err
}

type item struct {
	t       store.FleetTarget
	drift   []string
	retried bool
}

// drifted says whether the inspection found a difference whose name
// starts with prefix.
func (it *item) drifted(prefix string) bool {
	return slices.ContainsFunc(it.drift, func(d string) bool { return strings.HasPrefix(d, prefix) })
}

func (r *Reconciler) run(ctx context.Context, trigger string) (res Result, again bool, err error) {
	st := r.Service.Store
	set := r.Settings.withDefaults()
	fc := &lambdas.Client{API: limitedAPI{next: r.Functions.API, lim: r.lim}, Settings: r.Functions.Settings}
	version := Version(fc.Settings)
	if _, err := st.StartFleetRun(ctx, trigger); err != nil {
		return res, false, err
	}
	targets, err := st.FleetTargets(ctx)
	if err != nil {
		return res, false, err
	}
	var checked, updated, failed atomic.Int64
	var mu sync.Mutex
	var drifted []*item
	now := time.Now()
	r.forEach(ctx, set.Concurrency, len(targets), func(i int) {
		t := targets[i]
		if trigger == TriggerPeriodic && t.LastError != nil && t.RetryAfter != nil && now.Before(*t.RetryAfter) {
			return
		}
		checked.Add(1)
		drift, err := r.inspect(ctx, fc, t)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			failed.Add(1)
			r.recordFailure(ctx, set, t, version, set.Attempts, fmt.Errorf("inspecting: %w", err))
		case len(drift) == 0:
			if t.AppliedVersion == nil || *t.AppliedVersion != version || t.LastError != nil || t.DesiredVersion == nil || *t.DesiredVersion != version {
				if err := st.RolloutApplied(ctx, t.ID, version); err != nil {
					r.Log.Warn("recording a function as up to date failed", "project_id", t.ID, "error", err.Error())
				}
			}
		default:
			mu.Lock()
			drifted = append(drifted, &item{t: t, drift: drift, retried: t.LastError != nil})
			mu.Unlock()
		}
	})
	// Canaries are the first drifted projects by id, those that failed
	// before last: a project broken on its own must not hold every
	// rollout back.
	slices.SortFunc(drifted, func(a, b *item) int {
		if a.retried != b.retried {
			if a.retried {
				return 1
			}
			return -1
		}
		return strings.Compare(a.t.ID, b.t.ID)
	})
	n := min(set.Canary, len(drifted))
	canary, rest := drifted[:n], drifted[n:]
	for _, it := range canary {
		res.Canary = append(res.Canary, it.t.ID)
	}
	var canaryErrs []string
	apply := func(list []*item, canaries bool) {
		r.forEach(ctx, set.Concurrency, len(list), func(i int) {
			it := list[i]
			if err := r.apply(ctx, set, fc, it, version); err != nil {
				if ctx.Err() != nil {
					return
				}
				failed.Add(1)
				if canaries {
					mu.Lock()
					canaryErrs = append(canaryErrs, fmt.Sprintf("%s: %v", it.t.ID, err))
					mu.Unlock()
				}
				return
			}
			updated.Add(1)
		})
	}
	apply(canary, true)
	var msg *string
	switch {
	case ctx.Err() != nil:
		res.Outcome = OutcomeInterrupted
	case len(canaryErrs) > 0:
		res.Outcome = OutcomeCanaryFailed
		slices.Sort(canaryErrs)
		m := fmt.Sprintf("canary failed, rollout stopped with %d drifted projects not updated: %s", len(rest), strings.Join(canaryErrs, "; "))
		msg = &m
		r.Log.Error("tenant function rollout stopped: a canary failed", "version", version, "left", len(rest), "error", m)
	default:
		apply(rest, false)
		r.runEdge(ctx, set, targets, counters{&checked, &updated, &failed})
		res.Outcome = OutcomeUpToDate
		if ctx.Err() != nil {
			res.Outcome = OutcomeInterrupted
		} else if failed.Load() > 0 {
			res.Outcome = OutcomeWithFailures
		}
	}
	res.Checked, res.Updated, res.Failed = int(checked.Load()), int(updated.Load()), int(failed.Load())
	if msg != nil {
		res.Error = *msg
	}
	// Recorded even when the run was cut short, on a context of its own.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	again, err = st.FinishFleetRun(endCtx, res.Outcome, msg, res.Checked, res.Updated, res.Failed)
	if res.Checked > 0 || res.Failed > 0 {
		r.Log.Info("tenant functions reconciled", "trigger", trigger, "version", version, "outcome", res.Outcome,
			"checked", res.Checked, "updated", res.Updated, "failed", res.Failed)
	}
	return res, again, err
}

// forEach runs f(0..n-1), at most limit at a time; once ctx ends no new
// call starts.
func (r *Reconciler) forEach(ctx context.Context, limit, n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				f(i)
			}()
			continue
		}
		break
	}
	wg.Wait()
}

// inspect compares a project's function, URL and reserved concurrency with
// what they should be and names what differs (nothing: up to date).
func (r *Reconciler) inspect(ctx context.Context, fc *lambdas.Client, t store.FleetTarget) ([]string, error) {
	return r.inspectFunction(ctx, fc, fc.Settings.Spec(t.ID), t.ID, t.FunctionURL, r.Service.DesiredConcurrency(t.Status, t.Controls), fc)
}

// reservable is the reserved-concurrency side of either kind of tenant
// function's client.
type reservable interface {
	Concurrency(ctx context.Context, projectID string) (int, error)
	SetConcurrency(ctx context.Context, projectID string, n int) error
}

// inspectFunction is the inspection of either kind of tenant function:
// the one spec describes, whose URL the platform database holds as
// recordedURL (nil: none) and whose reserved concurrency should be want.
func (r *Reconciler) inspectFunction(ctx context.Context, fc *lambdas.Client, spec lambdas.Spec, projectID string, recordedURL *string, want int, res reservable) ([]string, error) {
	name := aws.String(spec.FunctionName(projectID))
	fn, err := fc.API.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: name})
	if lambdas.IsNotFound(err) {
		return []string{"function missing"}, nil
	}
	if err != nil {
		return nil, err
	}
	drift := append(spec.CodeDrift(fn), spec.ConfigDrift(fn.Configuration)...)
	if c := fn.Configuration; c != nil {
		if c.LastUpdateStatus == types.LastUpdateStatusInProgress || c.State == types.StatePending {
			drift = append(drift, "update in progress")
		} else if c.LastUpdateStatus == types.LastUpdateStatusFailed || c.State == types.StateFailed {
			drift = append(drift, "last update failed")
		}
	}
	u, err := fc.API.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: name})
	switch {
	case lambdas.IsNotFound(err):
		drift = append(drift, "url missing")
	case err != nil:
		return nil, err
	case spec.URLDrift(u):
		drift = append(drift, "url configuration")
	case recordedURL == nil || *recordedURL != aws.ToString(u.FunctionUrl):
		drift = append(drift, "url record")
	}
	have := -1
	if fn.Concurrency != nil && fn.Concurrency.ReservedConcurrentExecutions != nil {
		have = int(*fn.Concurrency.ReservedConcurrentExecutions)
	}
	if have != want {
		// GetFunction may leave out a reservation of 0; ask directly.
		if have, err = res.Concurrency(ctx, projectID); err != nil {
			return nil, err
		}
		if have != want {
			drift = append(drift, "reserved concurrency")
		}
	}
	return drift, nil
}

// apply brings one project to the desired state, retrying with backoff;
// the outcome is recorded unless the run itself was stopped.
func (r *Reconciler) apply(ctx context.Context, set Settings, fc *lambdas.Client, it *item, version string) error {
	st := r.Service.Store
	var err error
	for attempt := 1; attempt <= set.Attempts; attempt++ {
		if rerr := st.RolloutApplying(ctx, it.t.ID, version); rerr != nil {
			err = rerr
		} else {
			err = r.applyOnce(ctx, set, fc, it)
		}
		if err == nil {
			if rerr := st.RolloutApplied(ctx, it.t.ID, version); rerr != nil {
				r.Log.Warn("recording a function as updated failed", "project_id", it.t.ID, "error", rerr.Error())
			}
			r.Log.Info("tenant function reconciled", "project_id", it.t.ID, "version", version, "drift", strings.Join(it.drift, ","))
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if attempt < set.Attempts {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(set.RetryDelay << (attempt - 1)):
			}
		}
	}
	prior := 0
	if it.t.DesiredVersion != nil && *it.t.DesiredVersion == version {
		prior = it.t.Attempts
	}
	r.recordFailure(ctx, set, it.t, version, prior+set.Attempts, err)
	return err
}

func (r *Reconciler) recordFailure(ctx context.Context, set Settings, t store.FleetTarget, version string, attempts int, err error) {
	backoff := set.FailureBackoff << min(max(attempts-1, 0), 16)
	backoff = min(backoff, time.Hour)
	r.Log.Warn("reconciling a tenant function failed; retried with backoff", "project_id", t.ID, "version", version, "error", err.Error())
	if rerr := r.Service.Store.RolloutFailed(ctx, t.ID, version, err.Error(), time.Now().Add(backoff)); rerr != nil {
		r.Log.Warn("recording a reconcile failure failed", "project_id", t.ID, "error", rerr.Error())
	}
}

// applyOnce is one attempt at the project's PostgREST function.
func (r *Reconciler) applyOnce(ctx context.Context, set Settings, fc *lambdas.Client, it *item) error {
	t := it.t
	_, err := r.applyFunction(ctx, set, fc, it, pass{
		spec: fc.Settings.Spec(t.ID),
		recreate: func(ctx context.Context) (bool, error) {
			return true, r.recreate(ctx, fc, t)
		},
		ensureURL: func(ctx context.Context, spec lambdas.Spec) error {
			url, err := r.syncURL(ctx, fc, spec, t.ID)
			if err != nil {
				return err
			}
			return r.recordURL(ctx, t, url)
		},
		ensureConcurrency: func(ctx context.Context) error {
			return r.ensureConcurrency(ctx, t.ID, fc, func(l *store.Locked) int { return r.Service.DesiredConcurrency(l.Status, l.Controls) })
		},
	})
	return err
}

// pass is what differs between the two kinds of tenant function in one
// attempt: the spec, how a missing one is made again (changed false: it
// may not be) and how its URL and reserved concurrency are set.
type pass struct {
	spec              lambdas.Spec
	recreate          func(ctx context.Context) (changed bool, err error)
	ensureURL         func(ctx context.Context, spec lambdas.Spec) error
	ensureConcurrency func(ctx context.Context) error
}

// applyFunction is one attempt: the function (made again if missing, else
// code then configuration, each waited until Successful), its URL, its
// reserved concurrency, then the check that it is Active and Successful.
// The URL and the concurrency are looked at only when the inspection found
// them drifted (or the function was made again): each is one more call
// under the rate cap, and a row lock for the concurrency.
func (r *Reconciler) applyFunction(ctx context.Context, set Settings, fc *lambdas.Client, it *item, p pass) (changed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, set.ProjectTimeout)
	defer cancel()
	projectID, spec := it.t.ID, p.spec
	name := spec.FunctionName(projectID)
	fn, err := r.settled(ctx, fc, name)
	if lambdas.IsNotFound(err) {
		return p.recreate(ctx)
	}
	if err != nil {
		return false, err
	}
	if len(spec.CodeDrift(fn)) > 0 {
		if fn, err = r.update(ctx, fc, name, fn, "code", func(fn *lambda.GetFunctionOutput) (bool, error) {
			if len(spec.CodeDrift(fn)) == 0 {
				return false, nil
			}
			_, err := fc.API.UpdateFunctionCode(ctx, spec.UpdateCodeInput(projectID, fn.Configuration.RevisionId))
			return true, err
		}); err != nil {
			return true, err
		}
	}
	if len(spec.ConfigDrift(fn.Configuration)) > 0 {
		if _, err = r.update(ctx, fc, name, fn, "configuration", func(fn *lambda.GetFunctionOutput) (bool, error) {
			if len(spec.ConfigDrift(fn.Configuration)) == 0 {
				return false, nil
			}
			_, err := fc.API.UpdateFunctionConfiguration(ctx, spec.UpdateConfigInput(projectID, fn.Configuration))
			return true, err
		}); err != nil {
			return true, err
		}
	}
	if it.drifted("url") {
		if err := p.ensureURL(ctx, spec); err != nil {
			return true, err
		}
	}
	if it.drifted("reserved concurrency") {
		if err := p.ensureConcurrency(ctx); err != nil {
			return true, err
		}
	}
	return true, r.check(ctx, fc, spec, projectID)
}

// update runs change on the settled function fn (called name), retried
// on a fresh read when a concurrent update (e.g. a JWT rotation's recycle)
// got in between, then waits for it to end Successful. change reports
// false when nothing is left to do.
func (r *Reconciler) update(ctx context.Context, fc *lambdas.Client, name string, fn *lambda.GetFunctionOutput, what string, change func(*lambda.GetFunctionOutput) (bool, error)) (*lambda.GetFunctionOutput, error) {
	delay := r.pollInterval(fc)
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			var err error
			if fn, err = r.settled(ctx, fc, name); err != nil {
				return nil, err
			}
		}
		changed, err := change(fn)
		if err == nil && !changed {
			return fn, nil
		}
		if err == nil {
			break
		}
		var conflict *types.ResourceConflictException
		var stale *types.PreconditionFailedException
		if (!errors.As(err, &conflict) && !errors.As(err, &stale)) || attempt >= 8 {
			return nil, fmt.Errorf("updating the %s of %s: %w", what, name, err)
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(delay*2, 5*time.Second)
	}
	fn, err := r.settled(ctx, fc, name)
	if err != nil {
		return nil, err
	}
	if c := fn.Configuration; c.LastUpdateStatus == types.LastUpdateStatusFailed {
		return nil, fmt.Errorf("updating the %s of %s: the update ended Failed: %s", what, name, aws.ToString(c.LastUpdateStatusReason))
	}
	return fn, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Reconciler) pollInterval(fc *lambdas.Client) time.Duration {
	if d := fc.Settings.PollInterval; d > 0 {
		return d
	}
	return 250 * time.Millisecond
}

// settled reads the function called name until no update is in progress.
func (r *Reconciler) settled(ctx context.Context, fc *lambdas.Client, name string) (*lambda.GetFunctionOutput, error) {
	delay := r.pollInterval(fc)
	for {
		fn, err := fc.API.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		if c := fn.Configuration; c == nil || (c.LastUpdateStatus != types.LastUpdateStatusInProgress && c.State != types.StatePending) {
			if fn.Configuration == nil {
				fn.Configuration = &types.FunctionConfiguration{}
			}
			return fn, nil
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s: an update is still in progress: %w", name, err)
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// syncURL makes a missing URL of the function spec describes again and
// restores its auth type; it returns the URL for the caller to store (and
// hand the gateway) when it changed.
func (r *Reconciler) syncURL(ctx context.Context, fc *lambdas.Client, spec lambdas.Spec, projectID string) (string, error) {
	name := aws.String(spec.FunctionName(projectID))
	u, err := fc.API.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: name})
	switch {
	case lambdas.IsNotFound(err):
		out, err := fc.API.CreateFunctionUrlConfig(ctx, spec.URLInput(projectID))
		if err != nil {
			return "", fmt.Errorf("creating the URL of %s: %w", *name, err)
		}
		return aws.ToString(out.FunctionUrl), nil
	case err != nil:
		return "", fmt.Errorf("reading the URL of %s: %w", *name, err)
	case spec.URLDrift(u):
		out, err := fc.API.UpdateFunctionUrlConfig(ctx, spec.UpdateURLInput(projectID))
		if err != nil {
			return "", fmt.Errorf("updating the URL of %s: %w", *name, err)
		}
		return aws.ToString(out.FunctionUrl), nil
	default:
		return aws.ToString(u.FunctionUrl), nil
	}
}

func (r *Reconciler) recordURL(ctx context.Context, t store.FleetTarget, url string) error {
	if url == "" || (t.FunctionURL != nil && *t.FunctionURL == url) {
		return nil
	}
	if err := r.Service.Store.SetFunctionURL(ctx, t.ID, url); err != nil {
		return err
	}
	// The gateway routes by the document's URL: hand it the new one now
	// rather than when its cached copy expires.
	if err := r.Service.PublishConfig(ctx, t.ID); err != nil {
		r.Log.Warn("writing the configuration document with the new function URL to the gateway cache failed; gateways read it when their copy expires",
			"project_id", t.ID, "error", err.Error())
	}
	return nil
}

// ensureConcurrency sets the reserved concurrency want gives the locked
// project (its status, and for the PostgREST function its controls), under
// its row lock so no pause, restore or limits change interleaves. A
// project in a pause or restore is left to it.
func (r *Reconciler) ensureConcurrency(ctx context.Context, projectID string, res reservable, want func(*store.Locked) int) error {
	err := r.Service.Store.WithProjectLock(ctx, projectID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
		want := want(l)
		have, err := res.Concurrency(ctx, projectID)
		if err != nil {
			return err
		}
		if have != want {
			return res.SetConcurrency(ctx, projectID, want)
		}
		return nil
	})
	var busy *store.BusyError
	if errors.As(err, &busy) && (busy.Status == "pausing" || busy.Status == "restoring") {
		return nil
	}
	return err
}

// recreate makes a missing function again exactly as a create does: log
// group first, the function (waited until Active) with its URL, its
// reserved concurrency, then the stored URL and the gateway's document. A
// project whose delete began meanwhile gets its new function removed.
func (r *Reconciler) recreate(ctx context.Context, fc *lambdas.Client, t store.FleetTarget) error {
	if lg := r.Service.LogGroups; lg != nil {
		if err := lg.Ensure(ctx, t.ID); err != nil {
			return fmt.Errorf("log group: %w", err)
		}
	}
	fn, err := fc.Create(ctx, t.ID)
	if err != nil {
		return err
	}
	r.Log.Warn("tenant function was missing and has been made again", "project_id", t.ID, "function", fn.Name)
	lockErr := r.Service.Store.WithProjectLock(ctx, t.ID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
		if n := r.Service.DesiredConcurrency(l.Status, l.Controls); n >= 0 {
			return fc.SetConcurrency(ctx, t.ID, n)
		}
		return nil
	})
	var busy *store.BusyError
	switch {
	case errors.Is(lockErr, store.ErrNotFound) || (errors.As(lockErr, &busy) && busy.Status != "pausing" && busy.Status != "restoring"):
		// Its delete may have run before the function existed again.
		if derr := fc.Delete(context.WithoutCancel(ctx), t.ID); derr != nil {
			return errors.Join(lockErr, derr)
		}
		return fmt.Errorf("the project is being deleted: %w", lockErr)
	case lockErr != nil && busy == nil:
		return lockErr
	}
	if err := r.Service.Store.SetFunction(ctx, t.ID, fn.Name, fn.ARN, fn.URL); err != nil {
		return err
	}
	if t.FunctionURL == nil || *t.FunctionURL != fn.URL {
		if err := r.Service.PublishConfig(ctx, t.ID); err != nil {
			r.Log.Warn("writing the configuration document with the new function URL to the gateway cache failed; gateways read it when their copy expires",
				"project_id", t.ID, "error", err.Error())
		}
	}
	if busy != nil {
		return fmt.Errorf("the function was made again, but its reserved concurrency waits: %w", lockErr)
	}
	return r.check(ctx, fc, fc.Settings.Spec(t.ID), t.ID)
}

// check is the end of every update: the function Active, its last update
// Successful and nothing left that differs from the spec.
func (r *Reconciler) check(ctx context.Context, fc *lambdas.Client, spec lambdas.Spec, projectID string) error {
	name := spec.FunctionName(projectID)
	fn, err := fc.API.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("checking %s: %w", name, err)
	}
	c := fn.Configuration
	if c == nil || c.State != types.StateActive || (c.LastUpdateStatus != "" && c.LastUpdateStatus != types.LastUpdateStatusSuccessful) {
		state, last := "", ""
		if c != nil {
			state, last = string(c.State), string(c.LastUpdateStatus)
		}
		return fmt.Errorf("checking %s: state %s, last update %s", name, state, last)
	}
	if d := append(spec.CodeDrift(fn), spec.ConfigDrift(c)...); len(d) > 0 {
		return fmt.Errorf("checking %s: still differs after the update: %s", name, strings.Join(d, ", "))
	}
	return nil
}
