package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// EdgeConcurrency reads and sets a project's functions Lambda reserved
// concurrency (< 0: none); RunningConcurrency is what a running project's
// gets.
type EdgeConcurrency interface {
	Concurrency(ctx context.Context, projectID string) (int, error)
	SetConcurrency(ctx context.Context, projectID string, n int) error
	RunningConcurrency() int
}

// edgeConcurrency is the functions Lambdas' concurrency control, nil when
// edge functions are off or the runtime cannot set it.
func (s *Service) edgeConcurrency() EdgeConcurrency {
	if s.Edge == nil {
		return nil
	}
	ec, _ := s.Edge.Runtime.(EdgeConcurrency)
	return ec
}

// DesiredEdgeConcurrency is the reserved concurrency a project's functions
// Lambda must have in status: 0 while paused, else the configured value,
// else -1 (none).
func (s *Service) DesiredEdgeConcurrency(status string) int {
	ec := s.edgeConcurrency()
	if status == "paused" || ec == nil {
		return 0
	}
	return ec.RunningConcurrency()
}

// edgeTransitionSteps is the pause's (paused true) or restore's step for
// the functions Lambda; none when the project has never deployed a
// function. The status is pausing or restoring meanwhile, so no first
// deploy can make the Lambda between this look and the step.
func (s *Service) edgeTransitionSteps(ctx context.Context, projectID string, paused bool) ([]transitionStep, error) {
	ec := s.edgeConcurrency()
	if ec == nil {
		return nil, nil
	}
	if _, err := s.Store.GetEdgeRuntime(ctx, projectID); errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	set := func(n int) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			// A Lambda removed behind our back has nothing to throttle;
			// the reconciler makes it again with the right concurrency.
			if err := ec.SetConcurrency(ctx, projectID, n); err != nil && !lambdas.IsNotFound(err) {
				return err
			}
			return nil
		}
	}
	running := ec.RunningConcurrency()
	if paused {
		return []transitionStep{{name: "functions_lambda", do: set(0), undo: set(running)}}, nil
	}
	return []transitionStep{{name: "functions_lambda", do: set(running), undo: set(0)}}, nil
}

// deployStatuses are those a function may be deployed in: a paused
// project's functions are stored and its Lambda made, throttled, so the
// restore brings them up as deployed.
var deployStatuses = []string{"active", "paused"}

func (s *Service) deployableProject(ctx context.Context, projectID string) error {
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return err
	}
	if !slices.Contains(deployStatuses, p.Status) {
		return fmt.Errorf("%w: project %s is %s", ErrNotActive, projectID, p.Status)
	}
	return nil
}

// throttleIfPaused gives a functions Lambda made by a paused project's
// first deploy a reserved concurrency of 0, as the pause would have.
func (s *Service) throttleIfPaused(ctx context.Context, projectID, status string) error {
	if status != "paused" {
		return nil
	}
	ec := s.edgeConcurrency()
	if ec == nil {
		return errors.New("the functions runtime cannot set reserved concurrency, so a paused project's functions Lambda cannot be throttled")
	}
	return ec.SetConcurrency(ctx, projectID, 0)
}
