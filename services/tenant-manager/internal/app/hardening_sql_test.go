package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// errorOf decodes an error answer.
func errorOf(t *testing.T, body []byte) (code, msg string) {
	t.Helper()
	var e map[string]any
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return fmt.Sprint(e["code"]), fmt.Sprint(e["error"])
}

// A huge value is refused before it is read whole: the protocol reader's
// bound, not the JSON check after a row, stops it, and the request
// allocates far less than the value's size.
func TestSQLHugeValuesAreRefusedUnread(t *testing.T) {
	m := newTM(t, func(c *config.Config) {
		c.SQL = config.SQL{StatementTimeout: 20 * time.Second, MaxRows: 10000, MaxBytes: 64 << 10}
	})
	id := m.mustCreate("sqlh-huge")["project_id"].(string)
	m.rows(id, "select 1 as warm")

	for name, q := range map[string]string{
		"one huge text value":  "select repeat('<', 16*1024*1024) as s",
		"one huge array":       "select array_fill(1, array[8000000]) as a",
		"a huge notice":        "do $$ begin raise notice '%', repeat('n', 4*1024*1024); end $$",
		"a huge error message": "do $$ begin raise exception '%', repeat('e', 4*1024*1024); end $$",
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			status, body := m.sql(id, q)
			runtime.ReadMemStats(&after)
			require.Equal(t, http.StatusBadRequest, status, truncateForLog(string(body)))
			code, _ := errorOf(t, body)
			require.Equal(t, "result_too_large", code)
			// The server's pieces stayed under the wire bound (about
			// 1 MiB + SQL_MAX_BYTES); before the bound this was a few
			// times the value's size.
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(12<<20), "bytes allocated")
			require.Len(t, m.rows(id, "select 1 as ok"), 1, "the broken connection was not reused")
		})
	}

	t.Run("escaping cannot multiply a value that passes the wire bound", func(t *testing.T) {
		status, body := m.sql(id, "select repeat(chr(1), 60000) as s")
		require.Equal(t, http.StatusBadRequest, status, truncateForLog(string(body)))
		code, _ := errorOf(t, body)
		require.Equal(t, "result_too_large", code)
		require.Len(t, m.rows(id, "select repeat(chr(1), 10000) as s"), 1)
	})

	t.Run("listings are bounded", func(t *testing.T) {
		m.rows(id, "create table long_comment (x int); comment on table long_comment is '"+strings.Repeat("c", 100000)+"'")
		m.rows(id, `create schema if not exists supabase_migrations;
			create table if not exists supabase_migrations.schema_migrations (version text, name text);
			insert into supabase_migrations.schema_migrations select repeat('9', 5000) || i, repeat('m', 100000) from generate_series(1, 3) i`)
		status, body := m.raw("GET", "/v1/projects/"+id+"/database/tables", "")
		require.Equal(t, http.StatusOK, status, truncateForLog(string(body)))
		var tables []map[string]any
		require.NoError(t, json.Unmarshal(body, &tables))
		require.Len(t, tables, 2)
		for _, tb := range tables {
			if tb["name"] == "long_comment" {
				require.Len(t, tb["comment"], 1024)
			}
		}
		status, body = m.raw("GET", "/v1/projects/"+id+"/database/migrations", "")
		require.Equal(t, http.StatusOK, status, truncateForLog(string(body)))
		var migs []map[string]any
		require.NoError(t, json.Unmarshal(body, &migs))
		require.Len(t, migs, 3)
		require.Len(t, migs[0]["version"], 255)
		require.Len(t, migs[0]["name"], 255)
	})
}

