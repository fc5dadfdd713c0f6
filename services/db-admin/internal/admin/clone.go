package admin

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CloneSuffix names the second user of a multi-user rotation: the
// rotation alternates a login's secret between <role> and <role>_clone.
const CloneSuffix = "_clone"

// ensureClone prepares <role>_clone before any rotation does, so that the
// clone always acts as the role itself: it is a member of the role, and its
// sessions start with SET ROLE <role>. Whatever a service creates while its
// secret names the clone (Kong's migrations, the tenant-manager's) is then
// owned by <role>, and the rotation that hands the secret back to <role>
// does not cut the service off from its own tables. The rotation finds the
// clone existing and only sets its password; until then it cannot log in.
func ensureClone(ctx context.Context, conn *pgx.Conn, role string) error {
	clone := role + CloneSuffix
	r, c := pgx.Identifier{role}.Sanitize(), pgx.Identifier{clone}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", clone).Scan(&exists); err != nil {
		return fmt.Errorf("role %s: %w", clone, err)
	}
	stmts := []string{"GRANT " + r + " TO " + c, "ALTER ROLE " + c + " SET role = " + quoteLiteral(role)}
	if !exists {
		stmts = append([]string{"CREATE ROLE " + c + " LOGIN"}, stmts...)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("preparing %s: %s: %w", clone, firstWords(s), err)
		}
	}
	return nil
}

// reassignCloneObjects gives <role> back what <role>_clone owns in the
// database conn is connected to: deployments made before ensureClone let
// the clone create objects of its own. REASSIGN OWNED needs the privileges
// of both roles, which the admin holds only for this statement.
func reassignCloneObjects(ctx context.Context, conn *pgx.Conn, role string, version int) error {
	clone := role + CloneSuffix
	var owned int
	err := conn.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid) + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
		     + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)
		FROM pg_roles r WHERE r.rolname = $1`, clone).Scan(&owned)
	if err == pgx.ErrNoRows || (err == nil && owned == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("objects of %s: %w", clone, err)
	}
	r, c := pgx.Identifier{role}.Sanitize(), pgx.Identifier{clone}.Sanitize()
	grant, restore := "GRANT "+r+", "+c+" TO CURRENT_USER", "REVOKE "+c+" FROM CURRENT_USER"
	if version >= 160000 {
		grant += " WITH INHERIT TRUE"
		restore = "GRANT " + r + " TO CURRENT_USER WITH INHERIT FALSE"
	}
	if _, err := conn.Exec(ctx, grant); err != nil {
		return fmt.Errorf("reassigning the objects of %s: %w", clone, err)
	}
	_, rerr := conn.Exec(ctx, "REASSIGN OWNED BY "+c+" TO "+r)
	if _, err := conn.Exec(ctx, restore); err != nil && rerr == nil {
		rerr = err
	}
	if version >= 160000 {
		if _, err := conn.Exec(ctx, "REVOKE "+c+" FROM CURRENT_USER"); err != nil && rerr == nil {
			rerr = err
		}
	}
	if rerr != nil {
		return fmt.Errorf("reassigning the objects of %s to %s: %w", clone, role, rerr)
	}
	return nil
}
