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
// Nothing a tenant can do from SQL keeps it from completing: the owner may
// have marked its database a template or closed it to connections (both
// undone first), and other tenants may have granted its roles privileges
// in their databases or on their databases (revoked with DROP OWNED in
// each database where the roles have dependencies).
func (w *Worker) Deprovision(ctx context.Context, projectID string) error {
	owner, auth, db := ident(OwnerRole(projectID)), ident(AuthenticatorRole(projectID)), ident(DatabaseName(projectID))
	conn, err := w.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var dbExists, ownerExists, authExists bool
	var master string
	var version int
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2),
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $3), current_user, current_setting('server_version_num')::int`,
		DatabaseName(projectID), OwnerRole(projectID), AuthenticatorRole(projectID)).Scan(&dbExists, &ownerExists, &authExists, &master, &version); err != nil {
		return err
	}
	var stmts []string
	// The roles' privileges (not only SET), which DROP OWNED BY and
	// terminating their sessions require; the master holds ADMIN on both,
	// which DROP ROLE needs anyway.
	for _, r := range []struct {
		name   string
		exists bool
	}{{owner, ownerExists}, {auth, authExists}} {
		if r.exists {
			grant := "GRANT " + r.name + " TO " + ident(master)
			if version >= 160000 {
				grant += " WITH INHERIT TRUE"
			}
			stmts = append(stmts, grant)
		}
	}
	if dbExists && ownerExists {
		// No new sessions, end the tenant's open ones (a frozen Lambda may
		// hold some), then drop; FORCE ends whatever session got in
		// between.
		stmts = append(stmts,
			"SET ROLE "+owner,
			"REVOKE CONNECT ON DATABASE "+db+" FROM "+auth,
			"ALTER DATABASE "+db+" IS_TEMPLATE false ALLOW_CONNECTIONS true",
			"RESET ROLE",
			// Only the tenant's own sessions: others there (an autovacuum
			// worker, an operator) are not the master's to end, and DROP
			// DATABASE waits out or cancels them itself.
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "+literal(DatabaseName(projectID))+
				" AND usename IN ("+literal(OwnerRole(projectID))+", "+literal(AuthenticatorRole(projectID))+") AND pid <> pg_backend_pid()",
			// As the master, which now holds the privileges of the owner
			// (so may drop its database) and of both roles (so FORCE may
			// end their sessions).
			forceDropOf(db),
		)
	} else if dbExists {
		stmts = append(stmts, "DROP DATABASE IF EXISTS "+db)
	}
	forceDrop := forceDropOf(db)
	for _, s := range stmts {
		err := execRetry(ctx, conn, s)
		if s == forceDrop && isCode(err, "42501") {
			// A session FORCE may not end (an autovacuum worker, an
			// operator's): the tenant's own are gone already, and a
			// plain DROP waits for, or cancels, autovacuum itself.
			err = execRetry(ctx, conn, "DROP DATABASE IF EXISTS "+db)
		}
		if err != nil {
			_, _ = conn.Exec(ctx, "RESET ROLE")
			return fmt.Errorf("worker %s: %s: %w", w.ID, redact(s), err)
		}
	}
	var roles []string
	if authExists {
		roles = append(roles, auth)
	}
	if ownerExists {
		roles = append(roles, owner)
	}
	if len(roles) > 0 {
		if err := w.dropOwned(ctx, conn, projectID, master, strings.Join(roles, ", ")); err != nil {
			return err
		}
	}
	for _, s := range []string{"DROP ROLE IF EXISTS " + auth, "DROP ROLE IF EXISTS " + owner} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("worker %s: %s: %w", w.ID, s, err)
		}
	}
	return nil
}

// dropOwned removes every dependency of the project's roles: privileges
// on shared objects (another tenant's GRANT CONNECT ON DATABASE) go with
// DROP OWNED in any database, privileges and objects inside a database
// only with DROP OWNED there. A database the master cannot enter (its
// owner revoked the master's CONNECT or disallowed connections) is
// reopened as its owner first, which the master may become.
func (w *Worker) dropOwned(ctx context.Context, conn *pgxpool.Conn, projectID, master, roles string) error {
	stmt := "DROP OWNED BY " + roles
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("worker %s: %s: %w", w.ID, stmt, err)
	}
	rows, err := conn.Query(ctx, `SELECT DISTINCT d.datname, pg_get_userbyid(d.datdba), pg_has_role(d.datdba, 'SET')
		FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
		WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid IN (SELECT oid FROM pg_roles WHERE rolname IN ($1, $2))
		  AND d.datname <> current_database()`, OwnerRole(projectID), AuthenticatorRole(projectID))
	if err != nil {
		return fmt.Errorf("worker %s: finding the dependencies of %s: %w", w.ID, roles, err)
	}
	type dep struct {
		name, owner string
		canSet      bool
	}
	deps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dep, error) {
		var d dep
		return d, r.Scan(&d.name, &d.owner, &d.canSet)
	})
	if err != nil {
		return fmt.Errorf("worker %s: finding the dependencies of %s: %w", w.ID, roles, err)
	}
	for _, d := range deps {
		c, err := w.Connect(ctx, d.name)
		if err != nil && d.canSet {
			for _, s := range []string{"SET ROLE " + ident(d.owner), "ALTER DATABASE " + ident(d.name) + " ALLOW_CONNECTIONS true",
				"GRANT CONNECT ON DATABASE " + ident(d.name) + " TO " + ident(master), "RESET ROLE"} {
				if _, err := conn.Exec(ctx, s); err != nil {
					_, _ = conn.Exec(ctx, "RESET ROLE")
					return fmt.Errorf("worker %s: reopening database %s to drop what %s hold there: %s: %w", w.ID, d.name, roles, s, err)
				}
			}
			c, err = w.Connect(ctx, d.name)
		}
		if err != nil {
			return fmt.Errorf("worker %s: connecting to %s to drop what %s hold there: %w", w.ID, d.name, roles, err)
		}
		// The database's own settings (read-only by default, a role to
		// switch to) are its owner's to choose: not in the way here.
		for _, s := range []string{"RESET ROLE", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", stmt} {
			if _, err = c.Exec(ctx, s); err != nil {
				break
			}
		}
		c.Close(ctx)
		if err != nil {
			return fmt.Errorf("worker %s: in %s: %s: %w", w.ID, d.name, stmt, err)
		}
	}
	return nil
}

// execRetry retries while sessions that were just terminated still hold
// the database (55006 object_in_use).
func forceDropOf(db string) string { return "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)" }

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
