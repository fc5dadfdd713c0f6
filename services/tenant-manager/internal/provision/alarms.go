package provision

import (
	"context"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Alarms manages a project's CloudWatch alarms (nil: projects get none).
type Alarms interface {
	// Ensure creates the configured alarms; a retry is safe.
	Ensure(ctx context.Context, projectID string) error
	// Delete removes every alarm of the project; missing ones are fine.
	Delete(ctx context.Context, projectID string) error
	// Sync puts missing or outdated alarms of these projects and removes
	// those of kinds no longer configured.
	Sync(ctx context.Context, projectIDs []string) (put, deleted int, err error)
}

// SyncAlarms gives every existing project the configured alarms, so projects
// created before alarms were enabled (or with other thresholds) get them.
// One task runs it at a time; it is idempotent and writes only what
// differs.
func (s *Service) SyncAlarms(ctx context.Context, timeout time.Duration) error {
	if s.Alarms == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := s.Store.TryExclusive(ctx, store.LockAlarmSync, func(ctx context.Context) error {
		ps, err := s.Store.ListProjects(ctx)
		if err != nil {
			return err
		}
		var ids []string
		for _, p := range ps {
			// A create or delete in progress handles its own alarms;
			// paused projects keep theirs (quiet, so OK).
			if p.Status != "provisioning" && p.Status != "deprovisioning" {
				ids = append(ids, p.ID)
			}
		}
		put, deleted, err := s.Alarms.Sync(ctx, ids)
		s.Log.Info("per-project alarms synchronised", "projects", len(ids), "put", put, "deleted", deleted)
		return err
	})
	return err
}
