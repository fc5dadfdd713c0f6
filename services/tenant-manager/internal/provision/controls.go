package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/loggroups"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// ControlSettings are the runtime guards every tenant gets.
type ControlSettings struct {
	// ReservedConcurrency is the tenant functions' default reserved
	// concurrency (0: none, they share the account's pool).
	ReservedConcurrency int
	// ConnectionLimit is the authenticator's CONNECTION LIMIT (-1: none).
	ConnectionLimit int
	// AnonStatementTimeout and AuthenticatedStatementTimeout are the API
	// roles' statement_timeout inside each tenant database (0: none).
	AnonStatementTimeout, AuthenticatedStatementTimeout time.Duration
	// ServiceRoleStatementTimeout is service_role's (0: none): its key
	// reaches the database with BYPASSRLS, so it must not run forever
	// either.
	ServiceRoleStatementTimeout time.Duration
	// LogRetentionDays is the tenant log groups' retention; RetainLogGroups
	// keeps them when their project goes.
	LogRetentionDays int
	RetainLogGroups  bool
}

// Bounds of the per-project overrides.
const (
	MaxReservedConcurrency = 10000
	MaxRateLimit           = 1000000
)

// DefaultControlSettings are the settings when no variable is set.
func DefaultControlSettings() ControlSettings {
	return ControlSettings{ConnectionLimit: 20, AnonStatementTimeout: 3 * time.Second, AuthenticatedStatementTimeout: 8 * time.Second, ServiceRoleStatementTimeout: time.Minute, LogRetentionDays: 30}
}

// ControlSettingsFromEnv reads TENANT_LAMBDA_RESERVED_CONCURRENCY (default
// 0 = none), TENANT_DB_CONNECTION_LIMIT (20; -1 = none),
// TENANT_ANON_STATEMENT_TIMEOUT (3s), TENANT_AUTHENTICATED_STATEMENT_TIMEOUT
// (8s), TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT (60s; 0 = none),
// TENANT_LOG_RETENTION_DAYS (30) and
// TENANT_LOG_GROUP_ON_DELETE (delete | retain).
func ControlSettingsFromEnv(getenv func(string) string) (ControlSettings, error) {
	c := DefaultControlSettings()
	integer := func(name string, def, lo, hi int) (int, error) { return config.IntFromEnv(getenv, name, def, lo, hi) }
	duration := func(name string, def time.Duration) (time.Duration, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Millisecond) || d > 24*time.Hour {
			return 0, fmt.Errorf("%s: must be 0 (none) or a duration from 1ms to 24h (e.g. %q), got %q", name, def.String(), v)
		}
		return d, nil
	}
	var err error
	if c.ReservedConcurrency, err = integer("TENANT_LAMBDA_RESERVED_CONCURRENCY", 0, 0, MaxReservedConcurrency); err != nil {
		return c, err
	}
	if c.ConnectionLimit, err = integer("TENANT_DB_CONNECTION_LIMIT", c.ConnectionLimit, -1, 10000); err != nil {
		return c, err
	}
	if c.ConnectionLimit == 0 {
		return c, errors.New("TENANT_DB_CONNECTION_LIMIT: 0 would refuse every PostgREST connection; use -1 for no limit")
	}
	if c.AnonStatementTimeout, err = duration("TENANT_ANON_STATEMENT_TIMEOUT", c.AnonStatementTimeout); err != nil {
		return c, err
	}
	if c.AuthenticatedStatementTimeout, err = duration("TENANT_AUTHENTICATED_STATEMENT_TIMEOUT", c.AuthenticatedStatementTimeout); err != nil {
		return c, err
	}
	if c.ServiceRoleStatementTimeout, err = duration("TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT", c.ServiceRoleStatementTimeout); err != nil {
		return c, err
	}
	if c.LogRetentionDays, err = integer("TENANT_LOG_RETENTION_DAYS", c.LogRetentionDays, 1, 3653); err != nil {
		return c, err
	}
	if !slices.Contains(loggroups.ValidRetentionDays, c.LogRetentionDays) {
		return c, fmt.Errorf("TENANT_LOG_RETENTION_DAYS: CloudWatch Logs accepts only %v, got %d", loggroups.ValidRetentionDays, c.LogRetentionDays)
	}
	switch v := getenv("TENANT_LOG_GROUP_ON_DELETE"); v {
	case "", "delete":
	case "retain":
		c.RetainLogGroups = true
	default:
		return c, fmt.Errorf(`TENANT_LOG_GROUP_ON_DELETE: must be "delete" or "retain", got %q`, v)
	}
	return c, nil
}

