package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LoginResourceType is the custom resource that gives a service its own
// login role on an instance (instead of the instance's master), so the
// login can have a multi-user rotation: the master alternates the secret
// between the role and role_clone, and the login a running task holds keeps
// working until the rotation after next.
const LoginResourceType = "Custom::DatabaseLogin"

// LoginProps are the properties of a Custom::DatabaseLogin.
type LoginProps struct {
	MasterSecretArn string `json:"MasterSecretArn"`
	LoginSecretArn  string `json:"LoginSecretArn"`
	// Role is the login role, e.g. postgres_meta.
	Role string `json:"Role"`
	// MemberOf are predefined roles granted to the login, e.g. pg_monitor.
	MemberOf []string `json:"MemberOf"`
}

// LoginPhysicalID never changes for a role, so an update is never a
// replacement and a delete never drops the role a running task uses.
func LoginPhysicalID(role string) string { return "supabase-login-" + role }

var loginRoleRe = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

// EnsureLogin creates the login role, or sets its password to what the
// secret holds while the secret names the role itself (after a rotation the
// secret names the clone, and the rotation owns both passwords). Grants of
// MemberOf that the master may not give are reported, not fatal: the login
// then works with fewer rights instead of failing the deployment.
func (a *Admin) EnsureLogin(ctx context.Context, p LoginProps, log *slog.Logger) (granted []string, err error) {
	if !loginRoleRe.MatchString(p.Role) {
		return nil, fmt.Errorf("Role %q must be 2 to 41 lower-case letters, digits or '_', starting with a letter", p.Role)
	}
	master, err := readCredentials(ctx, a.Secrets, p.MasterSecretArn, true)
	if err != nil {
		return nil, fmt.Errorf("master secret: %w", err)
	}
	login, err := readCredentials(ctx, a.Secrets, p.LoginSecretArn, false)
	if err != nil {
		return nil, fmt.Errorf("login secret: %w", err)
	}
	if login.Username != p.Role && login.Username != p.Role+"_clone" {
		return nil, fmt.Errorf("login secret %s names user %q, not %s or %s_clone", p.LoginSecretArn, login.Username, p.Role, p.Role)
	}
	conn, err := connect(ctx, master, "postgres", a.TLS)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)

	ident := pgx.Identifier{p.Role}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", p.Role).Scan(&exists); err != nil {
		return nil, fmt.Errorf("role %s: %w", p.Role, err)
	}
	setPassword := login.Username == p.Role
	switch {
	case !exists:
		// INHERIT, so the rotation's clone (GRANT role TO clone) inherits
		// the predefined roles through it.
		stmt := "CREATE ROLE " + ident + " LOGIN INHERIT"
		if setPassword {
			stmt += " PASSWORD " + quoteLiteral(login.Password)
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("creating role %s: %w", p.Role, err)
		}
	case setPassword:
		if _, err := conn.Exec(ctx, "ALTER ROLE "+ident+" LOGIN PASSWORD "+quoteLiteral(login.Password)); err != nil {
			return nil, fmt.Errorf("setting the password of role %s: %w", p.Role, err)
		}
	}
	if err := ensureClone(ctx, conn, p.Role); err != nil {
		return nil, err
	}
	for _, r := range p.MemberOf {
		if !loginRoleRe.MatchString(r) {
			return nil, fmt.Errorf("MemberOf %q is not a role name", r)
		}
		_, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{r}.Sanitize()+" TO "+ident)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "42501" || pgErr.Code == "42704") {
			// insufficient_privilege / undefined_object: this master may not
			// grant it, or the server has no such role.
			log.Warn("login role grant skipped", "role", p.Role, "member_of", r, "reason", pgErr.Message)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("granting %s to %s: %w", r, p.Role, err)
		}
		granted = append(granted, r)
	}
	log.Info("login role ready", "role", p.Role, "member_of", granted)
	return granted, nil
}
