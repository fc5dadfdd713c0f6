// Package worker creates and drops a tenant's database on a worker RDS
// instance (provisioning step 4). It runs as the instance's master user, which
// on RDS is not a superuser (CREATEDB CREATEROLE only): everything here
// works with exactly those rights. Identifiers are always quoted with
// pgx.Identifier; nothing is formatted into SQL raw.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DatabaseName is the tenant's database: supabase_<id with _ for ->.
func DatabaseName(projectID string) string {
	return "supabase_" + strings.ReplaceAll(projectID, "-", "_")
}

// AuthenticatorRole is PostgREST's login role; OwnerRole owns the database.
func AuthenticatorRole(projectID string) string { return projectID + "_authenticator" }
func OwnerRole(projectID string) string         { return projectID + "_owner" }

// apiRoles are the cluster-wide NOLOGIN roles PostgREST switches to.
var apiRoles = []string{"anon", "authenticated", "service_role"}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// literal quotes a string constant for statements that take no bind
// parameters (CREATE ROLE … PASSWORD); E” with quotes and backslashes
// doubled means the same whatever standard_conforming_strings is.
func literal(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Worker is one worker instance, reached as its master user.
type Worker struct {
	ID   string
	Pool *pgxpool.Pool // connected to the "postgres" database as the master
	// Connect opens a connection to another database of the same instance
	// as the master.
	Connect func(ctx context.Context, database string) (*pgx.Conn, error)
	Log     *slog.Logger
}

func isCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		for _, c := range codes {
			if pgErr.Code == c {
				return true
			}
		}
	}
	return false
}

// ensureAPIRoles creates anon, authenticated and service_role once per
// instance. service_role gets BYPASSRLS where the master may grant it;
// elsewhere tenants give it access with their own policies.
func (w *Worker) ensureAPIRoles(ctx context.Context) error {
	for _, r := range apiRoles {
		var exists bool
		if err := w.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", r).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		stmt := "CREATE ROLE " + ident(r) + " NOLOGIN NOINHERIT"
		if r == "service_role" {
			_, err := w.Pool.Exec(ctx, stmt+" BYPASSRLS")
			if err == nil || isCode(err, "42710") {
				continue
			}
			if !isCode(err, "42501") {
				return fmt.Errorf("creating role %s: %w", r, err)
			}
			w.Log.Warn("service_role created without BYPASSRLS: the master may not grant it", "worker", w.ID)
		}
		// 42710: another provisioning created it meanwhile.
		if _, err := w.Pool.Exec(ctx, stmt); err != nil && !isCode(err, "42710", "23505") {
			return fmt.Errorf("creating role %s: %w", r, err)
		}
	}
	return nil
}