// TenantControls is what pause, restore and the guards need of a worker.
type TenantControls interface {
	ApplyGuards(ctx context.Context, projectID string, g worker.Guards) error
	SetLogin(ctx context.Context, projectID string, login bool) error
}

// FunctionControls reads and sets a tenant function's reserved
// concurrency (< 0: none).
type FunctionControls interface {
	Concurrency(ctx context.Context, projectID string) (int, error)
	SetConcurrency(ctx context.Context, projectID string, n int) error
}

// LogGroups creates and deletes tenant log groups.
type LogGroups interface {
	Ensure(ctx context.Context, projectID string) error
	Delete(ctx context.Context, projectID string) error
}

// ControlCache writes the gateway's project control hash.
type ControlCache interface {
	SetControl(ctx context.Context, key string, fields map[string]string) error
}

// ControlKey is the project's control hash in Redis; the braces are a
// cluster hash tag, shared with the gateway's rate-limit state key.
func ControlKey(projectID string) string { return "project:ctl:{" + projectID + "}" }

// ManagementStatus is the Supabase Management API's name of a status.
func ManagementStatus(status string) string {
	switch status {
	case "provisioning":
		return "COMING_UP"
	case "active":
		return "ACTIVE_HEALTHY"
	case "paused":
		return "INACTIVE"
	case "pausing":
		return "PAUSING"
	case "restoring":
		return "RESTORING"
	case "deprovisioning", "deleting":
		return "GOING_DOWN"
	case "deleted":
		return "REMOVED"
	case "failed":
		return "INIT_FAILED"
	}
	return "UNKNOWN"
}

// RateLimit is a project's request rate override at the gateway.
type RateLimit struct {
	RPS   int `json:"rps"`
	Burst int `json:"burst"`
}

func rateLimitOf(c store.Controls) *RateLimit {
	if c.RPS == nil || c.Burst == nil {
		return nil
	}
	return &RateLimit{RPS: *c.RPS, Burst: *c.Burst}
}

// servedStatuses are those whose configuration the gateway and the
// tenant function may read: a paused project's document is what tells the
// gateway it is paused.
var servedStatuses = []string{"active", "pausing", "paused", "restoring"}

func (s *Service) servedProject(ctx context.Context, projectID string) error {
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return err
	}
	if !slices.Contains(servedStatuses, p.Status) {
		return fmt.Errorf("%w: project %s is %s", ErrNotActive, projectID, p.Status)
	}
	return nil
}

// concurrencyFor is the reserved concurrency of a running project: its
// override, else the default, else -1 (none).
func (s *Service) concurrencyFor(c store.Controls) int {
	if c.ReservedConcurrency != nil {
		return *c.ReservedConcurrency
	}
	if s.Controls.ReservedConcurrency > 0 {
		return s.Controls.ReservedConcurrency
	}
	return -1
}

func (s *Service) guards() worker.Guards {
	return worker.Guards{ConnectionLimit: s.Controls.ConnectionLimit, StatementTimeouts: map[string]time.Duration{
		"anon": s.Controls.AnonStatementTimeout, "authenticated": s.Controls.AuthenticatedStatementTimeout,
		"service_role": s.Controls.ServiceRoleStatementTimeout,
	}}
}

func (s *Service) functionControls() (FunctionControls, error) {
	fc, ok := s.Functions.(FunctionControls)
	if !ok {
		return nil, errors.New("the functions client cannot set reserved concurrency")
	}
	return fc, nil
}

