package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
)

func TestProvisionEndToEnd(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	body := m.mustCreate("acme-prod")
	require.Equal(t, "active", body["status"])
	require.Equal(t, "postgrest-acme-prod", body["function_name"])
	keys := body["api_keys"].([]any)
	require.Len(t, keys, 2)
	full := map[string]string{}
	for _, k := range keys {
		k := k.(map[string]any)
		full[k["type"].(string)] = k["key"].(string)
	}
	require.Regexp(t, `^sb_publishable_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$`, full["publishable"])
	require.Regexp(t, `^sb_secret_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$`, full["secret"])

	t.Run("only prefixes and hashes of keys are stored, secrets are encrypted", func(t *testing.T) {
		var dump string
		require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, `SELECT concat_ws('|',
			(SELECT string_agg(t::text, '|') FROM api_keys t), (SELECT string_agg(encode(secret, 'escape'), '|') FROM jwt_keys),
			(SELECT string_agg(encode(db_uri, 'escape'), '|') FROM postgrest_config))`).Scan(&dump))
		require.NotContains(t, dump, full["publishable"])
		require.NotContains(t, dump, full["secret"])
		require.NotContains(t, dump, "postgres://", "db_uri is encrypted")
	})

	t.Run("Kong has the consumers, keys and ACL groups", func(t *testing.T) {
		anon := m.kong.Consumer("acme-prod--anon")
		require.NotNil(t, anon)
		require.Equal(t, []string{full["publishable"]}, anon.Keys)
		require.Equal(t, []string{"anon"}, anon.ACLs)
		svc := m.kong.Consumer("acme-prod--service_role")
		require.Equal(t, []string{full["secret"]}, svc.Keys)
		require.Equal(t, []string{"admin"}, svc.ACLs)
	})

	t.Run("the Lambda and its URL exist", func(t *testing.T) {
		fn, err := m.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("postgrest-acme-prod")})
		require.NoError(t, err)
		c := fn.Configuration
		require.Equal(t, int32(512), *c.MemorySize)
		require.Equal(t, int32(30), *c.Timeout)
		require.Equal(t, env.tenantRoleARN, *c.Role)
		require.Equal(t, map[string]string{"PROJECT_ID": "acme-prod", "CONFIG_SOURCE": "service",
			"CONFIG_SERVICE_URL": "http://tenant-manager.kong.local:8080", "STS_ENDPOINT": env.motoURL}, c.Environment.Variables)
		require.Equal(t, "acme-prod", fn.Tags["project"])
		u, err := m.lambda.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("postgrest-acme-prod")})
		require.NoError(t, err)
		require.Equal(t, "AWS_IAM", string(u.AuthType))
		require.Equal(t, *u.FunctionUrl, body["function_url"])
	})

	t.Run("the function's own identity gets a working database URI", func(t *testing.T) {
		status, cfg := m.do("GET", "/project/acme-prod/postgrest-config", "", "", "X-Caller-Identity", identity(t, env.tenantRoleARN, "postgrest-acme-prod", time.Now()))
		require.Equal(t, http.StatusOK, status, cfg)
		require.Equal(t, "public", cfg["db_schemas"])
		require.Equal(t, "anon", cfg["db_anon_role"])
		require.Equal(t, false, cfg["db_use_legacy_gucs"])
		require.JSONEq(t, fmt.Sprintf(`{"keys":[{"kty":"oct","alg":"HS256","kid":%q,"k":%q}]}`, m.gatewayConfig("acme-prod").JWTKid,
			base64.RawURLEncoding.EncodeToString([]byte(m.gatewayConfig("acme-prod").JWTSecret))), cfg["jwt_secret"].(string), "a JWKS with the current key")
		conn, err := pgx.Connect(ctx, cfg["db_uri"].(string))
		require.NoError(t, err)
		defer conn.Close(ctx)
		var user, db string
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &db))
		require.Equal(t, "acme-prod_authenticator", user)
		require.Equal(t, "supabase_acme_prod", db)
		// PostgREST's per-request role switch works.
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		var role string
		require.NoError(t, tx.QueryRow(ctx, "SELECT set_config('role', 'anon', true), set_config('request.jwt.claims', '{\"role\":\"anon\"}', true)").Scan(&role, new(string)))
		require.NoError(t, tx.QueryRow(ctx, "SELECT auth.role()").Scan(&role))
		require.Equal(t, "anon", role)
		require.NoError(t, tx.Rollback(ctx))
	})

	t.Run("the gateway's identity reads /config", func(t *testing.T) {
		status, cfg := m.do("GET", "/project/acme-prod/config", "", "", "X-Caller-Identity", identity(t, env.gatewayRoleARN, "ecs-task-1234", time.Now()))
		require.Equal(t, http.StatusOK, status, cfg)
		require.Equal(t, body["function_url"], cfg["function_url"])
		require.Equal(t, "acme-prod", cfg["project_id"])
		require.Len(t, cfg["jwt_secret"], 43)
	})

	t.Run("get and list", func(t *testing.T) {
		status, p := m.do("GET", "/project/acme-prod", adminToken, "")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "active", p["status"])
		status, list := m.do("GET", "/projects", adminToken, "")
		require.Equal(t, http.StatusOK, status)
		require.Len(t, list["projects"], 1)
	})
}

