package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

// raw sends a request to the public listener and returns the body as is.
func (m *tm) raw(method, path, body string, headers ...string) (int, []byte) {
	m.t.Helper()
	status, contentType, data := m.send(m.srv, method, path, adminToken, body, headers...)
	require.Equal(m.t, "application/json", contentType, string(data))
	return status, data
}

func jsonBody(query string, extra ...string) string {
	q, _ := json.Marshal(query)
	return `{"query":` + string(q) + strings.Join(extra, "") + `}`
}

// sql runs query through POST …/database/query.
func (m *tm) sql(ref, query string, extra ...string) (int, []byte) {
	m.t.Helper()
	return m.raw("POST", "/v1/projects/"+ref+"/database/query", jsonBody(query, extra...))
}

// rows runs query and requires success.
func (m *tm) rows(ref, query string, extra ...string) []map[string]any {
	m.t.Helper()
	status, body := m.sql(ref, query, extra...)
	require.Equal(m.t, http.StatusCreated, status, string(body))
	var out []map[string]any
	require.NoError(m.t, json.Unmarshal(body, &out), string(body))
	return out
}

// sqlFails runs query and requires a 400 naming the SQLSTATE.
func (m *tm) sqlFails(ref, query, sqlstate string) string {
	m.t.Helper()
	status, body := m.sql(ref, query)
	require.Equal(m.t, http.StatusBadRequest, status, string(body))
	var e map[string]any
	require.NoError(m.t, json.Unmarshal(body, &e))
	require.Equal(m.t, "sql_error", e["code"], string(body))
	require.Contains(m.t, e["error"], "(SQLSTATE "+sqlstate+")", string(body))
	return e["error"].(string)
}

func (m *tm) mustCreate(id string) map[string]any {
	m.t.Helper()
	status, body := m.create(id)
	require.Equal(m.t, http.StatusCreated, status, body)
	return body
}

func workerServer(id string) *pgtest.Server {
	if id == "worker-2" {
		return env.pg2
	}
	return env.pg1
}

// superConn connects as the bootstrap superuser (inspection only) to a
// database of the project's worker.
func superConn(t *testing.T, workerID, database string) *pgx.Conn {
	t.Helper()
	pg := workerServer(workerID)
	c, err := pg.Connect(context.Background(), "postgres", pg.SuperPassword, database)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// ownerPassword opens the sealed owner password the SQL endpoints use.
func (m *tm) ownerPassword(id string) string {
	m.t.Helper()
	var sealed []byte
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(context.Background(), "SELECT password FROM sql_logins WHERE project_id = $1", id).Scan(&sealed))
	pw, err := m.app.Service.Box.Open(id, "sql_logins.password", sealed)
	require.NoError(m.t, err)
	return string(pw)
}

func TestV1SQLQuery(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	p := m.mustCreate("sqlq-basic")
	id := p["project_id"].(string)

	t.Run("several statements answer the last one's rows, typed as JSON", func(t *testing.T) {
		got := m.rows(id, `create table items (id int primary key, j jsonb, n numeric, ok bool, s text, tags text[], at date);
			insert into items values (1, '{"a":[1,2]}', 12.5, true, 'x', '{a,b}', '2025-01-02'), (2, null, null, false, 'y', '{}', null);
			select * from items order by id`)
		require.Equal(t, []map[string]any{
			{"id": 1.0, "j": map[string]any{"a": []any{1.0, 2.0}}, "n": 12.5, "ok": true, "s": "x", "tags": []any{"a", "b"}, "at": "2025-01-02"},
			{"id": 2.0, "j": nil, "n": nil, "ok": false, "s": "y", "tags": []any{}, "at": nil},
		}, got)
		require.Equal(t, []map[string]any{}, m.rows(id, "insert into items (id) values (3)"))
	})

	t.Run("parameters go through the extended protocol", func(t *testing.T) {
		got := m.rows(id, "select $1::int + 1 as x, $2::text as s, $3::jsonb as j, $4::bool as b, $5::text as n", `,"parameters":[41,"it's",{"k":"v"},true,null]`)
		require.Equal(t, []map[string]any{{"x": 42.0, "s": "it's", "j": map[string]any{"k": "v"}, "b": true, "n": nil}}, got)
		status, body := m.sql(id, "select $1::int; select 2", `,"parameters":[1]`)
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Contains(t, string(body), "SQLSTATE 42601", "one statement only with parameters")
	})

	t.Run("the session is the owner, and what it creates belongs to the owner", func(t *testing.T) {
		got := m.rows(id, "select session_user, current_user, (select tableowner from pg_tables where tablename = 'items') as owner")
		require.Equal(t, []map[string]any{{"session_user": "sqlq-basic_owner", "current_user": "sqlq-basic_owner", "owner": "sqlq-basic_owner"}}, got)
	})

	t.Run("nothing a request sets survives into the next one", func(t *testing.T) {
		for i := 0; i < 6; i++ { // more requests than pooled connections
			m.rows(id, "set statement_timeout = 0; set search_path = pg_catalog, public; create temp table scratch (x int); listen pgrst; select pg_advisory_lock(42); begin; insert into items (id) values (100)")
		}
		got := m.rows(id, `select current_setting('statement_timeout') as st, current_setting('search_path') as sp,
			to_regclass('pg_temp.scratch') is null as no_temp, (select count(*) from items where id = 100) as left_open,
			(select count(*) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())) as locks`)
		require.Equal(t, []map[string]any{{"st": "1min", "sp": `"$user", public`, "no_temp": true, "left_open": 0.0, "locks": 0.0}}, got)
	})

	t.Run("invalid SQL is a 400 with the server's message and SQLSTATE", func(t *testing.T) {
		msg := m.sqlFails(id, "selec 1", "42601")
		require.Contains(t, msg, `syntax error at or near "selec"`)
		m.sqlFails(id, "select * from missing_table", "42P01")
		m.sqlFails(id, "insert into items (id) values (1)", "23505")
	})
}

