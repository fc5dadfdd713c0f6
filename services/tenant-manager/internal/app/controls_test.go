package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/loggroups"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

// functionConcurrency is a Lambda function's reserved concurrency in moto
// (nil: none).
func (m *tm) functionConcurrency(function string) *int32 {
	m.t.Helper()
	out, err := m.lambda.GetFunctionConcurrency(context.Background(), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(function)})
	require.NoError(m.t, err)
	return out.ReservedConcurrentExecutions
}

// concurrency is postgrest-{id}'s reserved concurrency in moto (nil: none).
func (m *tm) concurrency(id string) *int32 {
	m.t.Helper()
	return m.functionConcurrency(lambdas.FunctionName(id))
}

// logGroup is the function's log group's retention; ok false when it does
// not exist.
func logGroup(t testing.TB, id string) (retention int32, ok bool) {
	t.Helper()
	name := "/aws/lambda/postgrest-" + id
	out, err := cloudwatchlogs.NewFromConfig(env.aws).DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	require.NoError(t, err)
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return aws.ToInt32(g.RetentionInDays), true
		}
	}
	return 0, false
}

// workerOf is the PostgreSQL cluster holding the project's database.
func (m *tm) workerOf(id string) *pgtest.Server {
	m.t.Helper()
	var w string
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(context.Background(), "SELECT worker_id FROM projects WHERE id = $1", id).Scan(&w))
	if w == "worker-1" {
		return env.pg1
	}
	return env.pg2
}

// superuser connects to a database of the project's worker as superuser.
func (m *tm) superuser(id, database string) *pgx.Conn {
	m.t.Helper()
	pg := m.workerOf(id)
	conn, err := pg.Connect(context.Background(), "postgres", pg.SuperPassword, database)
	require.NoError(m.t, err)
	m.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// dbURI is what the project's function would connect with.
func (m *tm) dbURI(id string) string {
	m.t.Helper()
	cfg, err := m.app.Service.PostgrestConfig(context.Background(), id)
	require.NoError(m.t, err)
	return cfg.DBURI
}

type guardState struct {
	ConnLimit int
	Settings  map[string]string
}

// guards reads the connection limit from pg_roles and the API roles'
// settings inside the tenant database from pg_db_role_setting.
func (m *tm) guards(id string) guardState {
	m.t.Helper()
	ctx := context.Background()
	conn := m.superuser(id, "postgres")
	g := guardState{Settings: map[string]string{}}
	require.NoError(m.t, conn.QueryRow(ctx, "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", worker.AuthenticatorRole(id)).Scan(&g.ConnLimit))
	rows, err := conn.Query(ctx, `SELECT r.rolname, array_to_string(s.setconfig, ',') FROM pg_db_role_setting s
		JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`, worker.DatabaseName(id))
	require.NoError(m.t, err)
	for rows.Next() {
		var role, cfg string
		require.NoError(m.t, rows.Scan(&role, &cfg))
		g.Settings[role] = cfg
	}
	require.NoError(m.t, rows.Err())
	return g
}

// redisDown points the service's cache at a Redis that refuses every
// connection, until the returned restore is called or the test ends.
func (m *tm) redisDown() (restore func()) {
	orig := m.app.Service.Cache
	down := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	m.app.Service.Cache = redisCache{down}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			m.app.Service.Cache = orig
			_ = down.Close()
		})
	}
	m.t.Cleanup(restore)
	return restore
}

// guardedTM is a tenant-manager whose projects get reserved concurrency
// reserved, with project id created, and a client of its Redis.
func guardedTM(t *testing.T, reserved int, id string) (*tm, *goredis.Client) {
	t.Helper()
	m := newTM(t)
	m.app.Service.Controls.ReservedConcurrency = reserved
	m.mustCreate(id)
	return m, redisClient(t)
}

// requireUnchanged asks for action (pause or restore) on a project already
// in that state: answered 200 with changed false.
func (m *tm) requireUnchanged(t *testing.T, id, action string) {
	t.Helper()
	status, body := m.do("POST", "/project/"+id+"/"+action, adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, false, body["changed"], body)
}

