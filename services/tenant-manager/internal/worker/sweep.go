package worker

import (
	"context"
	"fmt"
	"time"
)

// A statement can outlive every timeout and cancel request: PL/pgSQL may
// catch query_canceled (57014) in a loop, and statement_timeout is the
// session's to lift. pg_terminate_backend cannot be caught. The master
// holds the privileges of every tenant's authenticator and (once its
// owner login is enabled, which any owner session implies) of its owner,
// which PostgreSQL requires to terminate their sessions.

// TerminateOwnerSession ends one session of the project's owner: the SQL
// endpoints call it when a request's deadline passes, whatever the
// session does with the cancel request. pid is checked against the owner
// role, so a reused pid of someone else is left alone.
func (w *Worker) TerminateOwnerSession(ctx context.Context, projectID string, pid uint32) error {
	if _, err := w.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid = $1 AND usename = $2`, int32(pid), OwnerRole(projectID)); err != nil {
		return fmt.Errorf("worker %s: terminating a session of %s: %w", w.ID, OwnerRole(projectID), err)
	}
	return nil
}

// SweepLimits are how long a tenant session's current statement may run
// before the sweep ends the session (0: that kind is not swept).
type SweepLimits struct {
	// Owner bounds the SQL endpoints' sessions ({id}_owner).
	Owner time.Duration
	// Authenticator bounds PostgREST's sessions ({id}_authenticator), which
	// run as anon, authenticated or service_role.
	Authenticator time.Duration
}

// Sweep terminates tenant sessions whose statement (or open transaction's
// last statement) started longer ago than its limit, and returns how many
// it ended. Sessions of roles whose privileges the master lacks are left
// out rather than failing the whole pass.
func (w *Worker) Sweep(ctx context.Context, l SweepLimits) (int, error) {
	ms := func(d time.Duration) int64 {
		if d <= 0 {
			return -1
		}
		return d.Milliseconds()
	}
	var n int
	err := w.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity a
		WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND a.usename <> current_user
		  AND a.state IS DISTINCT FROM 'idle' AND a.query_start IS NOT NULL
		  AND ((a.usename LIKE '%\_owner' AND $1::bigint >= 0 AND a.query_start < now() - make_interval(secs => $1::bigint / 1000.0))
		    OR (a.usename LIKE '%\_authenticator' AND $2::bigint >= 0 AND a.query_start < now() - make_interval(secs => $2::bigint / 1000.0)))
		  AND pg_has_role(a.usesysid, 'USAGE')`, ms(l.Owner), ms(l.Authenticator)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("worker %s: sweeping long-running tenant sessions: %w", w.ID, err)
	}
	return n, nil
}
