package bootstrap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"
	"github.com/supabase-on-aws/supabase-on-aws/services/postgrest-lambda/internal/callerid"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/moto"
)

// motoURL is the endpoint of the moto server started for this test binary.
var motoURL string

func TestMain(m *testing.M) {
	srv, err := moto.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	motoURL = srv.URL
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

var goodConfig = `{"db_uri":"postgres://demo1_authenticator:s3cret@worker:5432/supabase_demo1?sslmode=require","db_schemas":"public","db_anon_role":"anon","jwt_secret":"jwt-secret-0123456789-0123456789-0123","db_use_legacy_gucs":false}`

func testSigner() *callerid.Signer {
	return &callerid.Signer{
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-key-example", "session-token-example"),
		STSEndpoint: "https://sts.us-east-1.amazonaws.com",
		Region:      "us-east-1",
	}
}

// checkIdentity asserts the caller-identity header shape and returns an error message
// when it is wrong, as the tenant-manager would with a 401.
func checkIdentity(h string) error {
	raw, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return fmt.Errorf("not base64: %w", err)
	}
	var p callerid.Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	want := []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Tenant-Manager-Audience", "Content-Type"}
	if len(p.Headers) != len(want) {
		return fmt.Errorf("headers %v, want exactly %v", p.Headers, want)
	}
	for _, k := range want {
		if p.Headers[k] == "" {
			return fmt.Errorf("header %s missing", k)
		}
	}
	auth := p.Headers["Authorization"]
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/us-east-1/sts/aws4_request") {
		return fmt.Errorf("authorization %q", auth)
	}
	if !strings.Contains(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience,") {
		return fmt.Errorf("signed headers in %q", auth)
	}
	if p.Headers["X-Tenant-Manager-Audience"] != "tenant-manager" || p.Headers["Content-Type"] != callerid.ContentType {
		return fmt.Errorf("audience/content type %v", p.Headers)
	}
	return nil
}

// configServer is an httptest tenant-manager that answers with handler
// after checking the identity header and path.
func configServer(t *testing.T, calls *atomic.Int32, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/project/demo1/postgrest-config" || r.Method != http.MethodGet {
			http.Error(w, `{"error":"not found","code":"not_found"}`, http.StatusNotFound)
			return
		}
		if err := checkIdentity(r.Header.Get(callerid.Header)); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":%q,"code":"unauthenticated"}`, err.Error())
			return
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func serviceFetcher(url string, timeout time.Duration) *ServiceFetcher {
	return &ServiceFetcher{Project: fetch.Project{Client: &http.Client{Timeout: timeout}, BaseURL: url, ProjectID: "demo1", Identity: testSigner().Sign}}
}

func TestServiceFetch(t *testing.T) {
	var calls atomic.Int32
	srv := configServer(t, &calls, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, goodConfig) })
	c, err := FetchWithRetry(context.Background(), serviceFetcher(srv.URL, time.Second), 2*time.Second)
	require.NoError(t, err)
	require.Equal(t, "public", c.DBSchemas)
	require.Equal(t, "anon", c.DBAnonRole)
	require.False(t, *c.DBUseLegacyGucs)
	require.EqualValues(t, 1, calls.Load())
}

func TestServiceFetchFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
		retried bool
		budget  time.Duration
		timeout time.Duration
	}{
		{"401", status(401, `{"error":"caller identity could not be verified","code":"unauthenticated"}`), "HTTP 401 (unauthenticated: caller identity could not be verified)", false, 0, 0},
		{"403", status(403, `{"error":"postgrest-demo2 may not read demo1","code":"forbidden"}`), "HTTP 403 (forbidden: postgrest-demo2 may not read demo1)", false, 0, 0},
		{"404", status(404, `{"error":"project demo1 not found","code":"not_found"}`), "HTTP 404 (not_found: project demo1 not found)", false, 0, 0},
		{"500 is retried until the budget ends", status(500, `oops`), "HTTP 500", true, 700 * time.Millisecond, 0},
		{"garbage JSON", status(200, `{"db_uri": "postgres://x:leaked-password@h/db", `), "configuration is not valid JSON (48 bytes)", false, 0, 0},
		{"missing fields", status(200, `{"db_uri":"postgres://h/db","db_schemas":"public"}`), "configuration is missing db_anon_role, jwt_secret, db_use_legacy_gucs", false, 0, 0},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(400 * time.Millisecond)
			fmt.Fprint(w, goodConfig)
		}, "Client.Timeout exceeded", true, 700 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := configServer(t, &calls, tc.handler)
			budget, timeout := tc.budget, tc.timeout
			if budget == 0 {
				budget = 2 * time.Second
			}
			if timeout == 0 {
				timeout = time.Second
			}
			_, err := FetchWithRetry(context.Background(), serviceFetcher(srv.URL, timeout), budget)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "leaked-password", "errors never echo the configuration")
			if tc.retried {
				require.Greater(t, calls.Load(), int32(1), "transient failures are retried")
				require.Contains(t, err.Error(), "gave up after")
			} else {
				require.EqualValues(t, 1, calls.Load(), "permanent failures are not retried")
			}
		})
	}
}

