package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// FleetTarget is a project the function reconciler looks after, with its
// controls and its rollout progress (zero values when it has none yet).
type FleetTarget struct {
	ID, Status     string
	FunctionURL    *string
	Controls       Controls
	DesiredVersion *string
	AppliedVersion *string
	LastError      *string
	Attempts       int
	RetryAfter     *time.Time
	UpdatedAt      *time.Time
}

// FleetTargets lists the active and paused projects (a paused project's
// function is kept current too, at reserved concurrency 0) by id.
func (s *Store) FleetTargets(ctx context.Context) ([]FleetTarget, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.status, p.function_url, `+controlsCols+`,
			r.desired_version, r.applied_version, r.last_error, coalesce(r.attempts, 0), r.retry_after, r.updated_at
		FROM projects p LEFT JOIN project_controls c ON c.project_id = p.id
		LEFT JOIN function_rollout r ON r.project_id = p.id
		WHERE p.status IN ('active', 'paused') ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FleetTarget, error) {
		var t FleetTarget
		err := r.Scan(&t.ID, &t.Status, &t.FunctionURL, &t.Controls.Paused, &t.Controls.RPS, &t.Controls.Burst, &t.Controls.ReservedConcurrency,
			&t.DesiredVersion, &t.AppliedVersion, &t.LastError, &t.Attempts, &t.RetryAfter, &t.UpdatedAt)
		return t, err
	})
}

// RolloutApplying records an attempt at bringing a project to desired;
// attempts count from 1 for each new desired version.
func (s *Store) RolloutApplying(ctx context.Context, projectID, desired string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO function_rollout (project_id, desired_version, attempts) VALUES ($1, $2, 1)
		ON CONFLICT (project_id) DO UPDATE SET desired_version = excluded.desired_version,
			attempts = CASE WHEN function_rollout.desired_version = excluded.desired_version THEN function_rollout.attempts + 1 ELSE 1 END,
			updated_at = now()`, projectID, desired)
	return err
}

// RolloutApplied records that the project's function matches desired.
func (s *Store) RolloutApplied(ctx context.Context, projectID, desired string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO function_rollout (project_id, desired_version, applied_version) VALUES ($1, $2, $2)
		ON CONFLICT (project_id) DO UPDATE SET desired_version = $2, applied_version = $2, last_error = NULL, retry_after = NULL, updated_at = now()`,
		projectID, desired)
	return err
}

// RolloutFailed records a failed attempt and when periodic runs may try
// again.
func (s *Store) RolloutFailed(ctx context.Context, projectID, desired, msg string, retryAfter time.Time) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO function_rollout (project_id, desired_version, last_error, attempts, retry_after) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (project_id) DO UPDATE SET desired_version = $2, last_error = $3, retry_after = $4, updated_at = now()`,
		projectID, desired, msg, retryAfter)
	return err
}

// SetFunctionURL stores a project's new function URL (after the URL was
// made again).
func (s *Store) SetFunctionURL(ctx context.Context, projectID, url string) error {
	_, err := s.Pool.Exec(ctx, "UPDATE projects SET function_url = $2, updated_at = now() WHERE id = $1", projectID, url)
	return err
}

// FleetRun is the reconciler's last run.
type FleetRun struct {
	RequestedAt *time.Time `json:"requested_at"`
	Trigger     *string    `json:"trigger"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Outcome     *string    `json:"outcome"`
	Error       *string    `json:"error"`
	Checked     int        `json:"checked"`
	Updated     int        `json:"updated"`
	Failed      int        `json:"failed"`
}

// GetFleetRun reads the last run's record.
func (s *Store) GetFleetRun(ctx context.Context) (FleetRun, error) {
	var r FleetRun
	err := s.Pool.QueryRow(ctx, `SELECT requested_at, trigger, started_at, finished_at, outcome, error, checked, updated, failed FROM fleet_reconcile`).
		Scan(&r.RequestedAt, &r.Trigger, &r.StartedAt, &r.FinishedAt, &r.Outcome, &r.Error, &r.Checked, &r.Updated, &r.Failed)
	return r, err
}

// RequestFleetRun notes that a run was asked for; the task holding the
// reconciler's lock runs again when a request is newer than its start.
func (s *Store) RequestFleetRun(ctx context.Context) error {
	_, err := s.Pool.Exec(ctx, "UPDATE fleet_reconcile SET requested_at = clock_timestamp()")
	return err
}

// StartFleetRun records a run's start and returns its start time.
func (s *Store) StartFleetRun(ctx context.Context, trigger string) (time.Time, error) {
	var at time.Time
	err := s.Pool.QueryRow(ctx, `UPDATE fleet_reconcile SET trigger = $1, started_at = clock_timestamp(), finished_at = NULL, outcome = 'running', error = NULL,
		checked = 0, updated = 0, failed = 0 RETURNING started_at`, trigger).Scan(&at)
	return at, err
}

// FinishFleetRun records a run's end; it reports whether a run was
// requested after the one ending started.
func (s *Store) FinishFleetRun(ctx context.Context, outcome string, msg *string, checked, updated, failed int) (requestedSince bool, err error) {
	err = s.Pool.QueryRow(ctx, `UPDATE fleet_reconcile SET finished_at = clock_timestamp(), outcome = $1, error = $2, checked = $3, updated = $4, failed = $5
		RETURNING coalesce(requested_at > started_at, false)`, outcome, msg, checked, updated, failed).Scan(&requestedSince)
	return requestedSince, err
}