func TestCallerIdentityRules(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	for _, id := range []string{"tenant-aa", "tenant-bb"} {
		status, body := m.create(id)
		require.Equal(t, http.StatusCreated, status, body)
	}
	now := time.Now()
	for _, tc := range []struct {
		name, path, header string
		want               int
	}{
		{"unsigned", "/project/tenant-aa/postgrest-config", "", 401},
		{"garbage", "/project/tenant-aa/postgrest-config", "bm90IGpzb24=", 401},
		{"own function", "/project/tenant-aa/postgrest-config", identity(t, env.tenantRoleARN, "postgrest-tenant-aa", now), 200},
		{"A's function asks for B", "/project/tenant-bb/postgrest-config", identity(t, env.tenantRoleARN, "postgrest-tenant-aa", now), 403},
		{"tenant role reads /config", "/project/tenant-aa/config", identity(t, env.tenantRoleARN, "postgrest-tenant-aa", now), 403},
		{"gateway reads /config", "/project/tenant-bb/config", identity(t, env.gatewayRoleARN, "kong", now), 200},
		{"gateway reads postgrest-config", "/project/tenant-aa/postgrest-config", identity(t, env.gatewayRoleARN, "kong", now), 403},
		{"stale X-Amz-Date", "/project/tenant-aa/config", identity(t, env.gatewayRoleARN, "kong", now.Add(-10*time.Minute)), 401},
		{"future X-Amz-Date", "/project/tenant-aa/config", identity(t, env.gatewayRoleARN, "kong", now.Add(10*time.Minute)), 401},
		{"admin token is not an identity", "/project/tenant-aa/config", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.header != "" {
				headers = []string{"X-Caller-Identity", tc.header}
			}
			token := ""
			if tc.name == "admin token is not an identity" {
				token = adminToken
			}
			status, body := m.do("GET", tc.path, token, "", headers...)
			require.Equal(t, tc.want, status, body)
			if status != 200 {
				require.NotEmpty(t, body["code"])
				require.NotContains(t, fmt.Sprint(body), "jwt_secret")
			}
		})
	}
	t.Run("the audience must be signed and equal", func(t *testing.T) {
		status, _ := m.do("GET", "/project/tenant-aa/config", "", "", "X-Caller-Identity", tamper(t, identity(t, env.gatewayRoleARN, "kong", now), "X-Tenant-Manager-Audience", "other-service"))
		require.Equal(t, 401, status)
	})
	t.Run("a caller-supplied endpoint is never used", func(t *testing.T) {
		status, _ := m.do("GET", "/project/tenant-aa/config", "", "", "X-Caller-Identity", tamper(t, identity(t, env.gatewayRoleARN, "kong", now), "Host", "169.254.169.254"))
		require.Equal(t, 200, status, "extra headers are ignored: the request goes to STS_ENDPOINT")
	})
}

func TestDuplicateAndConcurrentSameID(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("dup-proj")
	status, body := m.create("dup-proj")
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "conflict", body["code"])

	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i], _ = m.create("same-id")
		}(i)
	}
	wg.Wait()
	sort.Ints(statuses)
	require.Equal(t, []int{201, 409, 409, 409, 409, 409, 409, 409, 409, 409}, statuses)
}

