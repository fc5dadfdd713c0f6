package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"
)

// denoBin finds Deno: DENO_BIN, the repository's tools/node_modules (npm
// package @deno/linux-x64-glibc), or PATH. A missing Deno fails the test: the runtime is
// part of the suite.
func denoBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DENO_BIN"); p != "" {
		return p
	}
	if p, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "tools", "node_modules", "@deno", "linux-x64-glibc", "deno")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("deno")
	if err != nil {
		t.Fatalf("deno is not installed: set DENO_BIN or run scripts/setup.sh, which installs Deno into tools/ (%v)", err)
	}
	return p
}

var (
	bootstrapOnce sync.Once
	bootstrapBin  string
	bootstrapErr  error
)

// functionsBootstrap builds services/functions-runtime's bootstrap once.
func functionsBootstrap(t testing.TB) string {
	t.Helper()
	bootstrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "functions-bootstrap")
		if err != nil {
			bootstrapErr = err
			return
		}
		bootstrapBin = filepath.Join(dir, "bootstrap")
		out, err := exec.Command("go", "build", "-o", bootstrapBin, "../../../functions-runtime/cmd/bootstrap").CombinedOutput()
		if err != nil {
			bootstrapErr = fmt.Errorf("building the functions bootstrap: %v\n%s", err, out)
		}
	})
	require.NoError(t, bootstrapErr)
	return bootstrapBin
}

// runtimeInstance is one functions Lambda instance run locally: the
// bootstrap with the functions role's session functions-{id}, which execs
// Deno with the router.
type runtimeInstance struct {
	url     string
	started time.Time
}

func (m *tm) startRuntime(t testing.TB, id string) runtimeInstance {
	t.Helper()
	ctx := context.Background()
	out, err := sts.NewFromConfig(env.aws).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(functionsRoleARN), RoleSessionName: aws.String("functions-" + id)})
	require.NoError(t, err)
	router, err := filepath.Abs(filepath.Join("..", "..", "..", "functions-runtime", "router", "router.ts"))
	require.NoError(t, err)
	dir := t.TempDir()
	// The port is free when picked but not reserved: a test running in
	// parallel (or an outgoing connection) may take it before Deno binds
	// it, so a start that fails with AddrInUse tries another port.
	for attempt := 1; ; attempt++ {
		port := freePort()
		cmd := exec.Command(functionsBootstrap(t))
		cmd.Env = []string{
			"PATH=/usr/bin:/bin", "HOME=" + dir,
			"PROJECT_ID=" + id, "CONFIG_SERVICE_URL=" + m.isrv.URL, "AWS_REGION=us-east-1", "STS_ENDPOINT=" + env.motoURL,
			"AWS_ACCESS_KEY_ID=" + *out.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + *out.Credentials.SecretAccessKey,
			"AWS_SESSION_TOKEN=" + *out.Credentials.SessionToken, "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			fmt.Sprintf("AWS_LWA_PORT=%d", port), "DENO_PATH=" + denoBin(t), "ROUTER_PATH=" + router,
			"FUNCTIONS_DIR=" + filepath.Join(dir, "functions"), "FUNCTIONS_SCRATCH_DIR=" + filepath.Join(dir, "scratch"),
			"DENO_DIR=" + filepath.Join(dir, "deno-dir"),
		}
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		start := time.Now()
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			resp, err := http.Get(base + "/_internal/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return runtimeInstance{url: base, started: start}
				}
			}
			gone := false
			select {
			case <-exited:
				gone = true
			default:
			}
			if gone && attempt < 3 && strings.Contains(logs.String(), "AddrInUse") {
				break
			}
			if time.Now().After(deadline) || gone {
				t.Fatalf("the functions runtime of %s did not start:\n%s", id, logs.String())
			}
		}
	}
}

func getJSON(t testing.TB, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp.StatusCode, out
}

