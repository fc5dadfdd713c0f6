package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	var err error
	if pg, err = pgtest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL:", err)
		os.Exit(1)
	}
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

func newWorker(t *testing.T) *Worker {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pg.URL(pg.AdminUser, pg.AdminPassword, "postgres"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return &Worker{
		ID:   "w1",
		Pool: pool,
		Connect: func(ctx context.Context, database string) (*pgx.Conn, error) {
			return pg.Connect(ctx, pg.AdminUser, pg.AdminPassword, database)
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func code(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func TestProvisionIsolatesTenantsAndAppliesRLS(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	require.NoError(t, w.Provision(ctx, "tenant-a", "pw-a'\\x"))
	require.NoError(t, w.Provision(ctx, "tenant-b", "pw-b"))
	t.Cleanup(func() {
		_ = w.Deprovision(ctx, "tenant-a")
		_ = w.Deprovision(ctx, "tenant-b")
	})

	// Each authenticator reaches its own database only.
	a, err := pg.Connect(ctx, "tenant-a_authenticator", "pw-a'\\x", "supabase_tenant_a")
	require.NoError(t, err)
	defer a.Close(ctx)
	_, err = pg.Connect(ctx, "tenant-a_authenticator", "pw-a'\\x", "supabase_tenant_b")
	require.Equal(t, "42501", code(err), "tenant A's authenticator must not connect to B's database: %v", err)
	_, err = pg.Connect(ctx, "tenant-b_authenticator", "pw-b", "supabase_tenant_a")
	require.Equal(t, "42501", code(err))

	// The tenant defines a table with RLS, as its owner would.
	owner, err := pg.Connect(ctx, pg.AdminUser, pg.AdminPassword, "supabase_tenant_a")
	require.NoError(t, err)
	defer owner.Close(ctx)
	_, err = owner.Exec(ctx, `SET ROLE "tenant-a_owner";
		CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid, public boolean, body text);
		ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
		CREATE POLICY read_public ON public.notes FOR SELECT TO anon USING (public);
		CREATE POLICY read_own ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid());
		CREATE POLICY service_all ON public.notes TO service_role USING (true) WITH CHECK (true);
		INSERT INTO public.notes VALUES
		  (1, '11111111-1111-1111-1111-111111111111', true, 'public'),
		  (2, '11111111-1111-1111-1111-111111111111', false, 'mine'),
		  (3, '22222222-2222-2222-2222-222222222222', false, 'theirs');
		RESET ROLE`)
	require.NoError(t, err)

	// What PostgREST does per request: a transaction, the role and the
	// claims as local settings.
	visible := func(role, claims string) []int {
		tx, err := a.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", role, claims)
		require.NoError(t, err)
		rows, err := tx.Query(ctx, "SELECT id FROM public.notes ORDER BY id")
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		require.NoError(t, err)
		return ids
	}
	require.Equal(t, []int{1}, visible("anon", `{"role":"anon","ref":"tenant-a"}`))
	require.Equal(t, []int{1, 2}, visible("authenticated", `{"role":"authenticated","sub":"11111111-1111-1111-1111-111111111111"}`))
	require.Equal(t, []int{1, 2, 3}, visible("service_role", `{"role":"service_role"}`))

	var role, uid string
	tx, err := a.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)", `{"role":"authenticated","sub":"11111111-1111-1111-1111-111111111111"}`)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(ctx, "SELECT auth.role(), auth.uid()::text").Scan(&role, &uid))
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, "authenticated", role)
	require.Equal(t, "11111111-1111-1111-1111-111111111111", uid)

	// The authenticator itself (NOINHERIT) sees nothing of the tables.
	_, err = a.Exec(ctx, "SELECT * FROM public.notes")
	require.Equal(t, "42501", code(err))
}

func TestDeprovisionRemovesEverythingAndIsRepeatable(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	require.NoError(t, w.Provision(ctx, "gone-soon", "pw"))
	// An open session of the tenant (a warm Lambda) does not block it.
	open, err := pg.Connect(ctx, "gone-soon_authenticator", "pw", "supabase_gone_soon")
	require.NoError(t, err)
	defer open.Close(ctx)

	require.NoError(t, w.Deprovision(ctx, "gone-soon"))
	require.NoError(t, w.Deprovision(ctx, "gone-soon"), "deprovisioning twice is fine")
	var n int
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = 'supabase_gone_soon')
		+ (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'gone-soon%')`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, w.Provision(ctx, "gone-soon", "pw2"), "the id can be provisioned again")
	require.NoError(t, w.Deprovision(ctx, "gone-soon"))
}

func TestHalfProvisionedIsCleanedUp(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	// A role left over (e.g. a crash after the first statement) makes
	// Provision fail; Deprovision then removes what exists.
	_, err := w.Pool.Exec(ctx, `CREATE ROLE "half-done_owner" NOLOGIN`)
	require.NoError(t, err)
	require.Error(t, w.Provision(ctx, "half-done", "pw"))
	require.NoError(t, w.Deprovision(ctx, "half-done"))
	var n int
	require.NoError(t, w.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'half-done%'`).Scan(&n))
	require.Zero(t, n)
}

func TestErrorsNeverCarryThePassword(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	// The authenticator exists already: CREATE ROLE … PASSWORD fails.
	_, err := w.Pool.Exec(ctx, `CREATE ROLE "pw-test_authenticator" NOLOGIN`)
	require.NoError(t, err)
	err = w.Provision(ctx, "pw-test", "very-secret-password")
	require.Error(t, err)
	require.Contains(t, err.Error(), "PASSWORD [redacted]")
	require.NotContains(t, err.Error(), "very-secret-password")
	require.NoError(t, w.Deprovision(ctx, "pw-test"))
}