// Provision creates the tenant's roles and database. On error, whatever it
// created is left for Deprovision, which the caller runs as compensation.
func (w *Worker) Provision(ctx context.Context, projectID, password string) error {
	if err := w.ensureAPIRoles(ctx); err != nil {
		return err
	}
	owner, auth, db := ident(OwnerRole(projectID)), ident(AuthenticatorRole(projectID)), ident(DatabaseName(projectID))
	var version int
	if err := w.Pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return err
	}
	var master string
	if err := w.Pool.QueryRow(ctx, "SELECT current_user").Scan(&master); err != nil {
		return err
	}
	// PostgreSQL 16 gives a CREATEROLE creator only ADMIN on the roles it
	// makes. The master needs SET on the owner (to create and drop the
	// database owned by it) and the privileges of the authenticator (to end
	// its sessions when the tenant is deprovisioned).
	grantOwner, grantAuth := "GRANT "+owner+" TO "+ident(master), "GRANT "+auth+" TO "+ident(master)
	if version >= 160000 {
		grantOwner += " WITH INHERIT FALSE, SET TRUE"
		grantAuth += " WITH INHERIT TRUE, SET FALSE"
	}
	cluster := []string{
		"CREATE ROLE " + owner + " NOLOGIN NOINHERIT",
		"CREATE ROLE " + auth + " LOGIN NOINHERIT PASSWORD " + literal(password),
		grantOwner,
		grantAuth,
		"GRANT anon, authenticated, service_role TO " + auth,
		"CREATE DATABASE " + db + " OWNER " + owner,
		"SET ROLE " + owner,
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		"GRANT CONNECT ON DATABASE " + db + " TO " + auth,
		"GRANT CONNECT, TEMPORARY ON DATABASE " + db + " TO " + ident(master),
		"RESET ROLE",
	}
	conn, err := w.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, s := range cluster {
		if _, err := conn.Exec(ctx, s); err != nil {
			_, _ = conn.Exec(ctx, "RESET ROLE")
			return fmt.Errorf("worker %s: %s: %w", w.ID, redact(s), err)
		}
	}

	tdb, err := w.Connect(ctx, DatabaseName(projectID))
	if err != nil {
		return fmt.Errorf("worker %s: connecting to %s: %w", w.ID, DatabaseName(projectID), err)
	}
	defer tdb.Close(ctx)
	// Inside the tenant database, act as its owner (public belongs to
	// pg_database_owner): grants in the Supabase style, RLS left to the
	// tenant, and the auth helpers reading PostgREST's request.jwt.claims.
	inside := []string{
		"SET ROLE " + owner,
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role",
		"GRANT CREATE ON SCHEMA public TO " + owner,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role",
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role",
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role",
		"CREATE SCHEMA auth AUTHORIZATION " + owner,
		`CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
			SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
		$$`,
		`CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
			SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
		$$`,
		`CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
			SELECT nullif(auth.jwt() ->> 'role', '')
		$$`,
		"REVOKE ALL ON SCHEMA auth FROM PUBLIC",
		"GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role",
		"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role",
		"RESET ROLE",
	}
	for _, s := range inside {
		if _, err := tdb.Exec(ctx, s); err != nil {
			return fmt.Errorf("worker %s: %s: %w", w.ID, redact(s), err)
		}
	}
	return nil
}

// Deprovision drops what Provision made; every step tolerates a missing
// object, so it also cleans up after a Provision that failed half-way.
func (w *Worker) Deprovision(ctx context.Context, projectID string) error {
	owner, auth, db := ident(OwnerRole(projectID)), ident(AuthenticatorRole(projectID)), ident(DatabaseName(projectID))
	conn, err := w.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var dbExists, ownerExists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2)",
		DatabaseName(projectID), OwnerRole(projectID)).Scan(&dbExists, &ownerExists); err != nil {
		return err
	}
	var stmts []string
	if dbExists && ownerExists {
		// No new sessions, end the tenant's open ones (a frozen Lambda may
		// hold some), then drop as the owner.
		stmts = append(stmts,
			"SET ROLE "+owner,
			"REVOKE CONNECT ON DATABASE "+db+" FROM "+auth,
			"RESET ROLE",
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "+literal(DatabaseName(projectID))+" AND pid <> pg_backend_pid()",
			"SET ROLE "+owner,
			"DROP DATABASE IF EXISTS "+db,
			"RESET ROLE",
		)
	} else if dbExists {
		stmts = append(stmts, "DROP DATABASE IF EXISTS "+db)
	}
	stmts = append(stmts, "DROP ROLE IF EXISTS "+auth, "DROP ROLE IF EXISTS "+owner)
	for _, s := range stmts {
		err := execRetry(ctx, conn, s)
		if err != nil {
			_, _ = conn.Exec(ctx, "RESET ROLE")
			return fmt.Errorf("worker %s: %s: %w", w.ID, redact(s), err)
		}
	}
	return nil
}

// execRetry retries while sessions that were just terminated still hold
// the database (55006 object_in_use).
func execRetry(ctx context.Context, conn *pgxpool.Conn, stmt string) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if _, err = conn.Exec(ctx, stmt); err == nil || !isCode(err, "55006") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

// redact keeps passwords out of error messages.
func redact(stmt string) string {
	if i := strings.Index(stmt, " PASSWORD "); i >= 0 {
		return stmt[:i] + " PASSWORD [redacted]"
	}
	if len(stmt) > 80 {
		return strings.Join(strings.Fields(stmt[:80]), " ") + "…"
	}
	return stmt
}
