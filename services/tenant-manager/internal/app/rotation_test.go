package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// lambdaProxy sits between the tenant-manager and moto so a test can see
// and disturb the Lambda API calls of a recycle.
type lambdaProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	// onUpdate runs before an UpdateFunctionConfiguration is forwarded;
	// returning true answers it with ResourceConflictException instead.
	onUpdate func() bool
	// hold runs first with the function's name; it may block, as a Lambda
	// API that never answers.
	hold func(function string)
	// inProgress is how many more GetFunctionConfiguration answers report
	// an update in progress.
	inProgress int
	updates    int
	log        []string
}

func newLambdaProxy(t *testing.T, m *tm) *lambdaProxy {
	target, err := url.Parse(env.motoURL)
	require.NoError(t, err)
	p := &lambdaProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || !strings.HasSuffix(resp.Request.URL.Path, "/configuration") {
			return nil
		}
		p.mu.Lock()
		fake := p.inProgress > 0
		if fake {
			p.inProgress--
		}
		p.log = append(p.log, fmt.Sprintf("get(in progress=%t)", fake))
		p.mu.Unlock()
		if !fake {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return err
		}
		doc["LastUpdateStatus"] = "InProgress"
		body, _ = json.Marshal(doc)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/configuration") {
			p.mu.Lock()
			p.updates++
			hook, hold := p.onUpdate, p.hold
			p.mu.Unlock()
			if hold != nil {
				hold(path.Base(path.Dir(r.URL.Path)))
			}
			if hook != nil && hook() {
				p.mu.Lock()
				p.log = append(p.log, "update(conflict)")
				p.mu.Unlock()
				w.Header().Set("X-Amzn-ErrorType", "ResourceConflictException")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"Type":"User","message":"An update is in progress for resource"}`)
				return
			}
			p.mu.Lock()
			p.log = append(p.log, "update")
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	cfg := env.aws.Copy()
	cfg.BaseEndpoint = aws.String(p.srv.URL)
	fc := m.app.Service.Functions.(*lambdas.Client)
	direct := fc.API
	fc.API = lambda.NewFromConfig(cfg)
	fc.Settings.PollInterval = 20 * time.Millisecond
	// Runs before the proxy closes, so the harness cleans up through moto.
	t.Cleanup(func() { fc.API = direct })
	return p
}

func (p *lambdaProxy) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (m *tm) gatewayConfig(id string) provision.GatewayConfig {
	m.t.Helper()
	c, err := m.app.Service.GatewayConfig(context.Background(), id)
	require.NoError(m.t, err)
	return *c
}

// jwksOverHTTP is the jwt_secret the project's Lambda receives.
func (m *tm) jwksOverHTTP(id string) string {
	m.t.Helper()
	status, cfg := m.do("GET", "/project/"+id+"/postgrest-config", "", "", "X-Caller-Identity", identity(m.t, env.tenantRoleARN, "postgrest-"+id, time.Now()))
	require.Equal(m.t, http.StatusOK, status, cfg)
	return cfg["jwt_secret"].(string)
}

func signJWT(t testing.TB, secret, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"role": "anon", "exp": time.Now().Add(5 * time.Minute).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString([]byte(secret))
	require.NoError(t, err)
	return s
}

// verifyJWT checks a token against a JWKS the way PostgREST does with a kid:
// the key with the token's kid, nothing else.
func verifyJWT(t testing.TB, jwks, token string) error {
	t.Helper()
	var set struct {
		Keys []struct{ Kty, Kid, Alg, K string }
	}
	require.NoError(t, json.Unmarshal([]byte(jwks), &set), "jwt_secret is a JWKS")
	keys := map[string][]byte{}
	for _, k := range set.Keys {
		require.Equal(t, "oct", k.Kty)
		require.Equal(t, "HS256", k.Alg)
		b, err := base64.RawURLEncoding.DecodeString(k.K)
		require.NoError(t, err)
		keys[k.Kid] = b
	}
	_, err := jwt.Parse(token, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("no key with kid %q", kid)
	}, jwt.WithValidMethods([]string{"HS256"}))
	return err
}

type keyRow struct {
	ID, Status string
	Secret     []byte
}

// jwtState is everything the database holds about a project's JWT keys.
func (m *tm) jwtState(id string) (int64, []keyRow) {
	m.t.Helper()
	ctx := context.Background()
	var version int64
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT jwt_version FROM projects WHERE id = $1", id).Scan(&version))
	rows, err := m.app.Service.Store.Pool.Query(ctx, "SELECT id::text, status, secret FROM jwt_keys WHERE project_id = $1 ORDER BY id", id)
	require.NoError(m.t, err)
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var k keyRow
		require.NoError(m.t, rows.Scan(&k.ID, &k.Status, &k.Secret))
		out = append(out, k)
	}
	return version, out
}

func (m *tm) configGeneration(id string) string {
	m.t.Helper()
	fn, err := m.lambda.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("postgrest-" + id)})
	require.NoError(m.t, err)
	return fn.Environment.Variables["CONFIG_GENERATION"]
}

func redisClient(t *testing.T) *goredis.Client {
	rc := goredis.NewClient(&goredis.Options{Addr: env.redisAddr})
	t.Cleanup(func() { rc.Close() })
	return rc
}

// During the overlap PostgREST accepts JWTs signed with the previous and
// the new secret; the Lambda accepts the new one before the gateway can
// learn it; after the retire pass only the new one is accepted.
func TestJWTRotationOverlap(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("rot-overlap")
	old := m.gatewayConfig("rot-overlap")
	require.EqualValues(t, 1, old.Version, "a new project starts at version 1")
	require.NotEmpty(t, old.JWTKid)
	oldToken := signJWT(t, old.JWTSecret, old.JWTKid)
	require.NoError(t, verifyJWT(t, m.jwksOverHTTP("rot-overlap"), oldToken))

	m.app.Service.Rotation.Overlap = 2 * time.Second
	proxy := newLambdaProxy(t, m)
	// What a Lambda instance started by the recycle loads, and what the
	// gateway would get at that moment.
	var duringJWKS string
	var duringGateway provision.GatewayConfig
	proxy.onUpdate = func() bool {
		// Runs on the proxy's goroutine: report, do not stop the test.
		c, err := m.app.Service.PostgrestConfig(ctx, "rot-overlap")
		g, gerr := m.app.Service.GatewayConfig(ctx, "rot-overlap")
		if err != nil || gerr != nil {
			t.Errorf("reading the configuration during the recycle: %v, %v", err, gerr)
			return false
		}
		duringJWKS, duringGateway = c.JWTSecret, *g
		return false
	}

	status, res := m.do("POST", "/project/rot-overlap/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	require.Equal(t, "rotated", res["status"])
	require.Equal(t, "updated", res["gateway_cache"])
	require.EqualValues(t, 2, res["version"])
	cur := m.gatewayConfig("rot-overlap")
	require.Equal(t, res["jwt_kid"], cur.JWTKid)
	require.EqualValues(t, 2, cur.Version)
	require.NotEqual(t, old.JWTSecret, cur.JWTSecret)
	newToken := signJWT(t, cur.JWTSecret, cur.JWTKid)

	t.Run("instances started by the recycle already accept the new key, the gateway does not sign with it yet", func(t *testing.T) {
		require.NotEmpty(t, duringJWKS, "the Lambda was recycled")
		require.NoError(t, verifyJWT(t, duringJWKS, oldToken))
		require.NoError(t, verifyJWT(t, duringJWKS, newToken))
		require.Equal(t, old.JWTKid, duringGateway.JWTKid)
		require.Equal(t, old.JWTSecret, duringGateway.JWTSecret)
	})

	t.Run("within the overlap both secrets verify", func(t *testing.T) {
		jwks := m.jwksOverHTTP("rot-overlap")
		require.NoError(t, verifyJWT(t, jwks, oldToken))
		require.NoError(t, verifyJWT(t, jwks, newToken))
		require.Error(t, verifyJWT(t, jwks, signJWT(t, old.JWTSecret, cur.JWTKid)), "a kid picks its own key")
	})

	t.Run("after the overlap the retire pass recycles the Lambda and only the new secret verifies", func(t *testing.T) {
		before := m.configGeneration("rot-overlap")
		require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
		require.Equal(t, before, m.configGeneration("rot-overlap"), "nothing is retired inside the overlap")

		time.Sleep(2100 * time.Millisecond)
		jwks := m.jwksOverHTTP("rot-overlap")
		require.Error(t, verifyJWT(t, jwks, oldToken))
		require.NoError(t, verifyJWT(t, jwks, newToken))
		require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
		require.NotEqual(t, before, m.configGeneration("rot-overlap"), "warm instances holding the old key are replaced")
		_, keys := m.jwtState("rot-overlap")
		statuses := map[string]string{}
		for _, k := range keys {
			statuses[k.ID] = k.Status
		}
		require.Equal(t, map[string]string{old.JWTKid: "retired", cur.JWTKid: "current"}, statuses)
	})
}

// The app runs the retire loop on its own and stops it on Close.
func TestJWTRetireLoop(t *testing.T) {
	t.Parallel()
	m := newTM(t, withEnv("JWT_RETIRE_INTERVAL_SECONDS", "1"))
	m.app.Service.Rotation.Overlap = time.Second
	m.mustCreate("rot-loop")
	old := m.gatewayConfig("rot-loop")
	status, res := m.do("POST", "/project/rot-loop/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	rotatedGen := m.configGeneration("rot-loop")
	require.Eventually(t, func() bool {
		_, keys := m.jwtState("rot-loop")
		for _, k := range keys {
			if k.ID == old.JWTKid {
				return k.Status == "retired"
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond)
	require.NotEqual(t, rotatedGen, m.configGeneration("rot-loop"))
	require.Error(t, verifyJWT(t, m.jwksOverHTTP("rot-loop"), signJWT(t, old.JWTSecret, old.JWTKid)))
}

// A failed recycle leaves the database exactly as before and says so.
func TestJWTRotationRecycleFailureRollsBack(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("rot-fail")
	proxy := newLambdaProxy(t, m)
	m.app.Service.Functions.(*lambdas.Client).Settings.RecycleTimeout = 1500 * time.Millisecond
	proxy.onUpdate = func() bool { return true }
	rc := redisClient(t)
	before := m.gatewayConfig("rot-fail")
	beforeVersion, beforeKeys := m.jwtState("rot-fail")

	status, res := m.do("POST", "/project/rot-fail/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusBadGateway, status, res)
	require.Equal(t, "rotation_failed", res["code"])
	require.Equal(t, "lambda", res["step"])
	msg := res["error"].(string)
	require.Contains(t, msg, "rolled back")
	require.Contains(t, msg, "previous secret is still the current one")
	require.NotContains(t, msg, before.JWTSecret)
	require.Greater(t, proxy.updates, 1, "a conflicting update is retried")

	afterVersion, afterKeys := m.jwtState("rot-fail")
	require.Equal(t, beforeVersion, afterVersion)
	require.Equal(t, beforeKeys, afterKeys, "no pending key, the old key current")
	require.Equal(t, before, m.gatewayConfig("rot-fail"))
	n, err := rc.Exists(context.Background(), provision.ConfigKey("rot-fail")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "nothing was written to the gateway cache")

	proxy.onUpdate = nil
	status, res = m.do("POST", "/project/rot-fail/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	require.EqualValues(t, 2, res["version"])
}

// The recycle waits out an update in progress and retries conflicts.
func TestJWTRotationWaitsForLambdaUpdates(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("rot-wait")
	proxy := newLambdaProxy(t, m)
	proxy.inProgress = 3
	conflicts := 2
	proxy.onUpdate = func() bool {
		conflicts--
		return conflicts >= 0
	}
	status, res := m.do("POST", "/project/rot-wait/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	calls := proxy.calls()
	require.Equal(t, []string{"get(in progress=true)", "get(in progress=true)", "get(in progress=true)", "get(in progress=false)",
		"update(conflict)", "get(in progress=false)", "update(conflict)", "get(in progress=false)", "update", "get(in progress=false)"}, calls)
}

// Of two concurrent rotations one gets 409; afterwards rotating works.
func TestJWTRotationConcurrent(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("rot-conc")
	proxy := newLambdaProxy(t, m)
	entered, release := make(chan struct{}), make(chan struct{})
	var updates atomic.Int32
	proxy.onUpdate = func() bool {
		// Only the first rotation's update is held; any other passes.
		if updates.Add(1) == 1 {
			close(entered)
			<-release
		}
		return false
	}
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // a failing test must not leave the request hanging
	first := make(chan int, 1)
	go func() {
		status, _ := m.do("POST", "/project/rot-conc/jwt-secret/rotate", adminToken, "")
		first <- status
	}()
	<-entered
	status, res := m.do("POST", "/project/rot-conc/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusConflict, status, res)
	require.Equal(t, "rotation_in_progress", res["code"])
	unblock()
	require.Equal(t, http.StatusOK, <-first)
	status, res = m.do("POST", "/project/rot-conc/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	version, keys := m.jwtState("rot-conc")
	require.EqualValues(t, 3, version)
	counts := map[string]int{}
	for _, k := range keys {
		counts[k.Status]++
	}
	require.Equal(t, map[string]int{"current": 1, "rotated": 2}, counts)
}

// The rotation writes the new configuration through to the gateway cache;
// a refill that read the previous one cannot put it back; a Redis failure
// does not fail the rotation and is reported.
func TestJWTRotationWriteThrough(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("rot-cache")
	rc := redisClient(t)
	old := m.gatewayConfig("rot-cache")
	oldDoc, err := json.Marshal(old)
	require.NoError(t, err)
	require.NoError(t, rc.Set(ctx, provision.ConfigKey("rot-cache"), oldDoc, time.Minute).Err())

	status, res := m.do("POST", "/project/rot-cache/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	cached := func() map[string]any {
		raw, err := rc.Get(ctx, provision.ConfigKey("rot-cache")).Result()
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &doc))
		return doc
	}
	cur := m.gatewayConfig("rot-cache")
	doc := cached()
	require.EqualValues(t, 2, doc["version"])
	require.Equal(t, cur.JWTKid, doc["jwt_kid"])
	require.Equal(t, cur.JWTSecret, doc["jwt_secret"])
	require.Equal(t, cur.FunctionURL, doc["function_url"])
	ttl, err := rc.TTL(ctx, provision.ConfigKey("rot-cache")).Result()
	require.NoError(t, err)
	require.InDelta(t, 300, ttl.Seconds(), 5)

	// A gateway refill that read the old document before the rotation.
	stored, err := redisCache{rc}.EvalConfig(ctx, provision.ConfigKey("rot-cache"), oldDoc, old.Version, 300)
	require.NoError(t, err)
	require.False(t, stored)
	require.Equal(t, cur.JWTKid, cached()["jwt_kid"])

	// Redis down: the rotation stands and says what it means.
	restore := m.redisDown()
	status, res = m.do("POST", "/project/rot-cache/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)
	require.Equal(t, "not_updated", res["gateway_cache"])
	require.Contains(t, res["warning"], "300 s")
	require.EqualValues(t, 3, m.gatewayConfig("rot-cache").Version)
	restore()

	require.NoError(t, m.app.Service.Delete(ctx, "rot-cache"))
	n, err := rc.Exists(ctx, provision.ConfigKey("rot-cache")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "deprovisioning deletes the cached configuration")
}

// The cache script against real Redis: a lower version loses, an equal or
// higher one wins, whatever else is in the key is replaced.
func TestConfigCacheScript(t *testing.T) {
	t.Parallel()
	rc := redisClient(t)
	ctx := context.Background()
	c := redisCache{rc}
	key := "project:cfg:script-test"
	t.Cleanup(func() { rc.Del(context.Background(), key) })
	get := func() string {
		v, err := rc.Get(ctx, key).Result()
		require.NoError(t, err)
		return v
	}
	write := func(version int64, ttl int) bool {
		stored, err := c.EvalConfig(ctx, key, []byte(fmt.Sprintf(`{"project_id":"script-test","jwt_kid":"k%d","version":%d}`, version, version)), version, ttl)
		require.NoError(t, err)
		return stored
	}
	require.True(t, write(5, 300), "an empty key is written")
	require.False(t, write(4, 300), "a lower version loses")
	require.Contains(t, get(), `"version":5`)
	require.True(t, write(5, 100), "an equal version wins")
	ttl, err := rc.TTL(ctx, key).Result()
	require.NoError(t, err)
	require.InDelta(t, 100, ttl.Seconds(), 2)
	require.True(t, write(6, 300), "a higher version wins")
	require.Contains(t, get(), `"version":6`)
	// 2^53 - 1, the largest version Lua's doubles hold exactly.
	require.True(t, write(9007199254740991, 300))
	require.False(t, write(9007199254740990, 300))
	require.NoError(t, rc.Set(ctx, key, "not json", 0).Err())
	require.True(t, write(1, 300), "an unreadable entry is replaced")
	require.NoError(t, rc.Set(ctx, key, `{"version":"x"}`, 0).Err())
	require.True(t, write(1, 300), "an entry without a numeric version is replaced")
}

// A pending key left by a rotation whose process died is removed by the
// retire pass, so rotations are not blocked forever; of several
// tenant-manager tasks only one runs the pass at a time.
func TestJWTRetirePassHousekeeping(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("rot-house")
	pool := m.app.Service.Store.Pool

	_, err := pool.Exec(ctx, `INSERT INTO jwt_keys (project_id, secret, status, created_at) VALUES ('rot-house', '\x00', 'pending', now() - interval '1 hour')`)
	require.NoError(t, err)
	status, res := m.do("POST", "/project/rot-house/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusConflict, status, res)
	require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
	status, res = m.do("POST", "/project/rot-house/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusOK, status, res)

	// The previous key's overlap has ended, but another task holds the lock.
	_, err = pool.Exec(ctx, "UPDATE jwt_keys SET accept_until = now() - interval '1 second' WHERE project_id = 'rot-house' AND status = 'rotated'")
	require.NoError(t, err)
	other, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer other.Release()
	_, err = other.Exec(ctx, "SELECT pg_advisory_lock(hashtext('supabase:jwt-retire'))")
	require.NoError(t, err)
	gen := m.configGeneration("rot-house")
	require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
	require.Equal(t, gen, m.configGeneration("rot-house"), "skipped while another task runs the pass")
	_, err = other.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('supabase:jwt-retire'))")
	require.NoError(t, err)
	require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
	require.NotEqual(t, gen, m.configGeneration("rot-house"))
	var rotated int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM jwt_keys WHERE project_id = 'rot-house' AND status = 'rotated'").Scan(&rotated))
	require.Zero(t, rotated)
}

// dbFaults breaks chosen statements of a platform database pool at the
// protocol level: the client sees exactly what a lost connection shows.
type dbFaults struct {
	mu    sync.Mutex
	rules []*dbFault
	conns []net.Conn
}

// closeAll ends every connection, hung ones included.
func (f *dbFaults) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

type dbFault struct {
	match string // a statement containing this text (simple protocol)
	// hang swallows the statement: the server never answers, as a hung
	// connection.
	hang bool
	// loseReply sends the statement to the server and then drops the
	// connection once the server has answered, as when a reply is lost
	// after a commit; otherwise the statement never reaches the server.
	loseReply bool
	hits      int
}

func (f *dbFaults) add(match string, loseReply bool) *dbFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &dbFault{match: match, loseReply: loseReply}
	f.rules = append(f.rules, r)
	return r
}

// take returns the first unused rule matching a client message, using it up.
func (f *dbFaults) take(msg []byte) *dbFault {
	if len(msg) == 0 || msg[0] != 'Q' {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if strings.Contains(string(msg), r.match) {
			r.hits++
			f.rules = append(f.rules[:i:i], f.rules[i+1:]...)
			return r
		}
	}
	return nil
}

type faultConn struct {
	net.Conn
	faults    *dbFaults
	dropReply bool
}

func (c *faultConn) Write(b []byte) (int, error) {
	r := c.faults.take(b)
	if r == nil {
		return c.Conn.Write(b)
	}
	if r.hang {
		return len(b), nil
	}
	if !r.loseReply {
		c.Conn.Close()
		return 0, errors.New("injected fault: connection lost before the statement was sent")
	}
	c.dropReply = true
	return c.Conn.Write(b)
}

func (c *faultConn) Read(b []byte) (int, error) {
	if !c.dropReply {
		return c.Conn.Read(b)
	}
	// The server's answer proves it ran the statement; the client never
	// sees it.
	_, _ = c.Conn.Read(make([]byte, 4096))
	c.Conn.Close()
	return 0, io.ErrUnexpectedEOF
}

// faultyStore points the service at a pool of the same platform database
// whose statements f can break. Simple protocol puts every statement's
// text on the wire, so rules can match it.
func (m *tm) faultyStore(t *testing.T) *dbFaults {
	f := &dbFaults{}
	pcfg, err := pgxpool.ParseConfig(m.cfg.PlatformDatabaseURL)
	require.NoError(t, err)
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pcfg.MaxConns = max(pcfg.MaxConns, store.MinPoolConns()) // as New sizes it
	pcfg.ConnConfig.AfterNetConnect = func(_ context.Context, _ *pgconn.Config, conn net.Conn) (net.Conn, error) {
		f.mu.Lock()
		f.conns = append(f.conns, conn)
		f.mu.Unlock()
		return &faultConn{Conn: conn, faults: f}, nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	require.NoError(t, err)
	orig := m.app.Service.Store
	m.app.Service.Store = &store.Store{Pool: pool}
	t.Cleanup(func() {
		m.app.Service.Store = orig
		f.closeAll() // a statement still hanging must not block Close
		pool.Close()
	})
	return f
}

// The promotion committed but its reply was lost, and the check that
// follows failed too: nothing may claim the rotation was rolled back. The
// answer says the outcome is unknown and how to find it out, and the
// project shows the key that is current.
func TestJWTRotationPromoteOutcomeUnknown(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("rot-unknown")
	before := m.gatewayConfig("rot-unknown")
	faults := m.faultyStore(t)
	commit := faults.add("commit", true)
	check := faults.add("JOIN projects p ON p.id = k.project_id", false)

	status, res := m.do("POST", "/project/rot-unknown/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusBadGateway, status, res)
	require.Equal(t, 1, commit.hits, "the promotion's commit reached the server")
	require.Equal(t, 1, check.hits, "the state check failed")
	require.Equal(t, "rotation_failed", res["code"])
	require.Equal(t, "promote", res["step"])

	// The database: the new key is current, the version counted up.
	cur := m.gatewayConfig("rot-unknown")
	require.NotEqual(t, before.JWTKid, cur.JWTKid)
	require.EqualValues(t, 2, cur.Version)

	msg := res["error"].(string)
	require.NotContains(t, msg, "rolled back")
	require.NotContains(t, msg, "still the current one")
	require.Contains(t, msg, "unknown")
	require.Contains(t, msg, "GET /project/rot-unknown")
	require.Contains(t, msg, cur.JWTKid, "the caller can tell whether the new key is current")
	require.NotContains(t, msg, cur.JWTSecret)
	require.NotContains(t, msg, before.JWTSecret)

	status, p := m.do("GET", "/project/rot-unknown", adminToken, "")
	require.Equal(t, http.StatusOK, status, p)
	require.Equal(t, cur.JWTKid, p["jwt_kid"])
	require.EqualValues(t, 2, p["jwt_version"])
}

// The promotion failed before its commit and the check failed as well:
// the pending key is deleted, so "rolled back" is true and is said.
func TestJWTRotationPromoteFailedCheckFailedRollsBack(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("rot-unk-rb")
	beforeVersion, beforeKeys := m.jwtState("rot-unk-rb")
	faults := m.faultyStore(t)
	promote := faults.add("FOR UPDATE", false)
	check := faults.add("JOIN projects p ON p.id = k.project_id", false)

	status, res := m.do("POST", "/project/rot-unk-rb/jwt-secret/rotate", adminToken, "")
	require.Equal(t, http.StatusBadGateway, status, res)
	require.Equal(t, 1, promote.hits)
	require.Equal(t, 1, check.hits)
	require.Equal(t, "promote", res["step"])
	require.Contains(t, res["error"], "rolled back")
	afterVersion, afterKeys := m.jwtState("rot-unk-rb")
	require.Equal(t, beforeVersion, afterVersion)
	require.Equal(t, beforeKeys, afterKeys)
}

// rotatedAndExpired creates a project, rotates its secret and ends the
// previous key's overlap; it returns the previous key's id.
func (m *tm) rotatedAndExpired(id string) string {
	m.t.Helper()
	m.mustCreate(id)
	old := m.gatewayConfig(id).JWTKid
	status, res := m.do("POST", "/project/"+id+"/jwt-secret/rotate", adminToken, "")
	require.Equal(m.t, http.StatusOK, status, res)
	_, err := m.app.Service.Store.Pool.Exec(context.Background(), "UPDATE jwt_keys SET accept_until = now() - interval '1 second' WHERE project_id = $1 AND status = 'rotated'", id)
	require.NoError(m.t, err)
	return old
}

func (m *tm) keyStatus(id, kid string) string {
	m.t.Helper()
	_, keys := m.jwtState(id)
	for _, k := range keys {
		if k.ID == kid {
			return k.Status
		}
	}
	return ""
}

// retirePass runs one pass and fails the test if it outlasts limit.
func (m *tm) retirePass(t *testing.T, limit time.Duration) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- m.app.Service.RetireRotatedKeys(context.Background()) }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("the retire pass did not end within %s", limit)
		return 0, nil
	}
}

// passRetires runs a pass with the room of a normal one (a recycle against
// a loaded moto can take more than 1 s) that must succeed and retire the
// key kid of project id.
func (m *tm) passRetires(t *testing.T, id, kid string) {
	t.Helper()
	_, err := m.retirePass(t, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, "retired", m.keyStatus(id, kid))
}

// A pass whose database connection hangs ends at its deadline and gives
// the advisory lock back, so the next pass (here or on another task) runs.
func TestJWTRetirePassHungDatabase(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	old := m.rotatedAndExpired("rot-hung-db")
	faults := m.faultyStore(t)
	hung := faults.add("DELETE FROM jwt_keys WHERE status = 'pending'", false)
	hung.hang = true
	m.app.Service.Rotation.RetirePassTimeout = time.Second

	took, err := m.retirePass(t, 10*time.Second)
	require.Equal(t, 1, hung.hits)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 5*time.Second)
	require.Equal(t, "rotated", m.keyStatus("rot-hung-db", old))

	var free bool
	ctx := context.Background()
	conn, err := m.app.Service.Store.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext('supabase:jwt-retire'))").Scan(&free))
	require.True(t, free, "the lock was released")
	_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('supabase:jwt-retire'))")
	require.NoError(t, err)

	// The database answers again: the next pass gets the room of a normal
	// one.
	m.app.Service.Rotation.RetirePassTimeout = 20 * time.Second
	m.passRetires(t, "rot-hung-db", old)
}

// A project whose Lambda hangs uses up its own deadline only: the pass
// retires the other projects' keys, and the hung one goes last next time.
func TestJWTRetirePassHungLambda(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	oldA := m.rotatedAndExpired("rot-hang-a")
	oldB := m.rotatedAndExpired("rot-hang-b")
	proxy := newLambdaProxy(t, m)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the proxy closes: it waits for this handler
	proxy.hold = func(function string) {
		if function == "postgrest-rot-hang-a" {
			<-release
		}
	}
	m.app.Service.Rotation.RetireProjectTimeout = time.Second
	m.app.Service.Rotation.RetirePassTimeout = 20 * time.Second

	took, err := m.retirePass(t, 15*time.Second)
	require.Error(t, err)
	require.Less(t, took, 10*time.Second)
	require.Equal(t, "rotated", m.keyStatus("rot-hang-a", oldA))
	require.Equal(t, "retired", m.keyStatus("rot-hang-b", oldB))

	unblock()
	m.passRetires(t, "rot-hang-a", oldA)
}

// Keys of a project whose Lambda is gone (a delete that failed after
// removing it) are retired: there is nothing to recycle, and retrying
// would fail and log every pass forever.
func TestJWTRetireWithoutFunction(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	old := m.rotatedAndExpired("rot-nofn")
	require.NoError(t, m.app.Service.Functions.Delete(ctx, "rot-nofn"))
	require.NoError(t, m.app.Service.Store.SetStatus(ctx, "rot-nofn", "deprovisioning"))
	var logs syncBuffer
	m.app.Service.Log = slog.New(slog.NewTextHandler(&logs, nil))

	require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
	require.Equal(t, "retired", m.keyStatus("rot-nofn", old))
	require.NoError(t, m.app.Service.RetireRotatedKeys(ctx))
	require.Equal(t, 1, strings.Count(logs.String(), "nothing to recycle"), "logged once: %s", logs.String())
	require.NotContains(t, logs.String(), "failed")
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
