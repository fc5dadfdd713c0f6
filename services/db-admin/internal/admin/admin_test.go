package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/db-admin/internal/dbtest"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

var (
	pg      *pgtest.Server
	motoURL string
	sm      *secretsmanager.Client
)

// One PostgreSQL 16 server and one moto server per test binary.
func TestMain(m *testing.M) {
	dbtest.Main(m, func(p *pgtest.Server, url string) {
		pg, motoURL = p, url
		sm = secretsmanager.New(secretsmanager.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(motoURL),
			Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		})
	})
}

func putSecret(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
	require.NoError(t, err)
	return *out.ARN
}

// platform is one set of secrets for a bootstrap run.
type platform struct {
	master, kong, tm string
	kongPW, tmPW     string
	admin            *Admin
}

func newPlatform(t *testing.T, suffix string) *platform {
	t.Helper()
	p := &platform{kongPW: "kong-pw-" + suffix + "'\\x", tmPW: "tm-pw-" + suffix}
	p.master = putSecret(t, "master-"+suffix, Credentials{Username: pg.AdminUser, Password: pg.AdminPassword, Host: pg.Host, Port: pg.Port})
	p.kong = putSecret(t, "kong-"+suffix, Credentials{Username: "kong", Password: p.kongPW})
	p.tm = putSecret(t, "tm-"+suffix, Credentials{Username: "tenant_manager", Password: p.tmPW})
	p.admin = &Admin{Secrets: sm, Instances: map[string]string{"primary": p.master}}
	return p
}

func (p *platform) props() map[string]any {
	return map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:db-admin", "MasterSecretArn": p.master, "KongSecretArn": p.kong, "TenantManagerSecretArn": p.tm, "Version": "1"}
}

// cfnResponse is what the handler PUTs to CloudFormation's response URL.
type cfnResponse struct {
	Status             string
	Reason             string
	PhysicalResourceID string `json:"PhysicalResourceId"`
	Data               map[string]any
}

// invokeCustomResource sends a CloudFormation event through the Lambda
// handler and returns what it reported to the response URL.
func invokeCustomResource(t *testing.T, h *Handler, requestType string, props map[string]any) cfnResponse {
	t.Helper()
	physical := ""
	if requestType != "Create" {
		physical = PhysicalID
	}
	return invokeResource(t, h, requestType, "Custom::PlatformBootstrap", physical, props)
}

func invokeResource(t *testing.T, h *Handler, requestType, resourceType, physicalID string, props map[string]any) cfnResponse {
	t.Helper()
	got := make(chan cfnResponse, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var resp cfnResponse
		require.NoError(t, json.Unmarshal(b, &resp))
		got <- resp
	}))
	defer srv.Close()
	ev := map[string]any{
		"RequestType": requestType, "ResponseURL": srv.URL + "/response", "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/SupabaseStack/x",
		"RequestId": "req-1", "LogicalResourceId": "Resource", "ResourceType": resourceType,
		"ResourceProperties": props,
	}
	if physicalID != "" {
		ev["PhysicalResourceId"] = physicalID
	}
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	_, err = h.Invoke(context.Background(), raw)
	require.NoError(t, err)
	select {
	case r := <-got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response sent to CloudFormation")
		return cfnResponse{}
	}
}

// state is what the bootstrap owns, to compare runs.
func state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "postgres")
	require.NoError(t, err)
	defer conn.Close(ctx)
	var out string
	err = conn.QueryRow(ctx, `
		SELECT string_agg(x, E'\n' ORDER BY x) FROM (
			SELECT format('role %s super=%s login=%s createdb=%s createrole=%s inherit=%s', rolname, rolsuper, rolcanlogin, rolcreatedb, rolcreaterole, rolinherit) AS x
			FROM pg_roles WHERE rolname IN ('kong', 'tenant_manager')
			UNION ALL
			SELECT format('db %s owner=%s acl=%s', datname, pg_get_userbyid(datdba), datacl) FROM pg_database WHERE datname IN ('kong', 'supabase_platform')
			UNION ALL
			SELECT format('member %s of %s', pg_get_userbyid(member), pg_get_userbyid(roleid)) FROM pg_auth_members
			WHERE pg_get_userbyid(roleid) IN ('kong', 'tenant_manager')
		) s`).Scan(&out)
	require.NoError(t, err)
	return out
}

func reset(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	conn, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "postgres")
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range []string{"DROP DATABASE IF EXISTS kong", "DROP DATABASE IF EXISTS supabase_platform", "DROP ROLE IF EXISTS kong", "DROP ROLE IF EXISTS tenant_manager"} {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err)
	}
}

