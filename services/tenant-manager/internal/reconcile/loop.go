package reconcile

import (
	"context"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Loop runs the reconciler at start and every interval (interval 0: only
// when asked), and whenever Request is called, until ctx ends; started is
// called once the start run is over.
func (r *Reconciler) Loop(ctx context.Context, interval time.Duration, started func()) {
	r.init()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
		r.runLogged(ctx, TriggerStart)
	}
	started()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			r.runLogged(ctx, TriggerPeriodic)
		case <-r.trigger:
			r.runLogged(ctx, TriggerRequested)
		}
	}
}

func (r *Reconciler) runLogged(ctx context.Context, trigger string) {
	res, err := r.Run(ctx, trigger)
	switch {
	case err != nil && ctx.Err() == nil:
		r.Log.Error("reconciling tenant functions failed", "trigger", trigger, "error", err.Error())
	case err == nil && !res.Ran:
		r.Log.Info("tenant function reconciler runs on another task; skipped", "trigger", trigger)
	}
}

// Request asks for a run: this task's loop starts one, and if another
// task holds the reconciler's lock, that task runs again when its current
// run ends (the request is in the platform database).
func (r *Reconciler) Request(ctx context.Context) error {
	r.init()
	if err := r.Service.Store.RequestFleetRun(ctx); err != nil {
		return err
	}
	select {
	case r.trigger <- struct{}{}:
	default:
	}
	return nil
}

// Counts of the status.
type Counts struct {
	UpToDate int `json:"up_to_date"`
	Pending  int `json:"pending"`
	Failed   int `json:"failed"`
}

// FailedProject is a project whose last attempt failed.
type FailedProject struct {
	ProjectID      string     `json:"project_id"`
	Error          string     `json:"error"`
	Attempts       int        `json:"attempts"`
	DesiredVersion *string    `json:"desired_version"`
	AppliedVersion *string    `json:"applied_version"`
	RetryAfter     *time.Time `json:"retry_after"`
	UpdatedAt      *time.Time `json:"updated_at"`
}

// Desired is the spec every function is reconciled to (the parts that do
// not depend on the project).
type Desired struct {
	Version        string `json:"version"`
	ImageURI       string `json:"image_uri"`
	Architecture   string `json:"architecture"`
	MemoryMiB      int32  `json:"memory_mib"`
	TimeoutSeconds int32  `json:"timeout_seconds"`
}

// Status is what GET /v1/platform/reconcile answers.
type Status struct {
	// Running: some task holds the reconciler's lock now.
	Running bool            `json:"running"`
	Desired Desired         `json:"desired"`
	Counts  Counts          `json:"counts"`
	Failed  []FailedProject `json:"failed"`
	LastRun store.FleetRun  `json:"last_run"`
}

// Status counts the active and paused projects by progress against this
// task's desired version: up to date (applied, no error), failed (the
// last attempt failed) and pending (the rest: not yet reached, or drifted).
func (r *Reconciler) Status(ctx context.Context) (*Status, error) {
	st := r.Service.Store
	s := r.Functions.Settings
	spec := s.Spec("{id}")
	out := &Status{Failed: []FailedProject{}, Desired: Desired{Version: Version(s), ImageURI: spec.ImageURI, Architecture: spec.Architecture,
		MemoryMiB: spec.MemoryMiB, TimeoutSeconds: spec.TimeoutSeconds}}
	targets, err := st.FleetTargets(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		switch {
		case t.LastError != nil:
			out.Counts.Failed++
			out.Failed = append(out.Failed, FailedProject{ProjectID: t.ID, Error: *t.LastError, Attempts: t.Attempts,
				DesiredVersion: t.DesiredVersion, AppliedVersion: t.AppliedVersion, RetryAfter: t.RetryAfter, UpdatedAt: t.UpdatedAt})
		case t.AppliedVersion != nil && *t.AppliedVersion == out.Desired.Version:
			out.Counts.UpToDate++
		default:
			out.Counts.Pending++
		}
	}
	if out.LastRun, err = st.GetFleetRun(ctx); err != nil {
		return nil, err
	}
	if out.Running, err = st.LockHeld(ctx, LockKey); err != nil {
		return nil, err
	}
	return out, nil
}