func TestPauseRestoreEndToEnd(t *testing.T) {
	t.Parallel()
	m, rc := guardedTM(t, 5, "pause-me")
	ctx := context.Background()

	t.Run("create applies the guards", func(t *testing.T) {
		require.EqualValues(t, 5, aws.ToInt32(m.concurrency("pause-me")))
		g := m.guards("pause-me")
		require.Equal(t, 20, g.ConnLimit)
		require.Equal(t, map[string]string{"anon": "statement_timeout=3000", "authenticated": "statement_timeout=8000", "service_role": "statement_timeout=60000"}, g.Settings)
		retention, ok := logGroup(t, "pause-me")
		require.True(t, ok, "the log group exists")
		require.EqualValues(t, 30, retention)
		require.Equal(t, map[string]string{"paused": "0", "rps": "0", "burst": "0"}, rc.HGetAll(ctx, "project:ctl:{pause-me}").Val())
	})

	// A table with a row, made by the tenant's owner before the pause.
	owner := m.superuser("pause-me", worker.DatabaseName("pause-me"))
	_, err := owner.Exec(ctx, `SET ROLE "pause-me_owner"; CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept'); RESET ROLE`)
	require.NoError(t, err)
	// A superuser session in the database would block its drop at delete.
	require.NoError(t, owner.Close(ctx))
	uri := m.dbURI("pause-me")
	open, err := pgx.Connect(ctx, uri)
	require.NoError(t, err)
	defer open.Close(ctx)
	require.NoError(t, open.Ping(ctx))

	status, body := m.do("POST", "/v1/projects/pause-me/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "paused", body["status"])
	require.Equal(t, true, body["changed"])
	require.NotContains(t, body, "warning")

	t.Run("paused: login refused, open session ended, throttled, INACTIVE", func(t *testing.T) {
		_, err := open.Exec(ctx, "SELECT 1")
		require.Error(t, err, "the open session was terminated")
		_, err = pgx.Connect(ctx, uri)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%v", err)
		require.Equal(t, "28000", pgErr.Code, "login refused: %v", err)
		require.EqualValues(t, 0, aws.ToInt32(m.concurrency("pause-me")))
		require.NotNil(t, m.concurrency("pause-me"))
		_, p := m.do("GET", "/project/pause-me", adminToken, "")
		require.Equal(t, "paused", p["status"])
		require.Equal(t, "INACTIVE", provision.ManagementStatus(p["status"].(string)))
		_, v1 := m.do("GET", "/v1/projects/pause-me", adminToken, "")
		require.Equal(t, "INACTIVE", v1["status"], "the management API shows the pause")
		for _, h := range m.health("pause-me") {
			require.Equal(t, "UNHEALTHY", h["status"], "health shows the pause: %v", h)
			require.Contains(t, h["error"], "paused")
		}
		require.Equal(t, "1", rc.HGet(ctx, "project:ctl:{pause-me}", "paused").Val())
		cfg := m.gatewayConfig("pause-me")
		require.True(t, cfg.Paused, "the document served to the gateway says paused")
		require.EqualValues(t, 2, cfg.Version, "a pause counts the version up")
		var cached provision.GatewayConfig
		require.NoError(t, json.Unmarshal([]byte(rc.Get(ctx, provision.ConfigKey("pause-me")).Val()), &cached))
		require.True(t, cached.Paused)
		require.EqualValues(t, 2, cached.Version)
	})

	t.Run("pausing again changes nothing", func(t *testing.T) {
		m.requireUnchanged(t, "pause-me", "pause")
		require.EqualValues(t, 2, m.gatewayConfig("pause-me").Version)
	})

	t.Run("a paused project's keys cannot be rotated", func(t *testing.T) {
		status, body := m.do("POST", "/project/pause-me/jwt-secret/rotate", adminToken, "")
		require.Equal(t, http.StatusConflict, status, body)
	})

	status, body = m.do("POST", "/v1/projects/pause-me/restore", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "active", body["status"])
	require.Equal(t, true, body["changed"])

	t.Run("restored: login works, concurrency back, data intact", func(t *testing.T) {
		tx := anonSession(t, uri)
		var note string
		require.NoError(t, tx.QueryRow(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&note))
		require.Equal(t, "kept", note)
		require.EqualValues(t, 5, aws.ToInt32(m.concurrency("pause-me")))
		_, p := m.do("GET", "/project/pause-me", adminToken, "")
		require.Equal(t, "active", p["status"])
		_, v1 := m.do("GET", "/v1/projects/pause-me", adminToken, "")
		require.Equal(t, "ACTIVE_HEALTHY", v1["status"])
		for _, h := range m.health("pause-me") {
			require.Equal(t, "ACTIVE_HEALTHY", h["status"], "health after restore: %v", h)
		}
		require.Equal(t, "0", rc.HGet(ctx, "project:ctl:{pause-me}", "paused").Val())
		cfg := m.gatewayConfig("pause-me")
		require.False(t, cfg.Paused)
		require.EqualValues(t, 3, cfg.Version)
	})

	t.Run("restoring again changes nothing", func(t *testing.T) {
		m.requireUnchanged(t, "pause-me", "restore")
	})

	t.Run("a rotation after pause and restore counts on from the same version", func(t *testing.T) {
		status, body := m.do("POST", "/project/pause-me/jwt-secret/rotate", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.EqualValues(t, 4, body["version"])
		require.Equal(t, "updated", body["gateway_cache"])
		cfg := m.gatewayConfig("pause-me")
		require.EqualValues(t, 4, cfg.Version)
		require.False(t, cfg.Paused)
		var cached provision.GatewayConfig
		require.NoError(t, json.Unmarshal([]byte(rc.Get(ctx, provision.ConfigKey("pause-me")).Val()), &cached))
		require.EqualValues(t, 4, cached.Version)
		require.Equal(t, cfg.JWTKid, cached.JWTKid)
	})

	t.Run("delete removes the log group and the control hash", func(t *testing.T) {
		status, _ := m.do("POST", "/project/pause-me/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status)
		status, body := m.do("DELETE", "/project/pause-me", adminToken, "")
		require.Equal(t, http.StatusNoContent, status, body)
		_, ok := logGroup(t, "pause-me")
		require.False(t, ok, "the log group is gone")
		require.EqualValues(t, 0, rc.Exists(ctx, "project:ctl:{pause-me}").Val())
		require.Empty(t, m.leftovers("pause-me"))
	})
}

func TestPauseRestoreRefusedWhileBusy(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	body := m.mustCreate("busy-one")
	setStatus := func(s string) {
		_, err := m.app.Service.Store.Pool.Exec(ctx, "UPDATE projects SET status = $2, updated_at = now() WHERE id = $1", "busy-one", s)
		require.NoError(t, err)
	}
	for _, s := range []string{"provisioning", "deprovisioning", "pausing", "restoring"} {
		setStatus(s)
		for _, action := range []string{"pause", "restore"} {
			status, body := m.do("POST", "/v1/projects/busy-one/"+action, adminToken, "")
			require.Equal(t, http.StatusConflict, status, "%s while %s: %v", action, s, body)
			require.Equal(t, "project_busy", body["code"])
			require.Contains(t, body["error"], s)
		}
		status, body := m.do("PATCH", "/v1/projects/busy-one/platform/limits", adminToken, `{"reserved_concurrency": 3}`)
		require.Equal(t, http.StatusConflict, status, "limits while %s: %v", s, body)
	}
	setStatus("pausing")
	status, body := m.do("DELETE", "/project/busy-one", adminToken, "")
	require.Equal(t, http.StatusConflict, status, "delete while pausing: %v", body)
	require.Equal(t, "project_busy", body["code"])

	t.Run("a transition left by a process that died is taken over", func(t *testing.T) {
		_, err := m.app.Service.Store.Pool.Exec(ctx, "UPDATE projects SET status = 'pausing', updated_at = now() - interval '11 minutes' WHERE id = 'busy-one'")
		require.NoError(t, err)
		status, body := m.do("POST", "/project/busy-one/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, true, body["changed"])
	})

	t.Run("concurrent pauses: one pauses, the other is refused or finds it paused", func(t *testing.T) {
		setStatus("active")
		m.app.Service.Store.Pool.Exec(ctx, "UPDATE project_controls SET paused = false WHERE project_id = 'busy-one'")
		type result struct {
			status int
			body   map[string]any
		}
		results := make(chan result, 3)
		for range 3 {
			go func() {
				s, b := m.do("POST", "/project/busy-one/pause", adminToken, "")
				results <- result{s, b}
			}()
		}
		changed := 0
		for range 3 {
			r := <-results
			if r.status == http.StatusOK && r.body["changed"] == true {
				changed++
				continue
			}
			require.True(t, r.status == http.StatusConflict || (r.status == http.StatusOK && r.body["changed"] == false), "%d %v", r.status, r.body)
		}
		require.Equal(t, 1, changed)
	})
}

// failingLogin fails refusing logins, so a pause fails at its last step.
type failingLogin struct{ *worker.Worker }

func (f failingLogin) SetLogin(ctx context.Context, projectID string, login bool) error {
	if !login {
		return errors.New("injected failure")
	}
	return f.Worker.SetLogin(ctx, projectID, login)
}

func TestPauseFailureIsCompensated(t *testing.T) {
	t.Parallel()
	m, rc := guardedTM(t, 4, "pause-fail")
	ctx := context.Background()
	p, err := m.app.Service.Store.GetProject(ctx, "pause-fail")
	require.NoError(t, err)
	orig := m.app.Service.Workers[*p.WorkerID]
	m.app.Service.Workers[*p.WorkerID] = failingLogin{orig.(*worker.Worker)}

	status, body := m.do("POST", "/v1/projects/pause-fail/pause", adminToken, "")
	require.Equal(t, http.StatusBadGateway, status, body)
	require.Equal(t, "database", body["step"])
	m.app.Service.Workers[*p.WorkerID] = orig

	_, got := m.do("GET", "/project/pause-fail", adminToken, "")
	require.Equal(t, "active", got["status"])
	require.EqualValues(t, 4, aws.ToInt32(m.concurrency("pause-fail")), "the concurrency is back")
	require.Equal(t, "0", rc.HGet(ctx, "project:ctl:{pause-fail}", "paused").Val())
	cfg := m.gatewayConfig("pause-fail")
	require.False(t, cfg.Paused)
	require.EqualValues(t, 3, cfg.Version, "the pause and its undo each counted the version up")
	conn, err := pgx.Connect(ctx, m.dbURI("pause-fail"))
	require.NoError(t, err)
	conn.Close(ctx)

	// The project can be paused after all.
	status, body = m.do("POST", "/v1/projects/pause-fail/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
}

func TestLimits(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	rc := redisClient(t)
	m.mustCreate("limited")
	require.Nil(t, m.concurrency("limited"), "no default: no reservation")

	status, body := m.do("GET", "/v1/projects/limited/platform/limits", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Nil(t, body["rate_limit"])
	require.Nil(t, body["reserved_concurrency"])

	t.Run("bad input names the field", func(t *testing.T) {
		for in, field := range map[string]string{
			`{"rate_limit": {"rps": 0, "burst": 5}}`:        "rate_limit.rps",
			`{"rate_limit": {"rps": 5}}`:                    "rate_limit.burst",
			`{"rate_limit": {"rps": 5, "burst": 2000000}}`:  "rate_limit.burst",
			`{"rate_limit": {"rps": 1.5, "burst": 5}}`:      "rate_limit",
			`{"rate_limit": {"rps": 1, "burst": 5, "x":1}}`: "rate_limit",
			`{"rate_limit": "fast"}`:                        "rate_limit",
			`{"reserved_concurrency": 0}`:                   "reserved_concurrency",
			`{"reserved_concurrency": "3"}`:                 "reserved_concurrency",
			`{"reserved_concurrency": 100000}`:              "reserved_concurrency",
			`{"burst": 3}`:                                  "burst",
			`{}`:                                            "rate_limit",
			`[1]`:                                           "JSON object",
		} {
			status, body := m.do("PATCH", "/v1/projects/limited/platform/limits", adminToken, in)
			require.Equal(t, http.StatusBadRequest, status, "%s: %v", in, body)
			require.Contains(t, body["error"], field, in)
		}
		require.EqualValues(t, 1, m.gatewayConfig("limited").Version, "nothing changed")
	})

	status, body = m.do("PATCH", "/v1/projects/limited/platform/limits", adminToken, `{"rate_limit": {"rps": 10, "burst": 20}, "reserved_concurrency": 7}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, map[string]any{"rps": float64(10), "burst": float64(20)}, body["rate_limit"])
	require.EqualValues(t, 7, body["reserved_concurrency"])
	require.EqualValues(t, 7, aws.ToInt32(m.concurrency("limited")))
	require.Equal(t, map[string]string{"paused": "0", "rps": "10", "burst": "20"}, rc.HGetAll(ctx, "project:ctl:{limited}").Val())
	cfg := m.gatewayConfig("limited")
	require.Equal(t, &provision.RateLimit{RPS: 10, Burst: 20}, cfg.RateLimit)
	require.EqualValues(t, 2, cfg.Version)

	t.Run("a field left out stays, null goes back to the default", func(t *testing.T) {
		m.app.Service.Controls.ReservedConcurrency = 3
		status, body := m.do("PATCH", "/project/limited/limits", adminToken, `{"reserved_concurrency": null}`)
		require.Equal(t, http.StatusOK, status, body)
		require.EqualValues(t, 3, aws.ToInt32(m.concurrency("limited")), "the default")
		require.EqualValues(t, 3, body["default_reserved_concurrency"])
		require.Equal(t, map[string]any{"rps": float64(10), "burst": float64(20)}, body["rate_limit"])
		m.app.Service.Controls.ReservedConcurrency = 0
		status, body = m.do("PATCH", "/project/limited/limits", adminToken, `{"rate_limit": null, "reserved_concurrency": 7}`)
		require.Equal(t, http.StatusOK, status, body)
		status, body = m.do("PATCH", "/project/limited/limits", adminToken, `{"reserved_concurrency": null}`)
		require.Equal(t, http.StatusOK, status, body)
		require.Nil(t, m.concurrency("limited"), "no default: the reservation is removed")
		require.Equal(t, map[string]string{"paused": "0", "rps": "0", "burst": "0"}, rc.HGetAll(ctx, "project:ctl:{limited}").Val())
		require.Nil(t, m.gatewayConfig("limited").RateLimit)
	})

	t.Run("a paused project keeps 0 until it is restored", func(t *testing.T) {
		status, _ := m.do("POST", "/project/limited/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status)
		status, body := m.do("PATCH", "/project/limited/limits", adminToken, `{"reserved_concurrency": 9, "rate_limit": {"rps": 1, "burst": 1}}`)
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, true, body["paused"])
		require.EqualValues(t, 0, aws.ToInt32(m.concurrency("limited")))
		require.Equal(t, map[string]string{"paused": "1", "rps": "1", "burst": "1"}, rc.HGetAll(ctx, "project:ctl:{limited}").Val())
		status, _ = m.do("POST", "/project/limited/restore", adminToken, "")
		require.Equal(t, http.StatusOK, status)
		require.EqualValues(t, 9, aws.ToInt32(m.concurrency("limited")))
	})

	t.Run("Redis down: the change stands, with a warning", func(t *testing.T) {
		defer m.redisDown()()
		status, body := m.do("PATCH", "/project/limited/limits", adminToken, `{"reserved_concurrency": 2}`)
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body["warning"], "Redis could not be updated")
		require.EqualValues(t, 2, aws.ToInt32(m.concurrency("limited")))
		status, body = m.do("POST", "/project/limited/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body["warning"], "Redis could not be updated")
		require.True(t, m.gatewayConfig("limited").Paused)
	})
}

func TestReconcileAppliesGuardsToExistingProjects(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	rc := redisClient(t)
	for _, id := range []string{"old-active", "old-paused"} {
		status, body := m.create(id)
		require.Equal(t, http.StatusCreated, status, body)
	}
	status, body := m.do("POST", "/project/old-paused/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	// As before the guards existed: no limits, no settings, no log group
	// retention, no hash, and a paused project's login and concurrency
	// drifted back.
	for _, id := range []string{"old-active", "old-paused"} {
		conn := m.superuser(id, "postgres")
		_, err := conn.Exec(ctx, fmt.Sprintf(`ALTER ROLE %q CONNECTION LIMIT -1; ALTER ROLE %q LOGIN; ALTER ROLE anon IN DATABASE %q RESET ALL; ALTER ROLE authenticated IN DATABASE %q RESET ALL`,
			worker.AuthenticatorRole(id), worker.AuthenticatorRole(id), worker.DatabaseName(id), worker.DatabaseName(id)))
		require.NoError(t, err)
		_, err = cloudwatchlogs.NewFromConfig(env.aws).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/postgrest-" + id)})
		require.NoError(t, err)
		_, err = m.lambda.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("postgrest-" + id)})
		require.NoError(t, err)
		rc.Del(ctx, provision.ControlKey(id))
	}
	m.app.Service.Controls.ConnectionLimit = 7
	require.NoError(t, m.app.Service.ReconcileControls(ctx))

	for _, id := range []string{"old-active", "old-paused"} {
		g := m.guards(id)
		require.Equal(t, 7, g.ConnLimit, id)
		require.Equal(t, map[string]string{"anon": "statement_timeout=3000", "authenticated": "statement_timeout=8000", "service_role": "statement_timeout=60000"}, g.Settings, id)
		retention, ok := logGroup(t, id)
		require.True(t, ok, id)
		require.EqualValues(t, 30, retention)
	}
	require.Nil(t, m.concurrency("old-active"))
	require.EqualValues(t, 0, aws.ToInt32(m.concurrency("old-paused")))
	require.NotNil(t, m.concurrency("old-paused"))
	require.Equal(t, "1", rc.HGet(ctx, "project:ctl:{old-paused}", "paused").Val())
	require.Equal(t, "0", rc.HGet(ctx, "project:ctl:{old-active}", "paused").Val())
	_, err := pgx.Connect(ctx, m.dbURI("old-paused"))
	require.Error(t, err, "the paused project's login is refused again")
}

func TestLogGroupsOnFailureAndRetain(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	t.Run("a failed create removes its log group", func(t *testing.T) {
		m.kong.Down = true
		status, body := m.create("log-undo")
		m.kong.Down = false
		require.Equal(t, http.StatusBadGateway, status, body)
		_, ok := logGroup(t, "log-undo")
		require.False(t, ok)
	})
	t.Run("retain keeps it after delete", func(t *testing.T) {
		m.app.Service.LogGroups.(*loggroups.Client).Retain = true
		status, body := m.create("log-keep")
		require.Equal(t, http.StatusCreated, status, body)
		status, body = m.do("DELETE", "/project/log-keep", adminToken, "")
		require.Equal(t, http.StatusNoContent, status, body)
		_, ok := logGroup(t, "log-keep")
		require.True(t, ok, "retained")
		_, err := cloudwatchlogs.NewFromConfig(env.aws).DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/postgrest-log-keep")})
		require.NoError(t, err)
	})
}

// health is the /v1 health of a project's rest and db services.
func (m *tm) health(id string) []map[string]any {
	m.t.Helper()
	req, err := http.NewRequest("GET", m.srv.URL+"/v1/projects/"+id+"/health?services=rest,db", nil)
	require.NoError(m.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	require.Equal(m.t, http.StatusOK, resp.StatusCode)
	var out []map[string]any
	require.NoError(m.t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(m.t, out, 2)
	return out
}
