package app

import (
	"context"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

// GetControl reads a project's control hash (empty when there is none).
func (r redisCache) GetControl(ctx context.Context, key string) (map[string]string, error) {
	return r.c.HGetAll(ctx, key).Result()
}

// controlSyncInterval is provision.ControlSyncInterval; tests shorten it.
var controlSyncInterval time.Duration

func startControlSync(a *App) {
	interval := controlSyncInterval
	if interval <= 0 {
		interval = provision.ControlSyncInterval
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Service.ControlSyncLoop(ctx, interval)
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
}