// Parallel requests take slots: past SQL_MAX_CONCURRENT_REQUESTS they wait
// a little, then get 503 sql_busy.
func TestSQLConcurrentRequestsAreBounded(t *testing.T) {
	t.Parallel()
	m := newTM(t, func(c *config.Config) {
		c.SQL = config.SQL{StatementTimeout: 20 * time.Second, MaxRows: 100, MaxBytes: 1 << 20, MaxConcurrent: 1}
	})
	id := m.mustCreate("sqlh-slots")["project_id"].(string)
	done := make(chan int)
	go func() {
		status, _ := m.sql(id, "select pg_sleep(4)")
		done <- status
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	status, body := m.sql(id, "select 1")
	require.Equal(t, http.StatusServiceUnavailable, status, string(body))
	code, msg := errorOf(t, body)
	require.Equal(t, "sql_busy", code)
	require.Contains(t, msg, "SQL_MAX_CONCURRENT_REQUESTS")
	require.GreaterOrEqual(t, time.Since(start), 1900*time.Millisecond)
	require.Equal(t, http.StatusCreated, <-done)
	require.Len(t, m.rows(id, "select 1 as x"), 1, "the slot was given back")
}

// Whatever the tenant's SQL makes the server say is a 400 with bounded
// text, never a 500, and the log carries no tenant-chosen text.
func TestSQLServerErrorsAreTheCallers(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	logs := &syncBuffer{}
	m.app.Server.Log = slog.New(slog.NewTextHandler(logs, nil))
	id := m.mustCreate("sqlh-errors")["project_id"].(string)
	secret := "tenant-chosen-" + strings.Repeat("z", 20000)

	for name, q := range map[string][2]string{
		"a parameter the statement does not take": {`{"query":"select 1","parameters":[1]}`, "08P01"},
		"XX000 raised":                    {jsonBody("do $$ begin raise exception '" + secret + "' using errcode = 'XX000'; end $$"), "XX000"},
		"57P01 raised":                    {jsonBody("do $$ begin raise exception '" + secret + "' using errcode = '57P01'; end $$"), "57P01"},
		"58030 raised with detail":        {jsonBody("do $$ begin raise exception 'x' using errcode = '58030', detail = '" + secret + "', hint = '" + secret + "'; end $$"), "58030"},
		"08006 raised":                    {jsonBody("do $$ begin raise exception 'x' using errcode = '08006'; end $$"), "08006"},
		"the session ends itself (57P01)": {jsonBody("select pg_terminate_backend(pg_backend_pid())"), "57P01"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := m.raw("POST", "/v1/projects/"+id+"/database/query", q[0])
			require.Equal(t, http.StatusBadRequest, status, truncateForLog(string(body)))
			code, msg := errorOf(t, body)
			require.Equal(t, "sql_error", code)
			require.Contains(t, msg, "(SQLSTATE "+q[1]+")")
			require.Less(t, len(msg), 3*2048+200, "the tenant's text is cut")
			require.Len(t, m.rows(id, "select 1 as ok"), 1)
		})
	}
	t.Run("more parameters than the protocol carries", func(t *testing.T) {
		params := strings.TrimSuffix(strings.Repeat("1,", 65536), ",")
		status, body := m.raw("POST", "/v1/projects/"+id+"/database/query", `{"query":"select 1","parameters":[`+params+`]}`)
		require.Equal(t, http.StatusBadRequest, status, truncateForLog(string(body)))
		code, msg := errorOf(t, body)
		require.Equal(t, "invalid_body", code)
		require.Contains(t, msg, "65535")
	})
	require.False(t, strings.Contains(logs.String(), "tenant-chosen"), "tenant text in the log")
	require.False(t, strings.Contains(logs.String(), "level=ERROR"), "errors logged")
}

// A loop that catches the cancel and lifts its own timeout still ends at
// the request's deadline: the master terminates its backend.
func TestSQLTimeoutCannotBeEscaped(t *testing.T) {
	t.Parallel()
	m := newTM(t, func(c *config.Config) {
		c.SQL = config.SQL{StatementTimeout: 1500 * time.Millisecond, MaxRows: 100, MaxBytes: 1 << 20}
	})
	id := m.mustCreate("sqlh-escape")["project_id"].(string)
	var workerID string
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(context.Background(), "SELECT worker_id FROM projects WHERE id = $1", id).Scan(&workerID))
	loop := `SET statement_timeout=0; DO $$BEGIN LOOP BEGIN PERFORM pg_sleep(1); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END$$`
	start := time.Now()
	status, body := m.sql(id, loop)
	require.Equal(t, http.StatusRequestTimeout, status, string(body))
	require.Less(t, time.Since(start), 6*time.Second)
	super := superConn(t, workerID, "postgres")
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, super.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND state <> 'idle'", id+"_owner").Scan(&n))
		return n == 0
	}, 5*time.Second, 100*time.Millisecond, "the looping backend is gone")
	require.Len(t, m.rows(id, "select 1 as ok"), 1)
}