func (s *Service) workerControls(workerID *string) (TenantControls, error) {
	if workerID == nil {
		return nil, errors.New("the project has no worker")
	}
	db, ok := s.Workers[*workerID]
	if !ok {
		return nil, fmt.Errorf("worker %s is not configured in WORKERS", *workerID)
	}
	tc, ok := db.(TenantControls)
	if !ok {
		return nil, fmt.Errorf("worker %s cannot apply tenant controls", *workerID)
	}
	return tc, nil
}

// controlFields is the hash the gateway reads on every request.
func controlFields(c store.Controls) map[string]string {
	f := map[string]string{"paused": "0", "rps": "0", "burst": "0"}
	if c.Paused {
		f["paused"] = "1"
	}
	if rl := rateLimitOf(c); rl != nil {
		f["rps"], f["burst"] = strconv.Itoa(rl.RPS), strconv.Itoa(rl.Burst)
	}
	return f
}

// publishControls tells the gateway: the control hash (read on every
// request) and the configuration document (its fallback when Redis is
// down), written through with the versioned script. Neither failing undoes
// the change, which the database and the document served by
// GET /project/{id}/config already hold: the answer carries a warning.
func (s *Service) publishControls(ctx context.Context, projectID string, c store.Controls) string {
	var failed []string
	cc, ok := s.Cache.(ControlCache)
	if !ok {
		failed = append(failed, "control hash (not supported by the cache client)")
	} else if err := cc.SetControl(ctx, ControlKey(projectID), controlFields(c)); err != nil {
		s.Log.Warn("writing the project control hash failed", "project_id", projectID, "error", err.Error())
		failed = append(failed, "control hash")
	}
	if _, err := s.writeThrough(ctx, projectID, s.rotation().GatewayCacheTTL); err != nil {
		s.Log.Warn("writing the configuration document to the gateway cache failed", "project_id", projectID, "error", err.Error())
		failed = append(failed, "configuration document")
	}
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf("the change is stored, but Redis could not be updated (%s): gateways apply it when their cached configuration document expires (at most %d s) and Redis answers again; the control hash is rewritten by the tenant-manager within %d s of Redis answering again",
		strings.Join(failed, ", "), int(s.rotation().GatewayCacheTTL.Seconds()), int(ControlSyncInterval.Seconds()))
}

// Transition is the outcome of Pause and Restore.
type Transition struct {
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
	// Changed is false when the project was in that state already.
	Changed bool   `json:"changed"`
	Warning string `json:"warning,omitempty"`
}

// transitionTimeout bounds a pause or restore; it runs to its end (or its
// compensation) even if the caller goes away.
const transitionTimeout = 2 * time.Minute

type transitionStep struct {
	name     string
	do, undo func(ctx context.Context) error
}

// transition runs steps between from -> via -> to; a failed step undoes
// the ones before it in reverse and puts the status back to from.
func (s *Service) transition(ctx context.Context, projectID, from, via, to string, steps func(ctx context.Context, p store.Project, warn func(string)) ([]transitionStep, error)) (*Transition, error) {
	done, err := s.Store.BeginTransition(ctx, projectID, from, via, to)
	if err != nil {
		return nil, err
	}
	res := &Transition{ProjectID: projectID, Status: to}
	if done {
		return res, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transitionTimeout)
	defer cancel()
	undo := &undoStack{log: s.Log}
	fail := func(step string, err error) (*Transition, error) {
		undo.run(projectID)
		backCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if berr := s.Store.EndTransition(backCtx, projectID, via, from); berr != nil {
			s.Log.Error("putting the status back failed", "project_id", projectID, "status", via, "error", berr.Error())
		}
		s.Log.Warn("project "+via+" failed", "project_id", projectID, "step", step, "error", err.Error())
		return nil, &StepError{Step: step, Err: err}
	}
	var warnings []string
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return fail("record", err)
	}
	list, err := steps(ctx, p, func(w string) { warnings = append(warnings, w) })
	if err != nil {
		return fail("record", err)
	}
	for _, st := range list {
		undo.push(st.name, st.undo)
		if err := st.do(ctx); err != nil {
			return fail(st.name, err)
		}
	}
	if err := s.Store.EndTransition(ctx, projectID, via, to); err != nil {
		return fail("status", err)
	}
	res.Changed = true
	res.Warning = strings.Join(warnings, "; ")
	s.Log.Info("project "+to, "project_id", projectID)
	return res, nil
}

