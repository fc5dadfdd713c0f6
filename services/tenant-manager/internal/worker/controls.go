package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Guards bound what one tenant can take of its worker instance.
type Guards struct {
	// ConnectionLimit is the authenticator's CONNECTION LIMIT (-1: none).
	ConnectionLimit int
	// StatementTimeouts per API role, set inside the tenant's database only
	// (0: no setting). PostgREST applies an impersonated role's settings to
	// each request's transaction.
	StatementTimeouts map[string]time.Duration
}

// ApplyGuards sets the guards; every statement is idempotent, so it also
// brings projects created before a guard existed (or under other values)
// up to date.
func (w *Worker) ApplyGuards(ctx context.Context, projectID string, g Guards) error {
	stmts := []string{"ALTER ROLE " + ident(AuthenticatorRole(projectID)) + " CONNECTION LIMIT " + strconv.Itoa(g.ConnectionLimit)}
	for _, role := range []string{"anon", "authenticated", "service_role"} {
		d, ok := g.StatementTimeouts[role]
		if !ok {
			continue
		}
		prefix := "ALTER ROLE " + ident(role) + " IN DATABASE " + ident(DatabaseName(projectID))
		if d <= 0 {
			stmts = append(stmts, prefix+" RESET statement_timeout")
		} else {
			// In milliseconds, the setting's unit: an integer needs no quoting.
			stmts = append(stmts, prefix+" SET statement_timeout = "+strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	for _, s := range stmts {
		if _, err := w.Pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("worker %s: %s: %w", w.ID, s, err)
		}
	}
	return nil
}

// SetLogin allows or refuses the authenticator's logins. Refusing also
// ends its open sessions (a warm Lambda instance holds some): the master
// has the authenticator's privileges, which pg_terminate_backend needs.
// An error means sessions may remain; the call can be repeated.
func (w *Worker) SetLogin(ctx context.Context, projectID string, login bool) error {
	auth := AuthenticatorRole(projectID)
	attr := "NOLOGIN"
	if login {
		attr = "LOGIN"
	}
	if _, err := w.Pool.Exec(ctx, "ALTER ROLE "+ident(auth)+" "+attr); err != nil {
		return fmt.Errorf("worker %s: ALTER ROLE %s %s: %w", w.ID, auth, attr, err)
	}
	if login {
		return nil
	}
	// The timeout makes each call wait until the session is gone, so the
	// pause answers only once none is left.
	var left int
	if err := w.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT pg_terminate_backend(pid, 5000))
		FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`, auth).Scan(&left); err != nil {
		return fmt.Errorf("worker %s: ending the sessions of %s: %w", w.ID, auth, err)
	}
	if left > 0 {
		return fmt.Errorf("worker %s: %d sessions of %s did not end within 5 s", w.ID, left, auth)
	}
	return nil
}