func TestServiceFetchRecovers(t *testing.T) {
	var calls atomic.Int32
	srv := configServer(t, &calls, func(w http.ResponseWriter, r *http.Request) {
		if calls.Load() < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, goodConfig)
	})
	_, err := FetchWithRetry(context.Background(), serviceFetcher(srv.URL, time.Second), 3*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 3, calls.Load())
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

func secretsClient() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(motoURL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
}

func TestSecretsManagerFetch(t *testing.T) {
	ctx := context.Background()
	sm := secretsClient()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("postgrest/sm-ok/config"), SecretString: aws.String(goodConfig)})
	require.NoError(t, err)
	c, err := FetchWithRetry(ctx, &SecretsFetcher{Client: sm, ProjectID: "sm-ok"}, 2*time.Second)
	require.NoError(t, err)
	require.Equal(t, "jwt-secret-0123456789-0123456789-0123", c.JWTSecret)

	_, err = FetchWithRetry(ctx, &SecretsFetcher{Client: sm, ProjectID: "sm-missing"}, 2*time.Second)
	require.EqualError(t, err, "secret postgrest/sm-missing/config does not exist")

	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("postgrest/sm-bad/config"), SecretString: aws.String(`{"db_uri":"postgres://u:leaked@h/d"}`)})
	require.NoError(t, err)
	_, err = FetchWithRetry(ctx, &SecretsFetcher{Client: sm, ProjectID: "sm-bad"}, 2*time.Second)
	require.EqualError(t, err, "secret postgrest/sm-bad/config: configuration is missing db_schemas, db_anon_role, jwt_secret, db_use_legacy_gucs")
}

func TestSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	s, err := SettingsFromEnv(env("PROJECT_ID", "demo1", "CONFIG_SERVICE_URL", "http://tm:8080", "AWS_REGION", "eu-west-1"))
	require.NoError(t, err)
	require.Equal(t, SourceService, s.Source)
	require.Equal(t, "https://sts.eu-west-1.amazonaws.com", s.STSEndpoint)
	require.Equal(t, 2, s.DBPool)
	require.Equal(t, 8*time.Second, s.Budget)

	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{env(), `PROJECT_ID: "" is not a project id`},
		{env("PROJECT_ID", "P1"), `PROJECT_ID: "P1" is not a project id`},
		{env("PROJECT_ID", "demo1", "CONFIG_SOURCE", "s3"), `CONFIG_SOURCE: "s3" is not "service" or "secretsmanager"`},
		{env("PROJECT_ID", "demo1"), `CONFIG_SERVICE_URL: "" is not an http(s) URL`},
		{env("PROJECT_ID", "demo1", "CONFIG_SERVICE_URL", "tm:8080"), `CONFIG_SERVICE_URL: "tm:8080" is not an http(s) URL`},
		{env("PROJECT_ID", "demo1", "CONFIG_SERVICE_URL", "http://tm:8080"), "AWS_REGION: must be set"},
		{env("PROJECT_ID", "demo1", "CONFIG_SOURCE", "secretsmanager", "PGRST_DB_POOL", "0"), `PGRST_DB_POOL: "0" is not a positive whole number`},
	} {
		_, err := SettingsFromEnv(tc.env)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestEnviron(t *testing.T) {
	var c Config
	require.NoError(t, json.Unmarshal([]byte(goodConfig), &c))
	s := Settings{ServerPort: 3000, AdminPort: 3001, DBPool: 2}
	env := Environ([]string{"PATH=/usr/bin", "PGRST_JWT_SECRET=stale", "PGRST_JWT_SECRET_IS_BASE64=true", "AWS_REGION=us-east-1"}, s, c)
	require.Equal(t, []string{
		"PATH=/usr/bin",
		"AWS_REGION=us-east-1",
		"PGRST_DB_URI=postgres://demo1_authenticator:s3cret@worker:5432/supabase_demo1?sslmode=require",
		"PGRST_DB_SCHEMAS=public",
		"PGRST_DB_ANON_ROLE=anon",
		"PGRST_JWT_SECRET=jwt-secret-0123456789-0123456789-0123",
		"PGRST_JWT_SECRET_IS_BASE64=false",
		"PGRST_DB_USE_LEGACY_GUCS=false",
		"PGRST_SERVER_HOST=127.0.0.1",
		"PGRST_SERVER_PORT=3000",
		"PGRST_ADMIN_SERVER_PORT=3001",
		"PGRST_DB_POOL=2",
	}, env)
}

// The tenant-manager sends jwt_secret as a JWKS; it reaches PostgREST
// unchanged. A plain secret still works; anything PostgREST would verify
// nothing with is refused without quoting it.
func TestJWTSecretForms(t *testing.T) {
	key := func(secret string) string { return base64.RawURLEncoding.EncodeToString([]byte(secret)) }
	cur, prev := "current-secret-0123456789-0123456789-abc", "previous-secret-0123456789-0123456789-ab"
	jwks := fmt.Sprintf(`{"keys":[{"kty":"oct","kid":"k2","alg":"HS256","k":%q},{"kty":"oct","kid":"k1","alg":"HS256","k":%q}]}`, key(cur), key(prev))
	withSecret := func(secret string) []byte {
		b, err := json.Marshal(map[string]any{"db_uri": "postgres://h/db", "db_schemas": "public", "db_anon_role": "anon", "jwt_secret": secret, "db_use_legacy_gucs": false})
		require.NoError(t, err)
		return b
	}
	c, err := decode(withSecret(jwks))
	require.NoError(t, err)
	require.Contains(t, Environ(nil, Settings{ServerPort: 3000, AdminPort: 3001, DBPool: 2}, c), "PGRST_JWT_SECRET="+jwks)
	_, err = decode(withSecret(strings.Repeat("s", 32)))
	require.NoError(t, err, "a plain secret of 32 characters")
	_, err = decode(withSecret(`{"keys":[{"kty":"RSA","kid":"r","n":"x","e":"AQAB"},{"kty":"oct","kid":"k","k":"` + key(cur) + `"}]}`))
	require.NoError(t, err, "other keys may be listed too")

	for name, tc := range map[string]struct{ secret, want string }{
		"short plain secret": {"short-" + "leaked", "at least 32 characters, got 12"},
		"broken JSON":        {`{"keys":[{"kty":"oct","k":"leaked`, "neither a JWKS nor a plain secret"},
		"JSON without keys":  {`{"kty":"oct","k":"` + key("leaked"+cur) + `"}`, `needs a "keys" list`},
		"no oct key":         {`{"keys":[{"kty":"RSA","n":"leaked","e":"AQAB"}]}`, `no "oct" (HS256) key`},
		"empty set":          {`{"keys":[]}`, `no "oct" (HS256) key`},
		"short oct key":      {`{"keys":[{"kty":"oct","k":"` + key("leaked") + `"}]}`, "key 0 is 6 bytes"},
		"padded k":           {`{"keys":[{"kty":"oct","k":"` + base64.URLEncoding.EncodeToString([]byte("leaked"+cur+"x")) + `"}]}`, "base64url without padding"},
		"wrong alg":          {`{"keys":[{"kty":"oct","alg":"HS512","k":"` + key("leaked"+cur) + `"}]}`, `"alg" must be HS256`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decode(withSecret(tc.secret))
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "leaked")
			require.NotContains(t, err.Error(), key("leaked"))
		})
	}
}

// db_max_rows and db_extra_search_path reach PostgREST when the
// configuration sets them; absent, PostgREST keeps its defaults even if
// the function's environment carries other values.
func TestEnvironPostgrestSettings(t *testing.T) {
	inherited := []string{"PGRST_DB_MAX_ROWS=7", "PGRST_DB_EXTRA_SEARCH_PATH=stale"}
	s := Settings{ServerPort: 3000, AdminPort: 3001, DBPool: 2}
	c, err := decode([]byte(strings.TrimSuffix(goodConfig, "}") + `,"db_max_rows":500,"db_extra_search_path":"public, extensions"}`))
	require.NoError(t, err)
	env := Environ(inherited, s, c)
	require.Contains(t, env, "PGRST_DB_MAX_ROWS=500")
	require.Contains(t, env, "PGRST_DB_EXTRA_SEARCH_PATH=public, extensions")
	require.NotContains(t, env, "PGRST_DB_MAX_ROWS=7")
	require.NotContains(t, env, "PGRST_DB_EXTRA_SEARCH_PATH=stale")

	c, err = decode([]byte(strings.TrimSuffix(goodConfig, "}") + `,"db_max_rows":null,"db_extra_search_path":""}`))
	require.NoError(t, err)
	for _, kv := range Environ(inherited, s, c) {
		require.NotRegexp(t, `^PGRST_DB_(MAX_ROWS|EXTRA_SEARCH_PATH)=`, kv)
	}

	for body, want := range map[string]string{
		`,"db_max_rows":0}`:                          "db_max_rows must be a positive whole number",
		`,"db_extra_search_path":"public\nPGRST_X"}`: "db_extra_search_path must be a comma-separated list",
	} {
		_, err := decode([]byte(strings.TrimSuffix(goodConfig, "}") + body))
		require.ErrorContains(t, err, want)
	}
}
