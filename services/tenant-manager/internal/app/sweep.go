package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// Every sweepInterval each task ends tenant sessions whose statement has
// run sweepMargin past the longest limit that applies to it: owner
// sessions (the SQL endpoints) past SQL_STATEMENT_TIMEOUT, PostgREST's
// authenticator sessions past the longest API-role statement timeout.
// These are statements that escaped their timeout and cancel request (a
// PL/pgSQL loop catching query_canceled after SET statement_timeout = 0),
// or owner sessions whose deadline termination failed.
const (
	sweepInterval = 30 * time.Second
	sweepMargin   = 30 * time.Second
)

// sweepLimits: an API role without a timeout (0) means PostgREST's
// sessions are not swept at all.
func sweepLimits(sqlTimeout time.Duration, c provision.ControlSettings) worker.SweepLimits {
	l := worker.SweepLimits{Owner: sqlTimeout + sweepMargin}
	longest := time.Duration(0)
	for _, d := range []time.Duration{c.AnonStatementTimeout, c.AuthenticatedStatementTimeout, c.ServiceRoleStatementTimeout} {
		if d <= 0 {
			return l
		}
		longest = max(longest, d)
	}
	l.Authenticator = longest + sweepMargin
	return l
}

func startSweep(a *App, workers map[string]*worker.Worker, limits worker.SweepLimits, log *slog.Logger) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		provision.Every(ctx, sweepInterval, func() {
			for _, w := range workers {
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				n, err := w.Sweep(pctx, limits)
				cancel()
				if err != nil && ctx.Err() == nil {
					log.Warn("sweeping long-running tenant sessions failed", "worker_id", w.ID, "error", err.Error())
				} else if n > 0 {
					log.Warn("ended tenant sessions whose statement outran its timeout", "worker_id", w.ID, "sessions", n)
				}
			}
		})
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
}