func TestConcurrentCreatesBalanceAcrossWorkers(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i], _ = m.create(fmt.Sprintf("bulk-%02d", i))
		}(i)
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusCreated, s, "bulk-%02d", i)
	}
	ws, err := m.app.Service.Store.Workers(context.Background())
	require.NoError(t, err)
	require.Len(t, ws, 2)
	require.Equal(t, 25, ws[0].Tenants)
	require.Equal(t, 25, ws[1].Tenants)
	for i := range statuses {
		status, _ := m.do("DELETE", fmt.Sprintf("/project/bulk-%02d", i), adminToken, "")
		require.Equal(t, http.StatusNoContent, status)
	}
}

// failingFunctions makes the Lambda step fail after the real call.
type failingFunctions struct{ *lambdas.Client }

func (f failingFunctions) Create(ctx context.Context, id string) (lambdas.Function, error) {
	fn, err := f.Client.Create(ctx, id)
	if err == nil {
		err = fmt.Errorf("injected failure after creating %s", fn.Name)
	}
	return fn, err
}

func TestFaultInjectionLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []option
		inject func(m *tm)
		heal   func(m *tm)
		step   string
	}{
		{"kong down", nil, func(m *tm) { m.kong.Down = true }, func(m *tm) { m.kong.Down = false }, "kong"},
		{"kong fails on the second consumer", nil, func(m *tm) { m.kong.FailPaths = []string{"POST /consumers/fault-test--service_role/acls"} }, func(m *tm) { m.kong.FailPaths = nil }, "kong"},
		{"lambda create fails", []option{func(c *config.Config) { c.TenantLambdaRoleARN = "arn:aws:iam::123456789012:role/missing-role" }}, nil, nil, "lambda"},
		{"lambda fails after creating", nil, func(m *tm) {
			m.app.Service.Functions = failingFunctions{m.app.Service.Functions.(*lambdas.Client)}
		}, func(m *tm) { m.app.Service.Functions = m.app.Service.Functions.(failingFunctions).Client }, "lambda"},
		{"platform database error", nil, func(m *tm) {
			_, err := m.app.Service.Store.Pool.Exec(context.Background(), `CREATE FUNCTION fail_keys() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'injected failure'; END $$;
				CREATE TRIGGER fail_keys BEFORE INSERT ON api_keys FOR EACH ROW EXECUTE FUNCTION fail_keys()`)
			require.NoError(m.t, err)
		}, func(m *tm) {
			_, err := m.app.Service.Store.Pool.Exec(context.Background(), "DROP TRIGGER fail_keys ON api_keys")
			require.NoError(m.t, err)
		}, "kong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTM(t, tc.opts...)
			if tc.inject != nil {
				tc.inject(m)
			}
			status, body := m.create("fault-test")
			require.Equal(t, http.StatusBadGateway, status, body)
			require.Equal(t, tc.step, body["step"])
			require.Contains(t, body["error"], "undone")
			require.Empty(t, m.leftovers("fault-test"))
			if tc.heal == nil {
				return
			}
			tc.heal(m)
			status, body = m.create("fault-test")
			require.Equal(t, http.StatusCreated, status, body)
			status, _ = m.do("DELETE", "/project/fault-test", adminToken, "")
			require.Equal(t, http.StatusNoContent, status)
			require.Empty(t, m.leftovers("fault-test"))
		})
	}
	t.Run("worker unreachable", func(t *testing.T) {
		m := newTM(t, func(c *config.Config) {
			c.Workers = c.Workers[:1]
		})
		// Point the only worker at a closed port after start.
		real := m.app.Service.Workers["worker-1"]
		m.app.Service.Workers["worker-1"] = unreachable{}
		status, body := m.create("fault-test")
		require.Equal(t, http.StatusBadGateway, status)
		require.Equal(t, "database", body["step"])
		require.Empty(t, m.leftovers("fault-test"))
		m.app.Service.Workers["worker-1"] = real
		status, body = m.create("fault-test")
		require.Equal(t, http.StatusCreated, status, body)
	})
}

// unreachable is a worker whose instance does not answer.
type unreachable struct{}

func (unreachable) Provision(ctx context.Context, id, pw string) error {
	_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://x:y@127.0.0.1:%d/postgres?connect_timeout=2", freePort()))
	return err
}
func (unreachable) Deprovision(ctx context.Context, id string) error { return nil }

