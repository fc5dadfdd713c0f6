package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSecretNamesSteeringTheRuntimeRefused: a secret named LD_PRELOAD (and
// the like) would run native code from a bundle in the functions Lambda;
// the API refuses it, naming the rule, and still lets one be deleted.
func TestSecretNamesSteeringTheRuntimeRefused(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	code, _ := m.create("secld")
	require.Equal(t, http.StatusCreated, code)
	for _, n := range []string{"LD_PRELOAD", "ld_audit", "GLIBC_TUNABLES", "DENO_CERT", "NODE_OPTIONS", "https_proxy", "PATH", "AWS_ACCESS_KEY_ID", "LAMBDA_TASK_ROOT"} {
		code, body := m.call("POST", "/v1/projects/secld/secrets", `[{"name":"OK_ONE","value":"v"},{"name":"`+n+`","value":"/tmp/functions/f/v1/evil.so"}]`)
		require.Equal(t, http.StatusBadRequest, code, n)
		require.Contains(t, string(body), `"code":"reserved_name"`, n)
		require.Contains(t, string(body), n, "the message names the secret")
		require.NotContains(t, string(body), "evil.so", "never the value")
	}
	require.NotContains(t, m.runtimeConfig("secld").Env, "OK_ONE", "a refused request stores nothing")
	code, _ = m.call("DELETE", "/v1/projects/secld/secrets", `["LD_PRELOAD"]`)
	require.Equal(t, http.StatusOK, code, "a name stored before the rule can still be deleted")
}

func secretsBody(names []string, value string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = `{"name":"` + n + `","value":"` + value + `"}`
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestFunctionSecretCaps: a project holds at most 100 secrets and 64 KiB
// of values (each one is opened and served whole to the runtime); the
// listing reads names and digests, not the sealed values.
func TestFunctionSecretCaps(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	for _, id := range []string{"capn", "capb"} {
		code, _ := m.create(id)
		require.Equal(t, http.StatusCreated, code)
	}
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("S%03d", i)
	}
	code, body := m.call("POST", "/v1/projects/capn/secrets", secretsBody(names, "v"))
	require.Equal(t, http.StatusCreated, code, string(body))
	code, body = m.call("POST", "/v1/projects/capn/secrets", secretsBody([]string{"ONE_MORE"}, "v"))
	require.Equal(t, http.StatusBadRequest, code, string(body))
	require.Contains(t, string(body), `"code":"too_many_secrets"`)
	require.Contains(t, string(body), "at most 100 secrets")
	code, body = m.call("POST", "/v1/projects/capn/secrets", secretsBody([]string{"S000"}, "replaced"))
	require.Equal(t, http.StatusCreated, code, "replacing a secret adds no name: %s", body)

	big := strings.Repeat("x", 24576)
	code, body = m.call("POST", "/v1/projects/capb/secrets", secretsBody([]string{"B1", "B2"}, big))
	require.Equal(t, http.StatusCreated, code, string(body))
	code, body = m.call("POST", "/v1/projects/capb/secrets", secretsBody([]string{"B3"}, big))
	require.Equal(t, http.StatusBadRequest, code, truncateForLog(string(body)))
	require.Contains(t, string(body), `"code":"secrets_too_large"`)
	require.Contains(t, string(body), "65536 bytes")
	require.NotContains(t, string(body), "xxxx")
	require.NotContains(t, m.runtimeConfig("capb").Env, "B3", "all or none")
	code, body = m.call("POST", "/v1/projects/capb/secrets", secretsBody([]string{"B2", "B3"}, strings.Repeat("y", 8192)))
	require.Equal(t, http.StatusCreated, code, "a replaced value counts its new size only: %s", body)

	list, err := m.app.Service.Store.ListEdgeSecretNames(context.Background(), "capn")
	require.NoError(t, err)
	require.Len(t, list, 100)
	for _, e := range list {
		require.Nil(t, e.Sealed, "the listing does not load sealed values")
		require.Len(t, e.Digest, 64)
	}
}

// TestFunctionCountCap: a project holds at most 100 functions; a new
// version of an existing one is still accepted.
func TestFunctionCountCap(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	code, _ := m.create("capf")
	require.Equal(t, http.StatusCreated, code)
	src := part{name: "file", body: `Deno.serve(() => new Response("ok"));`}
	code, out := m.deployParts("capf", "first", meta("index.ts"), src)
	require.Equal(t, http.StatusCreated, code, "%v", out)
	// 99 more rows directly: 99 deploys would only slow the test.
	_, err := m.app.Service.Store.Pool.Exec(context.Background(), `INSERT INTO edge_functions (project_id, slug, name, version)
		SELECT 'capf', 'f' || g, 'f' || g, 1 FROM generate_series(1, 99) g`)
	require.NoError(t, err)
	code, out = m.deployParts("capf", "onemore", meta("index.ts"), src)
	require.Equal(t, http.StatusBadRequest, code, "%v", out)
	require.Equal(t, "too_many_functions", out["code"])
	require.Contains(t, out["error"], "at most 100 functions")
	code, out = m.deployParts("capf", "first", meta("index.ts"), src)
	require.Equal(t, http.StatusCreated, code, "%v", out)
}

// hangingDeploy starts a deploy whose body never ends (until the test
// ends): the server holds it inside the handler.
func (m *tm) hangingDeploy(ref string) {
	m.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(m.srv.URL, "http://"))
	require.NoError(m.t, err)
	m.t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /v1/projects/%s/functions/deploy?slug=f HTTP/1.1\r\nHost: tm\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 1000000\r\n\r\n--xyz\r\n", ref, adminToken)
	require.NoError(m.t, err)
	// No answer yet: the handler holds the deploy, waiting for the body.
	require.NoError(m.t, conn.SetReadDeadline(time.Now().Add(time.Second)))
	n, err := conn.Read(make([]byte, 1))
	require.Zero(m.t, n)
	var ne net.Error
	require.ErrorAs(m.t, err, &ne)
	require.True(m.t, ne.Timeout())
}

// TestDeployConcurrencyBounded: one deploy at a time per project (409) and
// at most four per task (503), decided before the body is read, so slow
// or many uploads cannot pile files up in memory.
func TestDeployConcurrencyBounded(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	src := part{name: "file", body: `Deno.serve(() => new Response("ok"));`}
	m.hangingDeploy("gatea")
	code, out := m.deployUntil(http.StatusConflict, "gatea", "g", meta("index.ts"), src)
	require.Equal(t, http.StatusConflict, code, "%v", out)
	require.Equal(t, "deploy_in_progress", out["code"])
	code, _ = m.call("PATCH", "/v1/projects/gatea/functions/g", `{"name":"x"}`)
	require.Equal(t, http.StatusConflict, code)

	for _, ref := range []string{"gateb", "gatec", "gated"} {
		m.hangingDeploy(ref)
	}
	code, out = m.deployUntil(http.StatusServiceUnavailable, "gatee", "g", meta("index.ts"), src)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	require.Equal(t, "too_many_deploys", out["code"])
}

// deployUntil deploys parts to function slug of ref until the answer is
// want or 10 s have passed, and returns the last answer.
func (m *tm) deployUntil(want int, ref, slug string, parts ...part) (int, map[string]any) {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := m.deployParts(ref, slug, parts...)
		if code == want || !time.Now().Before(deadline) {
			return code, out
		}
		time.Sleep(50 * time.Millisecond)
	}
}