func TestSweepLimits(t *testing.T) {
	t.Parallel()
	c := provision.DefaultControlSettings()
	require.Equal(t, worker.SweepLimits{Owner: 90 * time.Second, Authenticator: 90 * time.Second}, sweepLimits(time.Minute, c))
	c.AuthenticatedStatementTimeout = 0
	require.Equal(t, worker.SweepLimits{Owner: 40 * time.Second}, sweepLimits(10*time.Second, c), "a role without a timeout: PostgREST's sessions are not swept")
}

// A migration must not end its transaction: a column named begin does
// not hide the COMMIT from the check, and SQL that slips one past it is
// caught by the transaction id changing.
func TestMigrationCannotHalfApply(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	id := m.mustCreate("sqlh-mig")["project_id"].(string)
	path := "/v1/projects/" + id + "/database/migrations"
	exists := func(table string) bool {
		return m.rows(id, "select to_regclass('"+table+"') is not null as e")[0]["e"] == true
	}
	for _, q := range []string{
		"create table a(begin int); commit; begin; create table b(x int); select 1/0",
		"create table a(begin int); commit; begin;",
	} {
		status, body := m.raw("POST", path, jsonBody(q))
		require.Equal(t, http.StatusBadRequest, status, string(body))
		code, _ := errorOf(t, body)
		require.Equal(t, "transaction_control", code, q)
		require.False(t, exists("a"), "nothing ran: %s", q)
		require.False(t, exists("b"))
	}
	// The splitter takes "begin atomic" at the top level of a CREATE for a
	// function body; here it is a column and its alias, so the COMMIT
	// reaches the server unseen.
	status, body := m.raw("POST", path, jsonBody("create table s(begin int); create view v as select begin atomic from s; commit; begin; create table late(x int)"))
	require.Equal(t, http.StatusBadRequest, status, string(body))
	code, _ := errorOf(t, body)
	require.Equal(t, "transaction_control", code)
	require.False(t, exists("late"), "the second transaction was rolled back")
	status, body = m.raw("GET", path, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "[]", strings.TrimSpace(string(body)), "no migration was recorded")
}

// Redis down during a pause leaves the old control hash (no TTL); once
// Redis answers the periodic comparison rewrites it.
func TestStaleControlHashIsRepaired(t *testing.T) {
	t.Parallel()
	seams.Lock()
	controlSyncInterval = time.Second
	m := newTMLocked(t)
	controlSyncInterval = 0
	seams.Unlock()
	ctx := context.Background()
	rc := redisClient(t)
	m.mustCreate("ctlsync")
	key := provision.ControlKey("ctlsync")
	require.Equal(t, "0", rc.HGet(ctx, key, "paused").Val())

	restore := m.redisDown()
	status, body := m.do("POST", "/project/ctlsync/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body["warning"], "rewritten by the tenant-manager within 60 s")
	require.Equal(t, "0", rc.HGet(ctx, key, "paused").Val(), "the write failed: the hash is stale")

	restore()
	require.Eventually(t, func() bool { return rc.HGet(ctx, key, "paused").Val() == "1" }, 5*time.Second, 100*time.Millisecond)
	// Only what differs is written: a hash left alone stays as it is.
	require.NoError(t, rc.HSet(ctx, key, "extra", "x").Err())
	require.NoError(t, rc.HDel(ctx, key, "extra").Err())
	n, err := m.app.Service.SyncControlHashes(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}