func TestBadInput(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	long := strings.Repeat("a", 41)
	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
		code                            string
	}{
		{"too short", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"ab"}`, 400, "invalid_project_id"},
		{"too long", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"` + long + `"}`, 400, "invalid_project_id"},
		{"upper case", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"Acme"}`, 400, "invalid_project_id"},
		{"double dash", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acme--prod"}`, 400, "invalid_project_id"},
		{"underscore", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acme_prod"}`, 400, "invalid_project_id"},
		{"quote", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acme\"prod"}`, 400, "invalid_project_id"},
		{"semicolon", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acme;drop"}`, 400, "invalid_project_id"},
		{"unicode", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acmé-prod"}`, 400, "invalid_project_id"},
		{"trailing dash", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"acme-"}`, 400, "invalid_project_id"},
		{"reserved", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"studio"}`, 400, "invalid_project_id"},
		{"missing id", "POST", "/project/create-pgrest-lambda", adminToken, `{}`, 400, "invalid_project_id"},
		{"malformed JSON", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":`, 400, "invalid_body"},
		{"unknown field", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"badin-prod","plan":"pro"}`, 400, "invalid_body"},
		{"two objects", "POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"badin-prod"}{}`, 400, "invalid_body"},
		{"empty body", "POST", "/project/create-pgrest-lambda", adminToken, ``, 400, "invalid_body"},
		{"no token", "POST", "/project/create-pgrest-lambda", "", `{"projectId":"badin-prod"}`, 401, "unauthorized"},
		{"wrong token", "GET", "/projects", "not-the-token", ``, 401, "unauthorized"},
		{"bad id in path", "GET", "/project/Bad_ID", adminToken, ``, 400, "invalid_project_id"},
		{"unknown project", "GET", "/project/no-such-project", adminToken, ``, 404, "not_found"},
		{"bad key type", "POST", "/project/exists-ok/api-keys", adminToken, `{"name":"ci","type":"admin"}`, 400, "invalid_key_type"},
		{"bad key id", "DELETE", "/project/exists-ok/api-keys/12345", adminToken, ``, 400, "invalid_key_id"},
		{"key with bad checksum", "DELETE", "/project/exists-ok/api-keys/sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_BBBBBBBB", adminToken, ``, 400, "invalid_api_key"},
		{"unknown key", "DELETE", "/project/exists-ok/api-keys/00000000-0000-4000-8000-000000000000", adminToken, ``, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.path, "exists-ok") {
				if s, _ := m.do("GET", "/project/exists-ok", adminToken, ""); s == 404 {
					s, b := m.create("exists-ok")
					require.Equal(t, 201, s, b)
				}
			}
			status, body := m.do(tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.want, status, body)
			require.Equal(t, tc.code, body["code"], body)
			require.NotEmpty(t, body["error"])
		})
	}
	require.Empty(t, m.leftovers("badin-prod"), "no bad request left anything behind")
}

