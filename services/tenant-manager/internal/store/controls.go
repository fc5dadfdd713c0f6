package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrBusy: the project is being created, deleted, paused or restored, so
// the requested change has to wait.
var ErrBusy = errors.New("project is busy")

// BusyError says which state blocked the request.
type BusyError struct{ ProjectID, Status string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("project %s is %s; retry when that has finished", e.ProjectID, e.Status)
}
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Controls is a project's project_controls row (defaults when it has none).
type Controls struct {
	Paused bool
	// RPS and Burst are the rate-limit override (nil: the gateway's default).
	RPS, Burst *int
	// ReservedConcurrency is the Lambda override (nil: the configured default).
	ReservedConcurrency *int
}

// StaleTransition is how long a pausing/restoring status may stand before
// it is taken as left by a process that died: a new request of the same
// kind may then run the transition again (every step is idempotent).
const StaleTransition = 10 * time.Minute

// BeginTransition moves a project from `from` to `via` (e.g. active ->
// pausing) in one conditional UPDATE, so of concurrent requests one wins.
// done is true when the project is already in `to` (nothing to do). A
// transition of the same kind older than StaleTransition is taken over.
// Any other state is a *BusyError.
func (s *Store) BeginTransition(ctx context.Context, id, from, via, to string) (done bool, err error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE projects SET status = $3, updated_at = now()
		WHERE id = $1 AND (status = $2 OR (status = $3 AND updated_at < now() - make_interval(secs => $4)))`,
		id, from, via, StaleTransition.Seconds())
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return false, nil
	}
	p, err := s.GetProject(ctx, id)
	if err != nil {
		return false, err
	}
	if p.Status == to {
		return true, nil
	}
	return false, &BusyError{ProjectID: id, Status: p.Status}
}

// EndTransition moves a project from `via` to `to`; a project no longer in
// `via` is a *BusyError (someone else took it over).
func (s *Store) EndTransition(ctx context.Context, id, via, to string) error {
	tag, err := s.Pool.Exec(ctx, "UPDATE projects SET status = $3, updated_at = now() WHERE id = $1 AND status = $2", id, via, to)
	return s.changedOrBusy(ctx, id, tag, err)
}

// MarkDeprovisioning starts a delete unless a pause or restore is running
// (the two would undo each other's steps).
func (s *Store) MarkDeprovisioning(ctx context.Context, id string) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE projects SET status = 'deprovisioning', updated_at = now()
		WHERE id = $1 AND (status NOT IN ('pausing', 'restoring') OR updated_at < now() - make_interval(secs => $2))`, id, StaleTransition.Seconds())
	return s.changedOrBusy(ctx, id, tag, err)
}

// changedOrBusy is nil when the update (tag, err) changed the project's
// row, else its error or the status that kept it from changing as a
// *BusyError.
func (s *Store) changedOrBusy(ctx context.Context, id string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	p, err := s.GetProject(ctx, id)
	if err != nil {
		return err
	}
	return &BusyError{ProjectID: id, Status: p.Status}
}

func scanControls(row pgx.Row) (Controls, error) {
	var c Controls
	err := row.Scan(&c.Paused, &c.RPS, &c.Burst, &c.ReservedConcurrency)
	return c, err
}

const controlsCols = "coalesce(c.paused, false), c.rate_limit_rps, c.rate_limit_burst, c.reserved_concurrency"

// GetControls reads a project's controls; ErrNotFound for no project.
func (s *Store) GetControls(ctx context.Context, id string) (Controls, error) {
	c, err := scanControls(s.Pool.QueryRow(ctx, "SELECT "+controlsCols+" FROM projects p LEFT JOIN project_controls c ON c.project_id = p.id WHERE p.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// GatewayState is what the gateway's document is built from, read in one
// statement so the version always matches the key and the controls.
type GatewayState struct {
	Status      string
	FunctionURL *string
	Key         JWTKey
	Controls    Controls
}

func (s *Store) GatewayState(ctx context.Context, id string) (GatewayState, error) {
	g := GatewayState{Key: JWTKey{Status: "current"}}
	err := s.Pool.QueryRow(ctx, `SELECT p.status, p.function_url, k.id, k.secret, p.jwt_version, `+controlsCols+`
		FROM projects p JOIN jwt_keys k ON k.project_id = p.id AND k.status = 'current'
		LEFT JOIN project_controls c ON c.project_id = p.id WHERE p.id = $1`, id).
		Scan(&g.Status, &g.FunctionURL, &g.Key.ID, &g.Key.Sealed, &g.Key.Version,
			&g.Controls.Paused, &g.Controls.RPS, &g.Controls.Burst, &g.Controls.ReservedConcurrency)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, ErrNotFound
	}
	return g, err
}

// UpdateControls changes a project's controls and counts its document
// version up in one transaction (the gateway's cache refuses a document
// whose version is not higher than the one it holds). change gets the
// current controls and edits them. It returns the new controls and version.
func (s *Store) UpdateControls(ctx context.Context, id string, change func(*Controls)) (Controls, int64, error) {
	var c Controls
	var version int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return updateControlsTx(ctx, tx, id, change, &c, &version)
	})
	return c, version, err
}

