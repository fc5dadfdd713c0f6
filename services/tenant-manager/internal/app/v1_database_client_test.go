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
	m := newTM(t)
	ctx := context.Background()
	id := m.mustCreate("sqlq-client")["project_id"].(string)
	script := `
import { SupabaseManagementAPI } from 'supabase-management-js';
const api = new SupabaseManagementAPI({ accessToken: process.env.TOKEN, baseUrl: process.env.BASE_URL });
const ref = process.env.REF;
const out = {};
await api.runAQuery(ref, { query: "create table public.notes (id int primary key, owner text not null, body text); " +
  "alter table public.notes enable row level security; " +
  "create policy public_notes on public.notes for select to anon using (owner = 'public');" });
out.inserted = (await api.runAQuery(ref, { query: "insert into public.notes values ($1, $2, $3), (2, 'alice', 'secret') returning id",
  parameters: [1, "public", "hello"] })).data;
out.readOnly = (await api.readOnlyQuery(ref, { query: "select id, body from public.notes order by id" })).data;
try {
  await api.readOnlyQuery(ref, { query: "delete from public.notes" });
  out.readOnlyWrite = "allowed";
} catch (e) {
  out.readOnlyWrite = e.constructor.name;
}
await api.applyAMigration(ref, { query: "alter table public.notes add column created_at timestamptz default now()", name: "notes_created_at" });
out.history = (await api.listMigrationHistory(ref)).data;
console.log(JSON.stringify(out));
`
	raw := runNodeClient(t, script, []string{"TOKEN=" + adminToken, "BASE_URL=" + m.srv.URL, "REF=" + id})
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
	conn, err := pgx.Connect(ctx, pc.DBURI)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "SET LOCAL ROLE anon")
	require.NoError(t, err)
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
