package app

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The real client: supabase-management-js drives the SQL and migration
// endpoints, then PostgreSQL is checked directly, including what a
// PostgREST-style session as anon may see under the policy it created.
func TestV1DatabaseWithSupabaseManagementJS(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	id := m.mustCreate("sqlq-client")["project_id"].(string)
	raw := runNodeClient(t, "v1_database_client.mjs", []string{"TM_ADMIN_TOKEN=" + adminToken, "TM_BASE_URL=" + m.srv.URL, "TM_REF=" + id})
	var out struct {
		Inserted      []map[string]any `json:"inserted"`
		ReadOnly      []map[string]any `json:"readOnly"`
		ReadOnlyWrite string           `json:"readOnlyWrite"`
		History       []map[string]any `json:"history"`
	}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	require.Equal(t, []map[string]any{{"id": 1.0}, {"id": 2.0}}, out.Inserted)
	require.Equal(t, []map[string]any{{"id": 1.0, "body": "hello"}, {"id": 2.0, "body": "secret"}}, out.ReadOnly)
	require.Equal(t, "SupabaseManagementAPIError", out.ReadOnlyWrite)
	require.Len(t, out.History, 1)
	require.Equal(t, "notes_created_at", out.History[0]["name"])
	require.Regexp(t, `^\d{14}$`, out.History[0]["version"])

	// A PostgREST-style session: the authenticator login from the
	// project's PostgREST configuration, switched to anon.
	pc, err := m.app.Service.PostgrestConfig(ctx, id)
	require.NoError(t, err)
	tx := anonSession(t, pc.DBURI)
	rows, err := tx.Query(ctx, "SELECT id, body, created_at IS NOT NULL FROM public.notes ORDER BY id")
	require.NoError(t, err)
	type note struct {
		ID      int
		Body    string
		Created bool
	}
	seen, err := pgx.CollectRows(rows, pgx.RowToStructByPos[note])
	require.NoError(t, err)
	require.Equal(t, []note{{1, "hello", true}}, seen, "anon sees only the rows the policy allows, with the migrated column")

	var owner string
	require.NoError(t, tx.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'").Scan(&owner))
	require.Equal(t, id+"_owner", owner)
}

// anonSession is what PostgREST does for an anonymous request: a login as
// uri's user (the authenticator) and a transaction switched to anon. The
// transaction is rolled back and the connection closed when t ends.
func anonSession(t *testing.T, uri string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, uri)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, "SET LOCAL ROLE anon")
	require.NoError(t, err)
	return tx
}