// setPaused records the pause state (counting the document version up)
// and tells the gateway.
func (s *Service) setPaused(ctx context.Context, projectID string, paused bool, warn func(string)) error {
	c, _, err := s.Store.UpdateControls(ctx, projectID, func(c *store.Controls) { c.Paused = paused })
	if err != nil {
		return err
	}
	if w := s.publishControls(ctx, projectID, c); w != "" && warn != nil {
		warn(w)
	}
	return nil
}

// Pause stops a project without removing anything: the gateway refuses
// its requests, its function and its edge functions Lambda (when it has
// one) are throttled (reserved concurrency 0) and its authenticator may
// not log in, its open sessions ended. Pausing a paused
// project changes nothing; one being created, deleted, paused or restored
// is a *store.BusyError.
func (s *Service) Pause(ctx context.Context, projectID string) (*Transition, error) {
	return s.pauseOrRestore(ctx, projectID, true)
}

// Restore reverses Pause: logins, the function's concurrency (its
// override, else the default, else none), the edge functions Lambda's
// (FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY, else none), then the gateway. Restoring an
// active project changes nothing.
func (s *Service) Restore(ctx context.Context, projectID string) (*Transition, error) {
	return s.pauseOrRestore(ctx, projectID, false)
}

// pauseOrRestore is Pause (paused) or Restore: the same changes, each
// done one way and undone the other, the gateway's first when pausing and
// last when restoring.
func (s *Service) pauseOrRestore(ctx context.Context, projectID string, paused bool) (*Transition, error) {
	fc, err := s.functionControls()
	if err != nil {
		return nil, err
	}
	from, via, to := "paused", "restoring", "active"
	if paused {
		from, via, to = "active", "pausing", "paused"
	}
	return s.transition(ctx, projectID, from, via, to, func(ctx context.Context, p store.Project, warn func(string)) ([]transitionStep, error) {
		tc, err := s.workerControls(p.WorkerID)
		if err != nil {
			return nil, err
		}
		c, err := s.Store.GetControls(ctx, projectID)
		if err != nil {
			return nil, err
		}
		edgeSteps, err := s.edgeTransitionSteps(ctx, projectID, paused)
		if err != nil {
			return nil, err
		}
		// step's do sets the state the transition goes to (and may warn),
		// its undo the one it came from.
		step := func(name string, set func(ctx context.Context, paused bool, warn func(string)) error) transitionStep {
			return transitionStep{name: name,
				do:   func(ctx context.Context) error { return set(ctx, paused, warn) },
				undo: func(ctx context.Context) error { return set(ctx, !paused, nil) }}
		}
		gateway := step("gateway", func(ctx context.Context, paused bool, warn func(string)) error {
			return s.setPaused(ctx, projectID, paused, warn)
		})
		lambda := step("lambda", func(ctx context.Context, paused bool, _ func(string)) error {
			if paused {
				return fc.SetConcurrency(ctx, projectID, 0)
			}
			return fc.SetConcurrency(ctx, projectID, s.concurrencyFor(c))
		})
		database := step("database", func(ctx context.Context, paused bool, _ func(string)) error {
			return tc.SetLogin(ctx, projectID, !paused)
		})
		if paused {
			// The gateway first: no request reaches the function or the
			// database while they are being closed.
			return slices.Concat([]transitionStep{gateway, lambda}, edgeSteps, []transitionStep{database}), nil
		}
		// The gateway last: requests pass only once the function and the
		// database take them.
		return slices.Concat([]transitionStep{database, lambda}, edgeSteps, []transitionStep{gateway}), nil
	})
}