func TestAPIKeysAndRotation(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("keys-proj")

	status, k := m.do("POST", "/project/keys-proj/api-keys", adminToken, `{"name":"mobile app","type":"publishable"}`)
	require.Equal(t, http.StatusCreated, status, k)
	newKey := k["key"].(string)
	require.Len(t, m.kong.Consumer("keys-proj--anon").Keys, 2, "both publishable keys work during a rotation")

	status, list := m.do("GET", "/project/keys-proj/api-keys", adminToken, "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["api_keys"], 3)
	require.NotContains(t, fmt.Sprint(list), newKey, "listings never show full keys")

	status, _ = m.do("DELETE", "/project/keys-proj/api-keys/"+newKey, adminToken, "")
	require.Equal(t, http.StatusNoContent, status)
	require.Len(t, m.kong.Consumer("keys-proj--anon").Keys, 1)
	status, _ = m.do("DELETE", "/project/keys-proj/api-keys/"+k["id"].(string), adminToken, "")
	require.Equal(t, http.StatusNoContent, status, "revoking again is fine")

	gw := func() string {
		_, c := m.do("GET", "/project/keys-proj/config", "", "", "X-Caller-Identity", identity(t, env.gatewayRoleARN, "kong", time.Now()))
		return c["jwt_secret"].(string)
	}
	before := gw()
	rc := goredis.NewClient(&goredis.Options{Addr: env.redisAddr})
	defer rc.Close()
	require.NoError(t, rc.Set(ctx, "jwt:secret:keys-proj", before, time.Minute).Err())
	require.NoError(t, rc.Set(ctx, "lambda:fn:keys-proj", "https://x", time.Minute).Err())

	status, _ = m.do("POST", "/project/keys-proj/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status)
	require.NotEqual(t, before, gw())
	n, err := rc.Exists(ctx, "jwt:secret:keys-proj", "lambda:fn:keys-proj").Result()
	require.NoError(t, err)
	require.Zero(t, n, "the gateway's cached copies are gone")
	var current, rotated int
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'current'), count(*) FILTER (WHERE status = 'rotated' AND rotated_at IS NOT NULL) FROM jwt_keys WHERE project_id = 'keys-proj'`).Scan(&current, &rotated))
	require.Equal(t, 1, current)
	require.Equal(t, 1, rotated)
	fn, err := m.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("postgrest-keys-proj")})
	require.NoError(t, err)
	require.NotEmpty(t, fn.Environment.Variables["CONFIG_GENERATION"], "warm Lambda instances are recycled")
}

func TestDeprovision(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("short-lived")
	require.NotEmpty(t, m.leftovers("short-lived"))
	status, _ := m.do("DELETE", "/project/short-lived", adminToken, "")
	require.Equal(t, http.StatusNoContent, status)
	require.Empty(t, m.leftovers("short-lived"))
	status, _ = m.do("DELETE", "/project/short-lived", adminToken, "")
	require.Equal(t, http.StatusNotFound, status)
	status, _ = m.create("short-lived")
	require.Equal(t, http.StatusCreated, status, "the id is free again")
}

func TestHealth(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	status, body := m.do("GET", "/health", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
}

var rotationRuns atomic.Int64

// Worker master secrets rotate: the tenant-manager keeps working with the
// new password without a restart.
func TestWorkerSecretRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := env.pg2.Connect(ctx, "postgres", env.pg2.SuperPassword, "postgres")
	require.NoError(t, err)
	// A cleanup, not a defer: the role's cleanup below still needs it.
	t.Cleanup(func() { admin.Close(context.Background()) })
	// The role and the secret outlive the test in the shared cluster and
	// moto: under -count each run makes its own.
	run := rotationRuns.Add(1)
	role := fmt.Sprintf("rotating_admin_%d", run)
	_, err = admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN CREATEDB CREATEROLE PASSWORD 'first-password'")
	require.NoError(t, err)
	// Like an instance's one master, it administers the API roles (which
	// the other tests' admin may have created already): the cluster keeps
	// working for both.
	_, err = admin.Exec(ctx, `DO $$ DECLARE r text; BEGIN
		FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
			-- a tenant-manager of a test running alongside may be creating it
			BEGIN
				IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
					EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
				END IF;
			EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
			END;
			EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', r, '`+role+`');
			EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', r, '`+env.pg2.AdminUser+`');
		END LOOP; END $$`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role) })

	sm := secretsmanager.NewFromConfig(env.aws)
	secret, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("rotating-worker-master-%d", run)),
		SecretString: aws.String(`{"username":"` + role + `","password":"first-password"}`)})
	require.NoError(t, err)

	m := newTM(t, func(c *config.Config) {
		c.Workers = []config.Worker{{ID: "worker-2", Host: "127.0.0.1", Port: env.pg2.Port, SecretArn: *secret.ARN, SSLMode: "require", MaxTenants: 10}}
	})
	m.mustCreate("before-rotation")

	// What the rotation Lambda does: a new password, then the secret.
	_, err = admin.Exec(ctx, "ALTER ROLE "+role+" PASSWORD 'second-password'")
	require.NoError(t, err)
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: secret.ARN,
		SecretString: aws.String(`{"username":"` + role + `","password":"second-password"}`)})
	require.NoError(t, err)

	status, body := m.create("after-rotation")
	require.Equal(t, http.StatusCreated, status, body)
	for _, id := range []string{"before-rotation", "after-rotation"} {
		status, _ = m.do("DELETE", "/project/"+id, adminToken, "")
		require.Equal(t, http.StatusNoContent, status)
	}
}
