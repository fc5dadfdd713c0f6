package app

import (
	"context"
	"log/slog"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/reconcile"
)

// startFleet gives the API the function reconciler and starts its loop
// (at start and every RECONCILE_INTERVAL, in the background; Close stops
// it before the pools close).
func startFleet(a *App, cfg *config.Config, log *slog.Logger) {
	fc, ok := a.Service.Functions.(*lambdas.Client)
	if !ok {
		return
	}
	fc.Settings.Architecture = cfg.Fleet.LambdaArchitecture
	r := &reconcile.Reconciler{Service: a.Service, Functions: fc, Log: log, Settings: reconcile.Settings{
		Concurrency: cfg.Fleet.Concurrency, Canary: cfg.Fleet.Canary, Rate: cfg.Fleet.Rate,
	}}
	if a.Service.Edge != nil {
		r.Edge, _ = a.Service.Edge.Runtime.(*lambdas.EdgeClient)
	}
	a.Server.Fleet = r
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.starting.Add(1)
	go func() {
		defer close(done)
		r.Loop(ctx, cfg.Fleet.Interval, a.starting.Done)
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
}