func TestV1SQLBadInput(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlq-input")["project_id"].(string)
	cases := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"unknown ref", "/v1/projects/nosuchproject/database/query", `{"query":"select 1"}`, 404, "not found"},
		{"invalid ref", "/v1/projects/NO_SUCH/database/query", `{"query":"select 1"}`, 400, "project id"},
		{"unknown field", "/v1/projects/" + id + "/database/query", `{"query":"select 1","quer":1}`, 400, `"quer"`},
		{"wrong type", "/v1/projects/" + id + "/database/query", `{"query":1}`, 400, `"query"`},
		{"wrong parameters type", "/v1/projects/" + id + "/database/query", `{"query":"select 1","parameters":{"a":1}}`, 400, `"parameters"`},
		{"wrong read_only type", "/v1/projects/" + id + "/database/query", `{"query":"select 1","read_only":"yes"}`, 400, `"read_only"`},
		{"missing query", "/v1/projects/" + id + "/database/query", `{}`, 400, `"query"`},
		{"empty query", "/v1/projects/" + id + "/database/query", `{"query":"  "}`, 400, `"query"`},
		{"not JSON", "/v1/projects/" + id + "/database/query", `{"query":`, 400, "JSON"},
		{"read_only on the read-only endpoint", "/v1/projects/" + id + "/database/query/read-only", `{"query":"select 1","read_only":true}`, 400, `"read_only"`},
		{"oversized body", "/v1/projects/" + id + "/database/query", jsonBody(strings.Repeat("x", 1<<20)), 413, "at most"},
		{"migration without query", "/v1/projects/" + id + "/database/migrations", `{"name":"x"}`, 400, `"query"`},
		{"migration name type", "/v1/projects/" + id + "/database/migrations", `{"query":"select 1","name":5}`, 400, `"name"`},
		{"unknown ref for migrations", "/v1/projects/nosuchproject/database/migrations", `{"query":"select 1"}`, 404, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := m.raw("POST", c.path, c.body)
			require.Equal(t, c.status, status, string(body))
			var e map[string]any
			require.NoError(t, json.Unmarshal(body, &e))
			require.Contains(t, e["error"], c.want)
			require.NotEmpty(t, e["code"])
		})
	}
	for _, path := range []string{"tables", "views", "extensions", "migrations"} {
		status, body := m.raw("GET", "/v1/projects/nosuchproject/database/"+path, "")
		require.Equal(t, http.StatusNotFound, status, string(body))
	}
	status, _ := m.do("POST", "/v1/projects/"+id+"/database/query", "", `{"query":"select 1"}`)
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestV1SQLEscapes(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	// Three projects over two workers: the first and third share one, so
	// "another tenant" is on the same cluster.
	a := m.mustCreate("sqlq-esc-a")
	m.mustCreate("sqlq-esc-b")
	c := m.mustCreate("sqlq-esc-c")
	require.Equal(t, a["worker_id"], c["worker_id"])
	id, other := "sqlq-esc-a", "sqlq-esc-c"
	workerID := a["worker_id"].(string)
	pg := workerServer(workerID)
	m.rows(id, "select 1")
	m.rows(other, "select 1")

	refused := []struct{ name, sql, sqlstate string }{
		{"SET ROLE to the master", "set role " + pg.AdminUser, "42501"},
		{"SET ROLE to another tenant's owner", `set role "` + other + `_owner"`, "42501"},
		{"SET ROLE to another tenant's authenticator", `set role "` + other + `_authenticator"`, "42501"},
		{"SET ROLE to the superuser", "set role postgres", "42501"},
		{"SET SESSION AUTHORIZATION to the master", "set session authorization " + pg.AdminUser, "42501"},
		{"SET SESSION AUTHORIZATION to another tenant", `set session authorization "` + other + `_owner"`, "42501"},
		{"CREATE ROLE", "create role escapee login password 'x'", "42501"},
		{"ALTER ROLE … BYPASSRLS on itself", `alter role "` + id + `_owner" bypassrls`, "42501"},
		{"ALTER ROLE … BYPASSRLS on anon", "alter role anon bypassrls", "42501"},
		{"ALTER ROLE … CREATEROLE on itself", `alter role "` + id + `_owner" createrole`, "42501"},
		{"GRANT the master to itself", "grant " + pg.AdminUser + ` to "` + id + `_owner"`, "42501"},
		{"GRANT service_role to itself", `grant service_role to "` + id + `_owner"`, "42501"},
		{"COPY … TO PROGRAM", "copy (select 1) to program 'id'", "42501"},
		{"COPY … FROM PROGRAM", "create table cp (x text); copy cp from program 'cat /etc/passwd'", "42501"},
		{"COPY … FROM a server file", "create table cf (x text); copy cf from '/etc/passwd'", "42501"},
		{"pg_read_file", "select pg_read_file('/etc/passwd')", "42501"},
		{"pg_read_binary_file", "select pg_read_binary_file('postgresql.conf')", "42501"},
		{"pg_ls_dir", "select pg_ls_dir('.')", "42501"},
		{"lo_import of a server file", "select lo_import('/etc/passwd')", "42501"},
		{"dblink", "create extension dblink", "42501"},
		{"postgres_fdw", "create extension postgres_fdw", "42501"},
		{"file_fdw", "create extension file_fdw", "42501"},
		{"untrusted language", "create language plperlu", "42501"},
		{"ALTER SYSTEM", "alter system set log_statement = 'none'", "42501"},
		{"superuser-only setting", "set session_preload_libraries = 'x'", "42501"},
		{"another tenant's table through its database name", `select * from "supabase_sqlq_esc_c".public.items`, "0A000"},
		{"terminate another tenant's sessions", `select pg_terminate_backend(pid) from pg_stat_activity where usename = '` + other + `_owner'`, "42501"},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			m.sqlFails(id, r.sql, r.sqlstate)
		})
	}

	t.Run("RESET ROLE and SET ROLE NONE stay the owner", func(t *testing.T) {
		got := m.rows(id, "reset role; set role none; reset session authorization; select session_user, current_user, (select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls or rolreplication from pg_roles where rolname = current_user) as powers")
		require.Equal(t, []map[string]any{{"session_user": id + "_owner", "current_user": id + "_owner", "powers": false}}, got)
		got = m.rows(id, "select count(*) as n from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = current_user")
		require.Equal(t, 0.0, got[0]["n"], "the owner is a member of no role")
	})

	t.Run("the owner login reaches no other database", func(t *testing.T) {
		pw := m.ownerPassword(id)
		own, err := pg.Connect(ctx, id+"_owner", pw, "supabase_sqlq_esc_a")
		require.NoError(t, err, "the login works on its own database")
		own.Close(ctx)
		_, err = pg.Connect(ctx, id+"_owner", pw, "supabase_sqlq_esc_c")
		require.ErrorContains(t, err, "permission denied for database")
		// The platform database, set up the way the stack does (CONNECT
		// revoked from PUBLIC); in production it is on another instance.
		var platformDB string
		require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT current_database()").Scan(&platformDB))
		if workerID == "worker-1" {
			super := superConn(t, workerID, "postgres")
			_, err := super.Exec(ctx, "REVOKE CONNECT ON DATABASE "+platformDB+" FROM PUBLIC; GRANT CONNECT ON DATABASE "+platformDB+" TO "+pg.AdminUser)
			require.NoError(t, err)
			_, err = pg.Connect(ctx, id+"_owner", pw, platformDB)
			require.ErrorContains(t, err, "permission denied for database")
		}
	})

	t.Run("a password the owner sets itself is replaced on the next request", func(t *testing.T) {
		before := m.ownerPassword(id)
		m.rows(id, `alter role "`+id+`_owner" password 'chosen-by-the-tenant'`)
		// Pooled sessions stay logged in; new ones need the password.
		m.app.Server.SQL.Close()
		require.Equal(t, []map[string]any{{"ok": 1.0}}, m.rows(id, "select 1 as ok"))
		require.NotEqual(t, before, m.ownerPassword(id))
		_, err := pg.Connect(ctx, id+"_owner", "chosen-by-the-tenant", "supabase_sqlq_esc_a")
		require.Error(t, err)
	})

	t.Run("the tenant can still be deleted with SQL sessions open", func(t *testing.T) {
		m.rows(id, "select 1")
		status, body := m.do("DELETE", "/project/"+id, adminToken, "")
		require.Equal(t, http.StatusNoContent, status, body)
		require.Empty(t, m.leftovers(id))
		status, _ = m.sql(id, "select 1")
		require.Equal(t, http.StatusNotFound, status)
	})
}