const echoFunction = `Deno.serve((req) => Response.json({
  version: VERSION,
  path: new URL(req.url).pathname,
  secret: Deno.env.get("MY_SECRET") ?? "unset",
  supabase_url: Deno.env.get("SUPABASE_URL") ?? null,
  has_anon_key: (Deno.env.get("SUPABASE_ANON_KEY") ?? "").startsWith("sb_publishable_"),
  aws_credentials: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? Deno.env.get("AWS_SESSION_TOKEN") ?? null,
}));`

func echoSource(version string) string {
	return "const VERSION = " + fmt.Sprintf("%q", version) + ";\n" + echoFunction
}

// TestFunctionsRuntime runs the bootstrap and Deno against the local
// tenant-manager and moto (bundles in moto's S3): each project's function
// sees its own secrets only, never the role's credentials, and a redeploy
// is what new instances serve.
func TestFunctionsRuntime(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	for _, id := range []string{"rta", "rtb"} {
		code, _ := m.create(id)
		require.Equal(t, http.StatusCreated, code)
		code, f := m.deployParts(id, "echo", meta("index.ts"), part{name: "file", filename: "index.ts", body: echoSource("v1")})
		require.Equal(t, http.StatusCreated, code, "%v", f)
	}
	code, body := m.call("POST", "/v1/projects/rta/secrets", `[{"name":"MY_SECRET","value":"secret-of-a"}]`)
	require.Equal(t, http.StatusCreated, code, string(body))

	a := m.startRuntime(t, "rta")
	code, out := getJSON(t, a.url+"/echo/sub?x=1")
	coldStart := time.Since(a.started)
	require.Equal(t, http.StatusOK, code, "%v", out)
	require.Equal(t, "v1", out["version"])
	require.Equal(t, "/echo/sub", out["path"])
	require.Equal(t, "secret-of-a", out["secret"])
	require.Equal(t, "https://rta.supabase.example.com", out["supabase_url"])
	require.Equal(t, true, out["has_anon_key"])
	require.Nil(t, out["aws_credentials"], "functions never see the role's credentials")
	code, out = getJSON(t, a.url+"/functions/v1/echo")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "/echo", out["path"])
	code, out = getJSON(t, a.url+"/nosuch")
	require.Equal(t, http.StatusNotFound, code, "%v", out)
	t.Logf("cold start (process start to first answer) of a one-function runtime: %s", coldStart)

	b := m.startRuntime(t, "rtb")
	code, out = getJSON(t, b.url+"/echo")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "unset", out["secret"], "project B does not see project A's secret")

	code, f := m.deployParts("rta", "echo", meta("index.ts"), part{name: "file", filename: "index.ts", body: echoSource("v2")})
	require.Equal(t, http.StatusCreated, code, "%v", f)
	require.EqualValues(t, 2, f["version"])
	a2 := m.startRuntime(t, "rta")
	code, out = getJSON(t, a2.url+"/echo")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "v2", out["version"], "after a redeploy the new version answers")
	require.Equal(t, "secret-of-a", out["secret"])

	// Another project's session cannot start A's runtime: its bootstrap
	// is refused A's configuration.
	req, _ := http.NewRequest("GET", m.isrv.URL+"/project/rta/functions-config", nil)
	req.Header.Set("X-Caller-Identity", identity(t, functionsRoleARN, "functions-rtb", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// BenchmarkFunctionsColdStart measures process start to the first answer
// of a one-file function (configuration fetch, bundle download, Deno start,
// module import): go test ./internal/app -run '^$' -bench FunctionsColdStart -benchtime 10x
func BenchmarkFunctionsColdStart(b *testing.B) {
	m := newTM(b, withFunctions(b, nil))
	code, _ := m.create("rtbench")
	require.Equal(b, http.StatusCreated, code)
	code, f := m.deployParts("rtbench", "echo", meta("index.ts"), part{name: "file", filename: "index.ts", body: echoSource("v1")})
	require.Equal(b, http.StatusCreated, code, "%v", f)
	var total time.Duration
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inst := m.startRuntime(b, "rtbench")
		code, _ := getJSON(b, inst.url+"/echo")
		require.Equal(b, http.StatusOK, code)
		d := time.Since(inst.started)
		samples = append(samples, d)
		total += d
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/cold-start")
	b.Logf("cold starts: %v", samples)
}