func updateControlsTx(ctx context.Context, tx pgx.Tx, id string, change func(*Controls), c *Controls, version *int64) error {
	// The project row's lock orders this with rotations' promotions and
	// other control changes.
	if err := tx.QueryRow(ctx, "SELECT jwt_version FROM projects WHERE id = $1 FOR UPDATE", id).Scan(version); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	cur, err := scanControls(tx.QueryRow(ctx, "SELECT "+controlsCols+" FROM projects p LEFT JOIN project_controls c ON c.project_id = p.id WHERE p.id = $1", id))
	if err != nil {
		return err
	}
	change(&cur)
	if _, err := tx.Exec(ctx, `INSERT INTO project_controls (project_id, paused, rate_limit_rps, rate_limit_burst, reserved_concurrency) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (project_id) DO UPDATE SET paused = excluded.paused, rate_limit_rps = excluded.rate_limit_rps,
		rate_limit_burst = excluded.rate_limit_burst, reserved_concurrency = excluded.reserved_concurrency, updated_at = now()`,
		id, cur.Paused, cur.RPS, cur.Burst, cur.ReservedConcurrency); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, "UPDATE projects SET jwt_version = jwt_version + 1, updated_at = now() WHERE id = $1 RETURNING jwt_version", id).Scan(version); err != nil {
		return err
	}
	*c = cur
	return nil
}

// Locked is a project whose row lock is held (see WithProjectLock).
type Locked struct {
	tx       pgx.Tx
	ID       string
	Status   string
	Controls Controls
}

// Update changes the controls and counts the version up inside the locked
// transaction: they commit only if the rest of WithProjectLock's f succeeds.
func (l *Locked) Update(ctx context.Context, change func(*Controls)) (Controls, int64, error) {
	var c Controls
	var version int64
	err := updateControlsTx(ctx, l.tx, l.ID, change, &c, &version)
	if err == nil {
		l.Controls = c
	}
	return c, version, err
}

// WithProjectLock runs f while holding the project's row lock, if its
// status is one of allowed (else a *BusyError), so no pause, restore,
// delete or other control change of the project runs meanwhile.
func (s *Store) WithProjectLock(ctx context.Context, id string, allowed []string, f func(ctx context.Context, l *Locked) error) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		l := &Locked{tx: tx, ID: id}
		if err := tx.QueryRow(ctx, "SELECT status FROM projects WHERE id = $1 FOR UPDATE", id).Scan(&l.Status); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == l.Status
		}
		if !ok {
			return &BusyError{ProjectID: id, Status: l.Status}
		}
		var err error
		if l.Controls, err = scanControls(tx.QueryRow(ctx, "SELECT "+controlsCols+" FROM projects p LEFT JOIN project_controls c ON c.project_id = p.id WHERE p.id = $1", id)); err != nil {
			return err
		}
		return f(ctx, l)
	})
}

// ProjectRef is a project's id, status and worker.
type ProjectRef struct {
	ID, Status string
	WorkerID   *string
}

// ProjectsIn lists the projects whose status is one of statuses.
func (s *Store) ProjectsIn(ctx context.Context, statuses ...string) ([]ProjectRef, error) {
	rows, err := s.Pool.Query(ctx, "SELECT id, status, worker_id FROM projects WHERE status = ANY($1) ORDER BY id", statuses)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProjectRef, error) {
		var p ProjectRef
		return p, r.Scan(&p.ID, &p.Status, &p.WorkerID)
	})
}