func TestV1SQLReadOnly(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlq-ro")["project_id"].(string)
	m.rows(id, `create table t (x int); insert into t values (1);
		create sequence seq;
		create function bump() returns int language plpgsql volatile as $$ begin insert into t values (99); return 1; end $$`)
	ro := func(query string, extra ...string) (int, []byte) {
		return m.raw("POST", "/v1/projects/"+id+"/database/query/read-only", jsonBody(query, extra...))
	}
	status, body := ro("select x from t where x = $1", `,"parameters":[1]`)
	require.Equal(t, http.StatusCreated, status, string(body))
	require.JSONEq(t, `[{"x":1}]`, string(body))

	for name, c := range map[string]struct{ sql, sqlstate string }{
		"DDL":                             {"create table y (x int)", "25006"},
		"INSERT":                          {"insert into t values (2)", "25006"},
		"SET TRANSACTION READ WRITE":      {"set transaction read write", "25001"},
		"COMMIT; CREATE TABLE":            {"commit; create table y (x int)", "42601"},
		"a writable CTE":                  {"with d as (delete from t returning *) select * from d", "25006"},
		"a volatile function that writes": {"select bump()", "25006"},
		"CREATE SEQUENCE":                 {"create sequence s", "25006"},
		"nextval":                         {"select nextval('seq')", "25006"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := ro(c.sql)
			require.Equal(t, http.StatusBadRequest, status, string(body))
			require.Contains(t, string(body), "SQLSTATE "+c.sqlstate)
		})
	}
	t.Run("a lone COMMIT or ROLLBACK changes nothing", func(t *testing.T) {
		for _, q := range []string{"commit", "rollback", "begin"} {
			status, body := ro(q)
			require.Equal(t, http.StatusCreated, status, string(body))
		}
	})
	t.Run("read_only on the query endpoint is the same", func(t *testing.T) {
		status, body := m.sql(id, "insert into t values (3)", `,"read_only":true`)
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Contains(t, string(body), "SQLSTATE 25006")
	})
	require.Equal(t, []map[string]any{{"n": 1.0, "y": nil}}, m.rows(id, "select count(*) as n, to_regclass('y')::text as y from t"), "nothing was written")
}