func canConnect(user, password, database string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pg.Connect(ctx, user, password, database)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func newHandler(a *Admin) *Handler {
	return &Handler{Admin: a, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestAdminIsNotSuperuser(t *testing.T) {
	ctx := context.Background()
	conn, err := pg.Connect(ctx, pg.AdminUser, pg.AdminPassword, "postgres")
	require.NoError(t, err)
	defer conn.Close(ctx)
	var super, createdb, createrole bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&super, &createdb, &createrole))
	require.False(t, super)
	require.True(t, createdb && createrole)
}

func TestBootstrap(t *testing.T) {
	reset(t)
	p := newPlatform(t, "boot")
	h := newHandler(p.admin)

	first := invokeCustomResource(t, h, "Create", p.props())
	require.Equal(t, "SUCCESS", first.Status, first.Reason)
	require.Equal(t, PhysicalID, first.PhysicalResourceID)
	after1 := state(t)
	require.Contains(t, after1, "db kong owner=kong")
	require.Contains(t, after1, "db supabase_platform owner=tenant_manager")
	require.Contains(t, after1, "role kong super=f login=t createdb=f createrole=f inherit=f")

	t.Run("running again changes nothing", func(t *testing.T) {
		again := invokeCustomResource(t, h, "Update", p.props())
		require.Equal(t, "SUCCESS", again.Status, again.Reason)
		require.Equal(t, PhysicalID, again.PhysicalResourceID, "the physical id is stable")
		require.Equal(t, after1, state(t))
	})
	t.Run("each role reaches only its database", func(t *testing.T) {
		require.NoError(t, canConnect("kong", p.kongPW, "kong"))
		require.NoError(t, canConnect("tenant_manager", p.tmPW, "supabase_platform"))
		err := canConnect("kong", p.kongPW, "supabase_platform")
		require.Equal(t, "42501", sqlState(err), "kong must not connect to supabase_platform: %v", err)
		err = canConnect("tenant_manager", p.tmPW, "kong")
		require.Equal(t, "42501", sqlState(err), "tenant_manager must not connect to kong: %v", err)
		ctx := context.Background()
		conn, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "postgres")
		require.NoError(t, err)
		_, err = conn.Exec(ctx, "DROP ROLE IF EXISTS outsider; CREATE ROLE outsider LOGIN PASSWORD 'outsider-pw'")
		conn.Close(ctx)
		require.NoError(t, err)
		for _, db := range []string{"kong", "supabase_platform"} {
			require.Equal(t, "42501", sqlState(canConnect("outsider", "outsider-pw", db)), "PUBLIC has no CONNECT on %s", db)
		}
	})
	t.Run("the tenant manager owns its database", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pg.Connect(ctx, "tenant_manager", p.tmPW, "supabase_platform")
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE SCHEMA platform; CREATE TABLE platform.t (id int)")
		require.NoError(t, err)
	})
	t.Run("a changed secret changes the password", func(t *testing.T) {
		_, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(p.kong), SecretString: aws.String(`{"username":"kong","password":"rotated-pw"}`)})
		require.NoError(t, err)
		r := invokeCustomResource(t, h, "Update", p.props())
		require.Equal(t, "SUCCESS", r.Status, r.Reason)
		require.NoError(t, canConnect("kong", "rotated-pw", "kong"))
		require.Error(t, canConnect("kong", p.kongPW, "kong"))
	})
	t.Run("delete keeps the data", func(t *testing.T) {
		r := invokeCustomResource(t, h, "Delete", p.props())
		require.Equal(t, "SUCCESS", r.Status)
		require.NoError(t, canConnect("kong", "rotated-pw", "kong"))
	})
}

func TestBootstrapFailures(t *testing.T) {
	reset(t)
	p := newPlatform(t, "fail")
	h := newHandler(p.admin)
	for _, tc := range []struct {
		name  string
		props func(map[string]any)
		want  string
	}{
		{"missing secret", func(m map[string]any) {
			m["KongSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"
		}, "kong secret: reading secret arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"},
		{"no property", func(m map[string]any) { delete(m, "TenantManagerSecretArn") }, "tenant_manager secret: no secret ARN given"},
		{"secret without password", func(m map[string]any) {
			m["KongSecretArn"] = putSecret(t, "kong-nopw", map[string]string{"username": "kong"})
		}, "has no password"},
		{"wrong master password", func(m map[string]any) {
			m["MasterSecretArn"] = putSecret(t, "master-bad", Credentials{Username: pg.AdminUser, Password: "wrong", Host: pg.Host, Port: pg.Port})
		}, "password authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := p.props()
			tc.props(props)
			r := invokeCustomResource(t, h, "Create", props)
			require.Equal(t, "FAILED", r.Status)
			require.Contains(t, r.Reason, tc.want)
			require.NotContains(t, r.Reason, p.kongPW)
			require.NotContains(t, r.Reason, pg.AdminPassword)
			require.Equal(t, PhysicalID, r.PhysicalResourceID, "a failed create still names the resource, so its delete is a no-op")
		})
	}
}

