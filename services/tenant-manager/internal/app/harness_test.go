package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/kongadmin/kongfake"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/moto"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

// One of each server per test binary: two PostgreSQL 16 clusters (the
// first also holds the platform databases), moto, Redis.
var env struct {
	pg1, pg2       *pgtest.Server
	motoURL        string
	redisAddr      string
	tenantRoleARN  string
	gatewayRoleARN string
	subnet, sg     string
	aws            aws.Config
	platformDBs    atomic.Int64
	// admin is the master's pool on pg1's "postgres" database, for the
	// platform database copies: a new backend per copy cost more
	// PostgreSQL CPU than the copy itself.
	admin *pgxpool.Pool
}

const adminToken = "test-admin-token-0123456789abcdef0123456789"

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func freePort() int {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func setup(m *testing.M) (int, error) {
	// The four servers start at once: each mostly waits on its own
	// process, and one after another they made a good part of the
	// package's wall time.
	var (
		wg             sync.WaitGroup
		pg1Err, pg2Err error
		mt             *moto.Server
		motoErr        error
	)
	wg.Add(3)
	go func() { defer wg.Done(); env.pg1, pg1Err = pgtest.Start() }()
	go func() { defer wg.Done(); env.pg2, pg2Err = pgtest.Start() }()
	go func() { defer wg.Done(); mt, motoErr = moto.Start() }()
	redisPort := freePort()
	redis := exec.Command("redis-server", "--port", fmt.Sprint(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	redisErr := redis.Start()
	wg.Wait()
	if env.pg1 != nil {
		defer env.pg1.Stop()
	}
	if env.pg2 != nil {
		defer env.pg2.Stop()
	}
	if mt != nil {
		defer mt.Stop()
	}
	if redisErr == nil {
		defer func() { redis.Process.Kill(); redis.Wait() }()
	}
	if err := errors.Join(pg1Err, pg2Err, motoErr); err != nil {
		return 0, err
	}
	if redisErr != nil {
		return 0, fmt.Errorf("redis-server (run scripts/setup.sh): %w", redisErr)
	}
	env.motoURL = mt.URL
	env.redisAddr = fmt.Sprintf("127.0.0.1:%d", redisPort)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", env.redisAddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return 0, errors.New("redis-server did not start")
		}
	}

	if err := migratePlatformTemplate(); err != nil {
		return 0, err
	}
	admin, err := pgxpool.New(context.Background(), env.pg1.URL(env.pg1.AdminUser, env.pg1.AdminPassword, "postgres")+"&pool_max_conns=2")
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	env.admin = admin

	env.aws = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), BaseEndpoint: aws.String(env.motoURL)}
	ctx := context.Background()
	im := iam.NewFromConfig(env.aws)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`
	for name, dst := range map[string]*string{"tenant-lambda-role": &env.tenantRoleARN, "kong-task-role": &env.gatewayRoleARN} {
		out, err := im.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			return 0, err
		}
		*dst = *out.Role.Arn
	}
	ec := ec2.NewFromConfig(env.aws)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return 0, err
	}
	sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		return 0, err
	}
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("lambda"), Description: aws.String("lambda"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		return 0, err
	}
	env.subnet, env.sg = *sn.Subnet.SubnetId, *sg.GroupId
	return m.Run(), nil
}

// platformTemplate is a platform database with every migration applied;
// each tenant-manager's own database is copied from it, so the migrations
// run once per test binary rather than once per test (New still runs them
// and finds nothing to apply). Each backend and each DDL statement costs
// PostgreSQL CPU, the bottleneck once tests run in parallel.
const platformTemplate = "platform_template"

func migratePlatformTemplate() error {
	ctx := context.Background()
	conn, err := env.pg1.Connect(ctx, env.pg1.AdminUser, env.pg1.AdminPassword, "postgres")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+platformTemplate)
	conn.Close(ctx)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, env.pg1.URL(env.pg1.AdminUser, env.pg1.AdminPassword, platformTemplate))
	if err != nil {
		return err
	}
	// Closed before any copy: a template must have no sessions.
	defer pool.Close()
	return store.Migrate(ctx, pool)
}

// newPlatformDB copies the migrated platform database for one test.
func newPlatformDB(t testing.TB) string {
	t.Helper()
	dbName := fmt.Sprintf("platform_%d", env.platformDBs.Add(1))
	// FILE_COPY: the template is small and the cluster throwaway; WAL_LOG
	// would write every page of the copy to the WAL.
	_, err := env.admin.Exec(context.Background(), "CREATE DATABASE "+dbName+" TEMPLATE "+platformTemplate+" STRATEGY FILE_COPY")
	require.NoError(t, err)
	return dbName
}

// tm is one tenant-manager under test with its own platform database and
// Kong fake.
type tm struct {
	t      testing.TB
	app    *App
	srv    *httptest.Server // public listener
	isrv   *httptest.Server // internal listener (configuration endpoints)
	kong   *kongfake.Kong
	cfg    *config.Config
	lambda *lambda.Client
}

type option func(*config.Config)

// withEnv gives this tenant-manager a variable it reads outside
// config.Load (JWT rotation, alarms, tenant guards). t.Setenv would
// reach every test running in parallel, and Go refuses it in them.
func withEnv(name, value string) option {
	return func(c *config.Config) {
		c.Env = envWith(c.Env, name, value)
	}
}

func envWith(getenv func(string) string, name, value string) func(string) string {
	return func(k string) string {
		if k == name {
			return value
		}
		return getenv(k)
	}
}

// seams guards the package-level knobs some tests turn while they start a
// tenant-manager (controlSyncInterval): such a test holds it for writing,
// every other start for reading, so the knob reaches only its own.
var seams sync.RWMutex

func newTM(t testing.TB, opts ...option) *tm {
	t.Helper()
	return newTMWithAWS(t, env.aws, opts...)
}

// newTMWithAWS is newTM with the tenant-manager's own AWS configuration
// (env.aws is shared by the tests running in parallel).
func newTMWithAWS(t testing.TB, awsCfg aws.Config, opts ...option) *tm {
	t.Helper()
	seams.RLock()
	defer seams.RUnlock()
	return newTMLockedAWS(t, awsCfg, opts...)
}

// newTMLocked is newTM for a caller that holds seams.
func newTMLocked(t testing.TB, opts ...option) *tm {
	t.Helper()
	return newTMLockedAWS(t, env.aws, opts...)
}

func newTMLockedAWS(t testing.TB, awsCfg aws.Config, opts ...option) *tm {
	t.Helper()
	ctx := context.Background()
	dbName := newPlatformDB(t)
	kong := kongfake.New()
	workers := fmt.Sprintf(`[{"id":"worker-1","host":"127.0.0.1","port":%d,"user":%q,"password":%q,"sslmode":"require","maxTenants":100},
		{"id":"worker-2","host":"127.0.0.1","port":%d,"user":%q,"password":%q,"sslmode":"require","maxTenants":100}]`,
		env.pg1.Port, env.pg1.AdminUser, env.pg1.AdminPassword, env.pg2.Port, env.pg2.AdminUser, env.pg2.AdminPassword)
	vars := map[string]string{
		"PLATFORM_DATABASE_URL":            env.pg1.URL(env.pg1.AdminUser, env.pg1.AdminPassword, dbName),
		"WORKERS":                          workers,
		"KONG_ADMIN_URL":                   kong.Server.URL,
		"REDIS_URL":                        "redis://" + env.redisAddr + "/0",
		"ADMIN_TOKEN":                      adminToken,
		"ENCRYPTION_KEY":                   base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		"POSTGREST_IMAGE_URI":              "123456789012.dkr.ecr.us-east-1.amazonaws.com/postgrest-lambda:test",
		"TENANT_LAMBDA_ROLE_ARN":           env.tenantRoleARN,
		"TENANT_LAMBDA_SUBNET_IDS":         env.subnet,
		"TENANT_LAMBDA_SECURITY_GROUP_IDS": env.sg,
		"TENANT_LAMBDA_MEMORY_MIB":         "512",
		"TENANT_LAMBDA_TIMEOUT_SECONDS":    "30",
		"CONFIG_SERVICE_URL":               "http://tenant-manager.kong.local:8080",
		"GATEWAY_ROLE_ARN":                 env.gatewayRoleARN,
		"STS_ENDPOINT":                     env.motoURL,
		"AWS_REGION":                       "us-east-1",
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	require.NoError(t, err)
	for _, o := range opts {
		o(cfg)
	}
	a, err := New(ctx, cfg, awsCfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	// A start pass still running would meet what the test does next (its
	// projects, a fault it injects).
	a.starting.Wait()
	srv := httptest.NewServer(a.Server.PublicHandler())
	internal := httptest.NewServer(a.Server.InternalHandler())
	t.Cleanup(func() {
		// The workers, moto and Redis are shared: deprovision what this
		// tenant-manager made so tests stay independent.
		kong.Down, kong.FailPaths = false, nil
		if ps, err := a.Service.Store.ListProjects(context.Background()); err == nil {
			for _, p := range ps {
				if err := a.Service.Delete(context.Background(), p.ID); err != nil {
					t.Errorf("cleaning up %s: %v", p.ID, err)
				}
			}
		}
		srv.Close()
		internal.Close()
		a.Close()
		kong.Close()
	})
	return &tm{t: t, app: a, srv: srv, isrv: internal, kong: kong, cfg: cfg, lambda: lambda.NewFromConfig(env.aws)}
}

// do sends a request; token "" means no Authorization header.
// tamper rewrites one header inside an X-Caller-Identity value.
func tamper(t testing.TB, header, key, value string) string {
	raw, err := base64.StdEncoding.DecodeString(header)
	require.NoError(t, err)
	var p map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &p))
	p["headers"][key] = value
	b, err := json.Marshal(p)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// The configuration endpoints go to the internal listener, everything else
// to the public one; doOn picks the listener explicitly.
func (m *tm) do(method, path, token string, body string, headers ...string) (int, map[string]any) {
	m.t.Helper()
	srv := m.srv
	if strings.HasSuffix(path, "/config") || strings.HasSuffix(path, "/postgrest-config") {
		srv = m.isrv
	}
	return m.doOn(srv, method, path, token, body, headers...)
}

func (m *tm) doOn(srv *httptest.Server, method, path, token string, body string, headers ...string) (int, map[string]any) {
	m.t.Helper()
	status, _, data := m.send(srv, method, path, token, body, headers...)
	var out map[string]any
	if len(data) > 0 {
		require.NoError(m.t, json.Unmarshal(data, &out), string(data))
	}
	return status, out
}

// send is every request helper's request: token "" means no Authorization
// header, headers are name/value pairs; it returns the status, the
// Content-Type and the body.
func (m *tm) send(srv *httptest.Server, method, path, token, body string, headers ...string) (int, string, []byte) {
	m.t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(m.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(m.t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

func (m *tm) create(id string) (int, map[string]any) {
	return m.do("POST", "/project/create-pgrest-lambda", adminToken, `{"projectId":"`+id+`"}`)
}

// identity signs the X-Caller-Identity header as a session of roleARN.
func identity(t testing.TB, roleARN, session string, at time.Time) string {
	t.Helper()
	ctx := context.Background()
	out, err := sts.NewFromConfig(env.aws).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)})
	require.NoError(t, err)
	c := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	req, err := http.NewRequest("POST", env.motoURL, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Tenant-Manager-Audience", "tenant-manager")
	sum := sha256.Sum256([]byte(body))
	require.NoError(t, v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at))
	h := map[string]string{}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Tenant-Manager-Audience", "Content-Type"} {
		h[k] = req.Header.Get(k)
	}
	b, err := json.Marshal(map[string]any{"headers": h})
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// leftovers lists whatever of a project still exists anywhere.
func (m *tm) leftovers(id string) []string {
	m.t.Helper()
	ctx := context.Background()
	var out []string
	var n int
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM projects WHERE id = $1) + (SELECT count(*) FROM api_keys WHERE project_id = $1)
		+ (SELECT count(*) FROM jwt_keys WHERE project_id = $1) + (SELECT count(*) FROM postgrest_config WHERE project_id = $1)`, id).Scan(&n))
	if n > 0 {
		out = append(out, fmt.Sprintf("%d platform rows", n))
	}
	for i, pg := range []*pgtest.Server{env.pg1, env.pg2} {
		conn, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "postgres")
		require.NoError(m.t, err)
		var dbs, roles int
		require.NoError(m.t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1), (SELECT count(*) FROM pg_roles WHERE rolname LIKE $2)`,
			"supabase_"+strings.ReplaceAll(id, "-", "_"), id+"\\_%").Scan(&dbs, &roles))
		conn.Close(ctx)
		if dbs+roles > 0 {
			out = append(out, fmt.Sprintf("worker-%d: %d databases, %d roles", i+1, dbs, roles))
		}
	}
	if _, err := m.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("postgrest-" + id)}); err == nil {
		out = append(out, "lambda")
	}
	for _, role := range []string{"anon", "service_role"} {
		if m.kong.Consumer(id+"--"+role) != nil {
			out = append(out, "kong consumer "+role)
		}
	}
	return out
}
