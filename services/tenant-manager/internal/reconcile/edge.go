package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// counters are a run's totals; the functions Lambdas count in them as one
// more function each.
type counters struct{ checked, updated, failed *atomic.Int64 }

// runEdge brings every project's functions Lambda (functions-{id}) to the
// spec a first deploy makes it with, after the PostgREST functions. A
// project that never deployed a function has none and gets none; one whose
// Lambda went missing gets it made again only while it has functions.
func (r *Reconciler) runEdge(ctx context.Context, set Settings, targets []store.FleetTarget, n counters) {
	if r.Edge == nil {
		return
	}
	ec := &lambdas.EdgeClient{API: limitedAPI{next: r.Edge.API, lim: r.lim}, Settings: r.Edge.Settings}
	fc := &lambdas.Client{API: ec.API, Settings: lambdas.Settings{PollInterval: ec.Settings.PollInterval}}
	r.forEach(ctx, set.Concurrency, len(targets), func(i int) {
		t := targets[i]
		rt, err := r.Service.Store.GetEdgeRuntime(ctx, t.ID)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		n.checked.Add(1)
		var drift []string
		if err == nil {
			drift, err = r.inspectEdge(ctx, fc, ec, t, rt)
		}
		if err == nil && len(drift) == 0 {
			return
		}
		changed := false
		if err == nil {
			for attempt := 1; attempt <= set.Attempts; attempt++ {
				if changed, err = r.applyEdgeOnce(ctx, set, fc, ec, t, rt, drift); err == nil || ctx.Err() != nil {
					break
				}
				if attempt < set.Attempts && sleep(ctx, set.RetryDelay<<(attempt-1)) != nil {
					break
				}
			}
		}
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			n.failed.Add(1)
			r.Log.Warn("reconciling a functions Lambda failed; retried at the next run", "project_id", t.ID, "function", lambdas.EdgeFunctionName(t.ID), "error", err.Error())
		case changed:
			n.updated.Add(1)
			r.Log.Info("functions Lambda reconciled", "project_id", t.ID, "function", lambdas.EdgeFunctionName(t.ID), "drift", fmt.Sprint(drift))
		}
	})
}

// inspectEdge names what differs between the project's functions Lambda
// and its spec, URL, stored URL and reserved concurrency.
func (r *Reconciler) inspectEdge(ctx context.Context, fc *lambdas.Client, ec *lambdas.EdgeClient, t store.FleetTarget, rt store.EdgeRuntime) ([]string, error) {
	return r.inspectFunction(ctx, fc, ec.Settings.Spec(t.ID), t.ID, &rt.FunctionURL, r.Service.DesiredEdgeConcurrency(t.Status), ec)
}

// applyEdgeOnce is one attempt at the functions Lambda, as applyOnce is at
// the PostgREST function. changed is false when there was nothing it may
// do (a missing Lambda of a project without functions).
func (r *Reconciler) applyEdgeOnce(ctx context.Context, set Settings, fc *lambdas.Client, ec *lambdas.EdgeClient, t store.FleetTarget, rt store.EdgeRuntime, drift []string) (changed bool, err error) {
	return r.applyFunction(ctx, set, fc, &item{t: t, drift: drift}, pass{
		spec: ec.Settings.Spec(t.ID),
		recreate: func(ctx context.Context) (bool, error) {
			return r.recreateEdge(ctx, fc, ec, t)
		},
		ensureURL: func(ctx context.Context, spec lambdas.Spec) error {
			url, err := r.syncURL(ctx, fc, spec, t.ID)
			if err != nil {
				return err
			}
			return r.recordEdge(ctx, t.ID, lambdas.Function{Name: spec.FunctionName(t.ID), ARN: rt.FunctionARN, URL: url})
		},
		ensureConcurrency: func(ctx context.Context) error {
			return r.ensureEdgeConcurrency(ctx, ec, t.ID)
		},
	})
}

// recordEdge stores a functions Lambda whose URL (or ARN) changed and
// hands the gateway the document with the new functions_url, counting its
// version up as a first deploy does.
func (r *Reconciler) recordEdge(ctx context.Context, projectID string, fn lambdas.Function) error {
	if fn.URL == "" {
		return nil
	}
	changed := false
	err := r.Service.Store.WithProjectLock(ctx, projectID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
		rt, err := l.EdgeRuntime(ctx)
		if err != nil {
			return err
		}
		if rt.FunctionURL == fn.URL && (fn.ARN == "" || rt.FunctionARN == fn.ARN) {
			return nil
		}
		changed = rt.FunctionURL != fn.URL
		rt.FunctionName, rt.FunctionURL = fn.Name, fn.URL
		if fn.ARN != "" {
			rt.FunctionARN = fn.ARN
		}
		if err := l.SetEdgeRuntime(ctx, rt); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		_, _, err = l.Update(ctx, func(*store.Controls) {})
		return err
	})
	if err != nil || !changed {
		return err
	}
	if err := r.Service.PublishConfig(ctx, projectID); err != nil {
		r.Log.Warn("writing the configuration document with the new functions URL to the gateway cache failed; gateways read it when their copy expires",
			"project_id", projectID, "error", err.Error())
	}
	return nil
}

// ensureEdgeConcurrency sets the reservation the project's status calls
// for under its row lock; a project in a pause or restore is left to it.
func (r *Reconciler) ensureEdgeConcurrency(ctx context.Context, ec *lambdas.EdgeClient, projectID string) error {
	return r.ensureConcurrency(ctx, projectID, ec, func(l *store.Locked) int { return r.Service.DesiredEdgeConcurrency(l.Status) })
}

// recreateEdge makes a missing functions Lambda again exactly as a first
// deploy does, but only for a project that has functions: one without
// gets its Lambda at its next deploy.
func (r *Reconciler) recreateEdge(ctx context.Context, fc *lambdas.Client, ec *lambdas.EdgeClient, t store.FleetTarget) (bool, error) {
	fns, err := r.Service.Store.ListEdgeFunctions(ctx, t.ID)
	if err != nil {
		return false, err
	}
	if len(fns) == 0 {
		return false, nil
	}
	fn, err := ec.Ensure(ctx, t.ID)
	if err != nil {
		return true, err
	}
	r.Log.Warn("functions Lambda was missing and has been made again", "project_id", t.ID, "function", fn.Name)
	if err := r.ensureEdgeConcurrency(ctx, ec, t.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) || isBusy(err) {
			// Its delete may have run before the Lambda existed again.
			if derr := ec.Delete(context.WithoutCancel(ctx), t.ID); derr != nil {
				return true, errors.Join(err, derr)
			}
			return true, fmt.Errorf("the project is being deleted: %w", err)
		}
		return true, err
	}
	if err := r.recordEdge(ctx, t.ID, fn); err != nil {
		return true, err
	}
	return true, r.check(ctx, fc, ec.Settings.Spec(t.ID), t.ID)
}

func isBusy(err error) bool {
	var busy *store.BusyError
	return errors.As(err, &busy)
}