func TestV1SQLLimits(t *testing.T) {
	t.Parallel()
	m := newTM(t, func(c *config.Config) {
		c.SQL = config.SQL{StatementTimeout: 1500 * time.Millisecond, MaxRows: 10, MaxBytes: 4096}
	})
	id := m.mustCreate("sqlq-limits")["project_id"].(string)
	p := m.app.Service.Store
	var workerID string
	require.NoError(t, p.Pool.QueryRow(context.Background(), "SELECT worker_id FROM projects WHERE id = $1", id).Scan(&workerID))

	for name, q := range map[string]string{
		"server-side timeout":           "select pg_sleep(10)",
		"the SQL lifts its own timeout": "set statement_timeout = 0; select pg_sleep(10)",
		"a read-only query":             "",
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			var status int
			var body []byte
			if q == "" {
				status, body = m.raw("POST", "/v1/projects/"+id+"/database/query/read-only", jsonBody("select pg_sleep(10)"))
			} else {
				status, body = m.sql(id, q)
			}
			require.Equal(t, http.StatusRequestTimeout, status, string(body))
			require.Contains(t, string(body), "1.5s")
			require.Less(t, time.Since(start), 6*time.Second)
		})
	}
	t.Run("a timed-out statement does not keep running on the server", func(t *testing.T) {
		super := superConn(t, workerID, "postgres")
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, super.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%' AND state = 'active'", id+"_owner").Scan(&n))
			return n == 0
		}, 5*time.Second, 100*time.Millisecond)
	})
	t.Run("rows cap", func(t *testing.T) {
		require.Len(t, m.rows(id, "select generate_series(1, 10) as n"), 10)
		status, body := m.sql(id, "select generate_series(1, 11) as n")
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Contains(t, string(body), "more than 10 rows")
	})
	t.Run("bytes cap", func(t *testing.T) {
		status, body := m.sql(id, "select repeat('x', 5000) as s")
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Contains(t, string(body), "4096 bytes")
		require.Len(t, m.rows(id, "select repeat('x', 3000) as s"), 1, "the connection is usable after a capped answer")
	})
}