// Limits are a project's overrides of the platform defaults.
type Limits struct {
	ProjectID string `json:"project_id"`
	// RateLimit nil: the gateway's default (RATE_LIMIT_RPS/BURST).
	RateLimit *RateLimit `json:"rate_limit"`
	// ReservedConcurrency nil: DefaultReservedConcurrency.
	ReservedConcurrency *int `json:"reserved_concurrency"`
	// DefaultReservedConcurrency is TENANT_LAMBDA_RESERVED_CONCURRENCY
	// (nil: none).
	DefaultReservedConcurrency *int   `json:"default_reserved_concurrency"`
	Paused                     bool   `json:"paused"`
	Version                    int64  `json:"version"`
	Warning                    string `json:"warning,omitempty"`
}

// LimitsChange says which overrides to set; a Set* false leaves it as is,
// a nil value removes the override.
type LimitsChange struct {
	SetRateLimit           bool
	RateLimit              *RateLimit
	SetReservedConcurrency bool
	ReservedConcurrency    *int
}

func (s *Service) limitsOf(projectID string, c store.Controls, version int64) *Limits {
	l := &Limits{ProjectID: projectID, RateLimit: rateLimitOf(c), ReservedConcurrency: c.ReservedConcurrency, Paused: c.Paused, Version: version}
	if d := s.Controls.ReservedConcurrency; d > 0 {
		l.DefaultReservedConcurrency = &d
	}
	return l
}

// GetLimits reads a project's overrides.
func (s *Service) GetLimits(ctx context.Context, projectID string) (*Limits, error) {
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.GetControls(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.limitsOf(projectID, c, p.JWTVersion), nil
}

// SetLimits changes a project's overrides and applies them at once: the
// function's reserved concurrency (a paused project's stays 0 until it is
// restored), the control hash and the configuration document. The
// project's row lock is held throughout, so no pause or restore runs in
// between; a failed Lambda call leaves everything as it was.
func (s *Service) SetLimits(ctx context.Context, projectID string, ch LimitsChange) (*Limits, error) {
	fc, err := s.functionControls()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transitionTimeout)
	defer cancel()
	var c, before store.Controls
	var version int64
	lambdaChanged := false
	err = s.Store.WithProjectLock(ctx, projectID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
		before = l.Controls
		var err error
		c, version, err = l.Update(ctx, func(c *store.Controls) {
			if ch.SetRateLimit {
				c.RPS, c.Burst = nil, nil
				if ch.RateLimit != nil {
					rps, burst := ch.RateLimit.RPS, ch.RateLimit.Burst
					c.RPS, c.Burst = &rps, &burst
				}
			}
			if ch.SetReservedConcurrency {
				c.ReservedConcurrency = ch.ReservedConcurrency
			}
		})
		if err != nil {
			return err
		}
		if l.Status == "active" && s.concurrencyFor(before) != s.concurrencyFor(c) {
			if err := fc.SetConcurrency(ctx, projectID, s.concurrencyFor(c)); err != nil {
				return &StepError{Step: "lambda", Err: err}
			}
			lambdaChanged = true
		}
		return nil
	})
	if err != nil {
		if lambdaChanged {
			// The commit failed after the function changed: put it back.
			undoCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if uerr := fc.SetConcurrency(undoCtx, projectID, s.concurrencyFor(before)); uerr != nil {
				s.Log.Error("compensation failed", "project_id", projectID, "undo", "lambda concurrency", "error", uerr.Error())
			}
			return nil, &StepError{Step: "record", Err: err}
		}
		return nil, err
	}
	res := s.limitsOf(projectID, c, version)
	res.Warning = s.publishControls(ctx, projectID, c)
	s.Log.Info("project limits changed", "project_id", projectID, "version", version)
	return res, nil
}

