package admin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PhysicalID is the custom resource's physical id. It never changes, so an
// update is never a replacement and a delete never drops anything.
const PhysicalID = "supabase-platform-bootstrap"

// BootstrapProps are the custom resource's properties.
type BootstrapProps struct {
	MasterSecretArn        string `json:"MasterSecretArn"`
	KongSecretArn          string `json:"KongSecretArn"`
	TenantManagerSecretArn string `json:"TenantManagerSecretArn"`
}

// platformDatabases are the primary's databases and the login role that
// owns each: one role per database, neither can connect to the other.
var platformDatabases = []struct{ database, role string }{
	{"kong", "kong"},
	{"supabase_platform", "tenant_manager"},
}

// Bootstrap creates the platform databases and their login roles on the
// primary. It is idempotent: run again, it changes nothing (passwords are
// set to what the secrets hold). It works as RDS's master, which has
// CREATEDB and CREATEROLE but is not a superuser.
func (a *Admin) Bootstrap(ctx context.Context, p BootstrapProps, log *slog.Logger) error {
	master, err := readCredentials(ctx, a.Secrets, p.MasterSecretArn, true)
	if err != nil {
		return fmt.Errorf("master secret: %w", err)
	}
	logins := map[string]Credentials{}
	for role, arn := range map[string]string{"kong": p.KongSecretArn, "tenant_manager": p.TenantManagerSecretArn} {
		c, err := readCredentials(ctx, a.Secrets, arn, false)
		if err != nil {
			return fmt.Errorf("%s secret: %w", role, err)
		}
		logins[role] = c
	}
	conn, err := connect(ctx, master, "postgres", a.TLS)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)

	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("reading server version: %w", err)
	}
	for _, d := range platformDatabases {
		if err := ensureRole(ctx, conn, d.role, logins[d.role], version); err != nil {
			return err
		}
		if err := ensureClone(ctx, conn, d.role); err != nil {
			return err
		}
		if err := ensureDatabase(ctx, conn, d.database, d.role); err != nil {
			return err
		}
		if err := a.reassignIn(ctx, master, d.database, d.role, version); err != nil {
			return err
		}
		log.Info("platform database ready", "database", d.database, "owner", d.role)
	}
	return nil
}

// reassignIn runs reassignCloneObjects in database (REASSIGN OWNED acts
// on the current database only).
func (a *Admin) reassignIn(ctx context.Context, master Credentials, database, role string, version int) error {
	conn, err := connect(ctx, master, database, a.TLS)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return reassignCloneObjects(ctx, conn, role, version)
}

func ensureRole(ctx context.Context, conn *pgx.Conn, role string, creds Credentials, version int) error {
	ident := pgx.Identifier{role}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return fmt.Errorf("role %s: %w", role, err)
	}
	// A multi-user rotation alternates between the role and a clone
	// (role_clone) and owns the password then: set it only while the secret
	// names the role itself.
	setPassword := creds.Username == role
	switch {
	case !exists:
		stmt := "CREATE ROLE " + ident + " LOGIN NOINHERIT"
		if setPassword {
			stmt += " PASSWORD " + quoteLiteral(creds.Password)
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("creating role %s: %w", role, err)
		}
	case setPassword:
		if _, err := conn.Exec(ctx, "ALTER ROLE "+ident+" LOGIN PASSWORD "+quoteLiteral(creds.Password)); err != nil {
			return fmt.Errorf("setting the password of role %s: %w", role, err)
		}
	}
	// The admin must be able to SET ROLE to the owner to create a database
	// owned by it (PostgreSQL 16 gives a CREATEROLE creator only ADMIN).
	grant := "GRANT " + ident + " TO CURRENT_USER"
	if version >= 160000 {
		grant += " WITH INHERIT FALSE, SET TRUE"
	}
	if _, err := conn.Exec(ctx, grant); err != nil {
		return fmt.Errorf("granting role %s to the admin: %w", role, err)
	}
	return nil
}

func ensureDatabase(ctx context.Context, conn *pgx.Conn, database, owner string) error {
	db, own := pgx.Identifier{database}.Sanitize(), pgx.Identifier{owner}.Sanitize()
	var exists bool
	var admin string
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), current_user", database).Scan(&exists, &admin); err != nil {
		return fmt.Errorf("database %s: %w", database, err)
	}
	create := "ALTER DATABASE " + db + " OWNER TO " + own
	if !exists {
		create = "CREATE DATABASE " + db + " OWNER " + own
	}
	stmts := []string{
		create,
		// PUBLIC's default CONNECT was granted by the owner, and a REVOKE
		// only takes back what its issuer granted: the admin, who does not
		// inherit the owner's rights, must act as the owner.
		"SET ROLE " + own,
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		// The admin keeps CONNECT for db-admin's execute_sql.
		"GRANT CONNECT ON DATABASE " + db + " TO " + pgx.Identifier{admin}.Sanitize(),
		"RESET ROLE",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			_, _ = conn.Exec(ctx, "RESET ROLE")
			return fmt.Errorf("database %s: %s: %w", database, firstWords(s), err)
		}
	}
	return nil
}

// quoteLiteral quotes a string constant for statements that take no bind
// parameters (CREATE/ALTER ROLE … PASSWORD). An E” literal with quotes and
// backslashes doubled means the same whatever standard_conforming_strings is.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func firstWords(stmt string) string {
	f := strings.Fields(stmt)
	if len(f) > 2 {
		f = f[:2]
	}
	return strings.Join(f, " ")
}