func TestV1Migrations(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlq-mig")["project_id"].(string)
	path := "/v1/projects/" + id + "/database/migrations"
	list := func() []map[string]any {
		status, body := m.raw("GET", path, "")
		require.Equal(t, http.StatusOK, status, string(body))
		var out []map[string]any
		require.NoError(t, json.Unmarshal(body, &out))
		return out
	}
	require.Equal(t, []map[string]any{}, list())

	status, body := m.raw("POST", path, `{"query":"create table notes (id int primary key, body text); -- a comment; still\ninsert into notes values (1, 'a;b')","name":"create_notes"}`)
	require.Equal(t, http.StatusOK, status, string(body))
	var applied map[string]any
	require.NoError(t, json.Unmarshal(body, &applied))
	require.Regexp(t, `^\d{14}$`, applied["version"])
	require.Equal(t, []map[string]any{{"version": applied["version"], "name": "create_notes"}}, list())
	got := m.rows(id, "select version, name, statements from supabase_migrations.schema_migrations")
	require.Equal(t, []any{"create table notes (id int primary key, body text)", "-- a comment; still\ninsert into notes values (1, 'a;b')"}, got[0]["statements"])

	t.Run("a second migration in the same second gets a later version", func(t *testing.T) {
		status, body := m.raw("POST", path, `{"query":"alter table notes add column at date"}`)
		require.Equal(t, http.StatusOK, status, string(body))
		ms := list()
		require.Len(t, ms, 2)
		require.Greater(t, ms[1]["version"], ms[0]["version"])
		require.Nil(t, ms[1]["name"])
	})

	t.Run("the same Idempotency-Key twice is refused", func(t *testing.T) {
		status, body := m.raw("POST", path, `{"query":"create table once (x int)"}`, "Idempotency-Key", "k-1")
		require.Equal(t, http.StatusOK, status, string(body))
		status, body = m.raw("POST", path, `{"query":"create table once (x int)"}`, "Idempotency-Key", "k-1")
		require.Equal(t, http.StatusConflict, status, string(body))
		require.Contains(t, string(body), "migration_exists")
		require.Len(t, list(), 3)
	})

	t.Run("a failed migration leaves nothing behind", func(t *testing.T) {
		status, body := m.raw("POST", path, `{"query":"create table half (x int); insert into half values (1); select 1/0","name":"broken"}`)
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Contains(t, string(body), "SQLSTATE 22012")
		require.Len(t, list(), 3)
		require.Equal(t, []map[string]any{{"t": nil}}, m.rows(id, "select to_regclass('half')::text as t"))
	})

	t.Run("transaction control is refused before anything runs", func(t *testing.T) {
		for _, q := range []string{"create table tc1 (x int); commit; create table tc2 (x int)", "begin; create table tc1 (x int)",
			"create table tc1 (x int);\n/* end */ END", "savepoint s", "rollback"} {
			status, body := m.raw("POST", path, jsonBody(q))
			require.Equal(t, http.StatusBadRequest, status, string(body))
			require.Contains(t, string(body), "transaction_control")
		}
		require.Len(t, list(), 3)
		require.Equal(t, []map[string]any{{"t": nil}}, m.rows(id, "select to_regclass('tc1')::text as t"))
		// Inside a DO block the server refuses it within the transaction.
		status, body := m.raw("POST", path, jsonBody("create table tc3 (x int); do $$ begin commit; end $$"))
		require.Equal(t, http.StatusBadRequest, status, string(body))
		require.Equal(t, []map[string]any{{"t": nil}}, m.rows(id, "select to_regclass('tc3')::text as t"))
	})

	t.Run("a version recorded already is a 409", func(t *testing.T) {
		future := time.Now().UTC().Add(time.Hour).Format("20060102150405")
		// A history ahead of the clock: the next version is one second
		// after it, never a duplicate.
		m.rows(id, "insert into supabase_migrations.schema_migrations (version) values ($1)", `,"parameters":["`+future+`"]`)
		status, body := m.raw("POST", path, `{"query":"select 1"}`)
		require.Equal(t, http.StatusOK, status, string(body))
		var mig map[string]any
		require.NoError(t, json.Unmarshal(body, &mig))
		require.Greater(t, mig["version"], future)
	})
}

