package provision

import (
	"context"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// What the function reconciler (package reconcile) needs of the lifecycle,
// so a function it makes again is made with the same rules as at create.

// DesiredConcurrency is the reserved concurrency a project's function must
// have in status with controls c: 0 while paused, else its override, else
// the default, else -1 (no reservation). Callers hold the project's row
// lock, so no pause or restore is half done.
func (s *Service) DesiredConcurrency(status string, c store.Controls) int {
	if status == "paused" {
		return 0
	}
	return s.concurrencyFor(c)
}

// PublishConfig writes the project's configuration document (its function
// URL among it) through to the gateway's cache with the versioned script,
// as a rotation or a limits change does.
func (s *Service) PublishConfig(ctx context.Context, projectID string) error {
	_, err := s.writeThrough(ctx, projectID, s.rotation().GatewayCacheTTL)
	return err
}