func invoke(t *testing.T, h *Handler, req string) Response {
	t.Helper()
	out, err := h.Invoke(context.Background(), json.RawMessage(req))
	require.NoError(t, err)
	return out.(Response)
}

func TestOperations(t *testing.T) {
	reset(t)
	p := newPlatform(t, "ops")
	h := newHandler(p.admin)
	require.Equal(t, "SUCCESS", invokeCustomResource(t, h, "Create", p.props()).Status)

	t.Run("list_databases", func(t *testing.T) {
		r := invoke(t, h, `{"operation": "list_databases"}`)
		require.Nil(t, r.Error)
		names := map[string]string{}
		for _, d := range r.Data.([]Database) {
			names[d.Name] = d.Owner
		}
		require.Equal(t, "kong", names["kong"])
		require.Equal(t, "tenant_manager", names["supabase_platform"])
		require.Contains(t, names, "postgres")
	})
	t.Run("execute_sql returns rows as JSON", func(t *testing.T) {
		r := invoke(t, h, `{"operation": "execute_sql", "database": "postgres", "sql": "SELECT 1 AS one, 'x'::text AS s, NULL::int AS n, now() AS ts, gen_random_uuid() AS id"}`)
		require.Nil(t, r.Error)
		res := r.Data.(*Result)
		require.Equal(t, []string{"one", "s", "n", "ts", "id"}, res.Columns)
		require.Len(t, res.Data, 1)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.Regexp(t, `"one":1,`, string(b))
		require.Regexp(t, `"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`, string(b))
		require.Equal(t, "SELECT 1", res.Command)
	})
	t.Run("execute_sql on a platform database", func(t *testing.T) {
		r := invoke(t, h, `{"operation": "execute_sql", "database": "kong", "sql": "SELECT current_database() AS db"}`)
		require.Nil(t, r.Error)
		require.Equal(t, "kong", r.Data.(*Result).Data[0]["db"])
	})
	t.Run("errors are structured", func(t *testing.T) {
		for _, tc := range []struct{ req, code, msg string }{
			{`{"operation": "execute_sql", "database": "postgres", "sql": "SELEC 1"}`, "42601", `syntax error at or near "SELEC"`},
			{`{"operation": "execute_sql", "database": "postgres", "sql": "SELECT * FROM missing_table"}`, "42P01", `relation "missing_table" does not exist`},
			{`{"operation": "execute_sql", "database": "nodb", "sql": "SELECT 1"}`, "3D000", `database "nodb" does not exist`},
			{`{"operation": "execute_sql", "database": "postgres"}`, "invalid_request", "execute_sql needs database and sql"},
			{`{"operation": "drop_everything"}`, "invalid_request", `unknown operation "drop_everything"`},
			{`{}`, "invalid_request", `missing "operation"`},
			{`{"operation": "list_databases", "extra": 1}`, "invalid_request", `unknown field "extra"`},
			{`[1,2]`, "invalid_request", "request must be"},
			{`{"operation": "list_databases", "instance": "worker-9"}`, "unknown_instance", `no instance "worker-9" (known: primary)`},
		} {
			r := invoke(t, h, tc.req)
			require.NotNil(t, r.Error, tc.req)
			require.Equal(t, tc.code, r.Error.Code, tc.req)
			require.Contains(t, r.Error.Message, tc.msg, tc.req)
		}
		r := invoke(t, h, `{"operation": "execute_sql", "database": "postgres", "sql": "SELECT 1 FROM (SELEC 1) x"}`)
		require.NotZero(t, r.Error.Position, "syntax errors carry the position")
	})
	t.Run("large results are capped", func(t *testing.T) {
		r := invoke(t, h, `{"operation": "execute_sql", "database": "postgres", "sql": "SELECT g FROM generate_series(1, 5000) g"}`)
		require.Nil(t, r.Error)
		require.Len(t, r.Data.(*Result).Data, maxRows)
		require.EqualValues(t, 5000, r.Data.(*Result).Rows)
	})
	t.Run("connections require TLS", func(t *testing.T) {
		ctx := context.Background()
		_, err := pgx.Connect(ctx, strings.Replace(pg.URL(pg.AdminUser, pg.AdminPassword, "postgres"), "sslmode=require", "sslmode=disable", 1))
		require.Error(t, err)
		require.True(t, strings.Contains(err.Error(), "no encryption") || strings.Contains(err.Error(), "rejects"), err.Error())
	})
}