func TestV1Catalog(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlq-cat")["project_id"].(string)
	m.rows(id, `create table pub (id int); alter table pub enable row level security; insert into pub select generate_series(1, 5);
		create schema app; create table app.plain (x int); create view pub_v as select * from pub; create extension pgcrypto`)
	get := func(what string) []map[string]any {
		status, body := m.raw("GET", "/v1/projects/"+id+"/database/"+what, "")
		require.Equal(t, http.StatusOK, status, string(body))
		var out []map[string]any
		require.NoError(t, json.Unmarshal(body, &out))
		return out
	}
	byName := func(rows []map[string]any, key string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range rows {
			out[fmt.Sprint(r["schema"], ".", r[key])] = r
		}
		return out
	}
	tables := byName(get("tables"), "name")
	require.Equal(t, true, tables["public.pub"]["rls_enabled"])
	require.Equal(t, false, tables["app.plain"]["rls_enabled"])
	require.Contains(t, tables["public.pub"], "live_rows_estimate")
	require.NotContains(t, tables, "pg_catalog.pg_class")
	views := byName(get("views"), "name")
	require.Contains(t, views, "public.pub_v")
	exts := map[string]map[string]any{}
	for _, e := range get("extensions") {
		exts[e["name"].(string)] = e
	}
	require.NotNil(t, exts["pgcrypto"]["installed_version"])
	require.Equal(t, "public", exts["pgcrypto"]["schema"])
	require.Nil(t, exts["dblink"]["installed_version"])
	require.Equal(t, "pg_catalog", exts["plpgsql"]["schema"])
}

// listen subscribes to PostgREST's channel in the tenant database, the way
// PostgREST's listener does.
func listen(t *testing.T, m *tm, id string) *pgx.Conn {
	t.Helper()
	var workerID string
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(context.Background(), "SELECT worker_id FROM projects WHERE id = $1", id).Scan(&workerID))
	c := superConn(t, workerID, "supabase_"+strings.ReplaceAll(id, "-", "_"))
	_, err := c.Exec(context.Background(), "LISTEN pgrst")
	require.NoError(t, err)
	return c
}

func nextNotice(c *pgx.Conn, wait time.Duration) string {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n, err := c.WaitForNotification(ctx)
	if err != nil {
		return ""
	}
	return n.Payload
}

func TestV1SchemaReload(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlq-reload")["project_id"].(string)
	l := listen(t, m, id)

	m.rows(id, "create table r (x int)")
	require.Equal(t, "reload schema", nextNotice(l, 3*time.Second), "DDL through query")
	m.rows(id, "select * from r; values (1); show search_path")
	require.Equal(t, "", nextNotice(l, 300*time.Millisecond), "plain reads do not reload")
	status, body := m.raw("POST", "/v1/projects/"+id+"/database/migrations", `{"query":"alter table r add column y int"}`)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Equal(t, "reload schema", nextNotice(l, 3*time.Second), "a migration")
	status, _ = m.raw("POST", "/v1/projects/"+id+"/database/migrations", `{"query":"alter table r add column z int; select 1/0"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "", nextNotice(l, 300*time.Millisecond), "a failed migration changes nothing to reload")
	m.rows(id, "begin; create table never (x int)")
	require.Equal(t, "", nextNotice(l, 300*time.Millisecond), "a transaction left open is rolled back")
}