// ReconcileControls brings every active or paused project to the current
// guards: the authenticator's connection limit and the API roles'
// statement timeouts, the log group and its retention, the function's
// reserved concurrency (0 while paused) and the control hash; a paused
// project's authenticator is made NOLOGIN again. Every step is idempotent.
// It runs at start, so projects created before a guard existed, or under
// other settings, get it; one task at a time (the others skip), each
// project under its row lock so no pause or restore interleaves.
func (s *Service) ReconcileControls(ctx context.Context) error {
	_, err := s.Store.TryExclusive(ctx, store.LockControlsReconcile, func(ctx context.Context) error {
		projects, err := s.Store.ProjectsIn(ctx, "active", "paused")
		if err != nil {
			return err
		}
		var errs []error
		for _, p := range projects {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := s.reconcileProject(ctx, p); err != nil {
				s.Log.Warn("applying the tenant guards failed; retried at the next start", "project_id", p.ID, "error", err.Error())
				errs = append(errs, fmt.Errorf("%s: %w", p.ID, err))
			}
		}
		return errors.Join(errs...)
	})
	return err
}

func (s *Service) reconcileProject(ctx context.Context, p store.ProjectRef) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	fc, err := s.functionControls()
	if err != nil {
		return err
	}
	tc, err := s.workerControls(p.WorkerID)
	if err != nil {
		return err
	}
	return s.Store.WithProjectLock(ctx, p.ID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
		if err := tc.ApplyGuards(ctx, p.ID, s.guards()); err != nil {
			return err
		}
		if s.LogGroups != nil {
			if err := s.LogGroups.Ensure(ctx, p.ID); err != nil {
				return err
			}
		}
		n := s.concurrencyFor(l.Controls)
		if l.Status == "paused" {
			n = 0
			if err := tc.SetLogin(ctx, p.ID, false); err != nil {
				return err
			}
		}
		// Read first: a start touches only the functions that drifted.
		cur, err := fc.Concurrency(ctx, p.ID)
		if err != nil {
			return err
		}
		if cur != n {
			if err := fc.SetConcurrency(ctx, p.ID, n); err != nil {
				return err
			}
		}
		if cc, ok := s.Cache.(ControlCache); ok {
			if err := cc.SetControl(ctx, ControlKey(p.ID), controlFields(l.Controls)); err != nil {
				return err
			}
		}
		return nil
	})
}

// createGuards is part of the create's database step.
func (s *Service) createGuards(ctx context.Context, db TenantDB, projectID string) error {
	tc, ok := db.(TenantControls)
	if !ok {
		return errors.New("the worker cannot apply tenant guards")
	}
	return tc.ApplyGuards(ctx, projectID, s.guards())
}

// createLogGroup makes the function's log group before the function, so
// Lambda never creates one without retention.
func (s *Service) createLogGroup(ctx context.Context, undo *undoStack, projectID string) error {
	if s.LogGroups == nil {
		return nil
	}
	undo.push("log_group", func(ctx context.Context) error { return s.LogGroups.Delete(ctx, projectID) })
	return s.LogGroups.Ensure(ctx, projectID)
}

// createConcurrency reserves the default concurrency for a new function.
func (s *Service) createConcurrency(ctx context.Context, projectID string) error {
	n := s.concurrencyFor(store.Controls{})
	if n < 0 {
		return nil
	}
	fc, err := s.functionControls()
	if err != nil {
		return err
	}
	return fc.SetConcurrency(ctx, projectID, n)
}

// createControlHash writes a new project's control hash. It is not a
// failure when Redis is down: a missing hash means what it holds (not
// paused, default limits).
func (s *Service) createControlHash(ctx context.Context, undo *undoStack, projectID string) {
	cc, ok := s.Cache.(ControlCache)
	if !ok {
		return
	}
	undo.push("control_hash", func(ctx context.Context) error { return s.Cache.Del(ctx, ControlKey(projectID)) })
	if err := cc.SetControl(ctx, ControlKey(projectID), controlFields(store.Controls{})); err != nil {
		s.Log.Warn("writing the project control hash failed; the gateway treats a missing one as not paused with default limits", "project_id", projectID, "error", err.Error())
	}
}
