package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/loggroups"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

// SetControl writes all fields of a project's control hash in one HSET, so
// the gateway never reads a mix of old and new values.
func (r redisCache) SetControl(ctx context.Context, key string, fields map[string]string) error {
	return r.c.HSet(ctx, key, fields).Err()
}

// wireControls reads the tenant guards' settings, gives the service its
// log group client and starts one pass that applies the guards to the
// projects that exist (in the background: a start does not wait on every
// tenant's database and function).
func (a *App) wireControls(awsCfg aws.Config, getenv func(string) string) error {
	settings, err := provision.ControlSettingsFromEnv(getenv)
	if err != nil {
		return err
	}
	s := a.Service
	s.Controls = settings
	s.LogGroups = &loggroups.Client{API: cloudwatchlogs.NewFromConfig(awsCfg), RetentionDays: settings.LogRetentionDays, Retain: settings.RetainLogGroups}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.starting.Add(1)
	go func() {
		defer close(done)
		defer a.starting.Done()
		if err := s.ReconcileControls(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("applying the tenant guards to existing projects", "error", err.Error())
		}
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
	return nil
}
