package worker

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// leftovers counts what of a project remains on the instance.
func leftovers(t *testing.T, w *Worker, id string) int {
	t.Helper()
	var n int
	require.NoError(t, w.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1)
		+ (SELECT count(*) FROM pg_roles WHERE rolname LIKE $2)`, DatabaseName(id), id+`\_%`).Scan(&n))
	return n
}

// The owner marks its database a template: DROP DATABASE refuses
// templates, so the project would stay half-deleted.
func TestDeprovisionUndoesTemplateAndClosedDatabase(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	require.NoError(t, w.Provision(ctx, "tpl-a", "pw"))
	require.NoError(t, w.EnableOwnerLogin(ctx, "tpl-a", "pw-owner"))
	owner, err := pg.Connect(ctx, "tpl-a_owner", "pw-owner", "postgres")
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `ALTER DATABASE supabase_tpl_a IS_TEMPLATE true`)
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `ALTER DATABASE supabase_tpl_a ALLOW_CONNECTIONS false`)
	require.NoError(t, err)
	owner.Close(ctx)

	require.NoError(t, w.Deprovision(ctx, "tpl-a"))
	require.Zero(t, leftovers(t, w, "tpl-a"))
}

// Tenant B grants A's roles something (its database, a table, default
// privileges): A's roles then have dependencies in B's database and
// DROP ROLE would fail forever.
func TestDeprovisionRevokesWhatOtherTenantsGranted(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	require.NoError(t, w.Provision(ctx, "grant-a", "pw-a"))
	require.NoError(t, w.Provision(ctx, "grant-b", "pw-b"))
	require.NoError(t, w.EnableOwnerLogin(ctx, "grant-b", "pw-b-owner"))
	t.Cleanup(func() { _ = w.Deprovision(ctx, "grant-b") })
	b, err := pg.Connect(ctx, "grant-b_owner", "pw-b-owner", "supabase_grant_b")
	require.NoError(t, err)
	defer b.Close(ctx)
	_, err = b.Exec(ctx, `GRANT CONNECT ON DATABASE supabase_grant_b TO "grant-a_owner", "grant-a_authenticator";
		CREATE TABLE shared (x int);
		GRANT SELECT ON shared TO "grant-a_owner";
		GRANT INSERT ON shared TO "grant-a_authenticator";
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "grant-a_owner";
		ALTER DATABASE supabase_grant_b SET default_transaction_read_only = on`)
	require.NoError(t, err)
	// B also shuts the master out of its database.
	_, err = b.Exec(ctx, "REVOKE CONNECT, TEMPORARY ON DATABASE supabase_grant_b FROM "+pgx.Identifier{pg.AdminUser}.Sanitize())
	require.NoError(t, err)

	require.NoError(t, w.Deprovision(ctx, "grant-a"))
	require.Zero(t, leftovers(t, w, "grant-a"))
	var n int
	require.NoError(t, b.QueryRow(ctx, "SELECT count(*) FROM shared").Scan(&n), "B's table stays")
}
