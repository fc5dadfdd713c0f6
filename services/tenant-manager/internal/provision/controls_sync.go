package provision

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// ControlSyncInterval is how often the control hashes are compared with
// the database: a hash write that failed (Redis down during a pause,
// restore or limits change) is repaired within it, where otherwise the
// stale hash, which has no TTL, would outrank the configuration document
// until the next start.
const ControlSyncInterval = time.Minute

// ControlReader reads a project's control hash back.
type ControlReader interface {
	GetControl(ctx context.Context, key string) (map[string]string, error)
}

// SyncControlHashes rewrites the control hash of every active or paused
// project whose hash differs from the database; it writes nothing when
// all agree. One task at a time (the others skip); a project is rewritten
// under its row lock, from the controls read there, so a concurrent pause
// or restore is never overwritten with older state. Redis failing ends the
// pass: the next one retries.
func (s *Service) SyncControlHashes(ctx context.Context) (rewritten int, err error) {
	cc, ok1 := s.Cache.(ControlCache)
	cr, ok2 := s.Cache.(ControlReader)
	if !ok1 || !ok2 {
		return 0, errors.New("the cache client cannot read and write control hashes")
	}
	_, err = s.Store.TryExclusive(ctx, store.LockControlsSync, func(ctx context.Context) error {
		projects, err := s.Store.ProjectsIn(ctx, "active", "paused")
		if err != nil {
			return err
		}
		for _, p := range projects {
			c, err := s.Store.GetControls(ctx, p.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			got, err := cr.GetControl(ctx, ControlKey(p.ID))
			if err != nil {
				return err
			}
			if maps.Equal(got, controlFields(c)) {
				continue
			}
			err = s.Store.WithProjectLock(ctx, p.ID, []string{"active", "paused"}, func(ctx context.Context, l *store.Locked) error {
				return cc.SetControl(ctx, ControlKey(p.ID), controlFields(l.Controls))
			})
			var busy *store.BusyError
			if errors.As(err, &busy) || errors.Is(err, store.ErrNotFound) {
				// Being paused, restored or deleted: that writes the hash.
				continue
			}
			if err != nil {
				return err
			}
			rewritten++
		}
		return nil
	})
	return rewritten, err
}

// ControlSyncLoop runs SyncControlHashes every interval until ctx ends.
func (s *Service) ControlSyncLoop(ctx context.Context, interval time.Duration) {
	Every(ctx, interval, func() {
		n, err := s.SyncControlHashes(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("comparing the gateway control hashes failed; retried next period", "error", err.Error())
		}
		if n > 0 {
			s.Log.Info("rewrote stale gateway control hashes", "projects", n)
		}
	})
}
