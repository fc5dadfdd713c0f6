package runtime

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"
)

func tarGz(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for name, h := range map[string]*tar.Header{
		"parent":   {Name: "../evil.ts", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		"deep":     {Name: "a/../../evil.ts", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		"absolute": {Name: "/etc/evil.ts", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		"symlink":  {Name: "link.ts", Typeflag: tar.TypeSymlink, Linkname: "/proc/self/environ"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			err := unpack(tarGz(t, h), filepath.Join(dir, "fn"))
			require.Error(t, err)
			_, serr := os.Stat(filepath.Join(dir, "evil.ts"))
			require.True(t, os.IsNotExist(serr))
		})
	}
	dir := t.TempDir()
	require.NoError(t, unpack(tarGz(t, &tar.Header{Name: "a/b/index.ts", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}), dir))
	b, err := os.ReadFile(filepath.Join(dir, "a", "b", "index.ts"))
	require.NoError(t, err)
	require.Equal(t, "xxx", string(b))
}

func TestPrepareChecksDigest(t *testing.T) {
	bundle := tarGz(t, &tar.Header{Name: "index.ts", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(bundle) }))
	defer srv.Close()
	sum := sha256.Sum256(bundle)
	good := Function{Slug: "good", Version: 1, EntrypointPath: "index.ts", SHA256: hex.EncodeToString(sum[:]), BundleURL: srv.URL + "/a?X-Amz-Signature=secret"}
	bad := good
	bad.Slug, bad.SHA256 = "bad", strings.Repeat("0", 64)
	dir := t.TempDir()
	manifest, err := Prepare(context.Background(), srv.Client(), Config{ProjectID: "p1x", Functions: []Function{good, bad}}, dir)
	require.ErrorContains(t, err, "does not match its SHA-256")
	require.NotContains(t, err.Error(), "X-Amz-Signature", "presigned URLs are credentials")
	m, rerr := os.ReadFile(manifest)
	require.NoError(t, rerr)
	require.Contains(t, string(m), `"slug":"good"`)
	require.Contains(t, string(m), `"failed":["bad"]`)
	_, serr := os.Stat(filepath.Join(dir, "bad"))
	require.True(t, os.IsNotExist(serr) || serr == nil)
}

func TestEnvironKeepsCredentialsOut(t *testing.T) {
	s := Settings{Region: "us-east-1", ScratchDir: "/tmp/scratch", DenoDir: "/tmp/deno-dir", Port: 8000}
	parent := []string{"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=sk", "AWS_SESSION_TOKEN=tok", "AWS_REGION=us-east-1",
		"CONFIG_SERVICE_URL=http://tm:8081", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "PATH=/opt/x"}
	env := strings.Join(Environ(parent, s), "\n")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CONFIG_SERVICE_URL", "AWS_LAMBDA_RUNTIME_API"} {
		require.NotContains(t, env, k+"=")
	}
	require.Contains(t, env, "PATH=/usr/local/bin:/usr/bin:/bin")
	require.Contains(t, env, "AWS_REGION=us-east-1")
}

// A tenant's variable named LD_PRELOAD (or DENO_*, ...) in Deno's exec
// environment would run a .so from the bundle before Deno's permissions
// apply: the exec environment holds no tenant variable at all, and the
// project's variables the router sets leave such names out.
func TestTenantVariablesStayOutOfExecEnvironment(t *testing.T) {
	s := Settings{Region: "us-east-1", DenoPath: "/usr/local/bin/deno", RouterPath: "/opt/r.ts", FunctionsDir: t.TempDir(),
		ScratchDir: "/tmp/scratch", DenoDir: "/tmp/deno-dir", Port: 8000}
	c := Config{Env: map[string]string{"MY_SECRET": "s3cr3t-value", "SUPABASE_URL": "https://p.example.com",
		"LD_PRELOAD": "/tmp/functions/f/v1/evil.so", "ld_audit": "/x.so", "GLIBC_TUNABLES": "x", "DENO_CERT": "/x",
		"NODE_OPTIONS": "--require /x", "PATH": "/evil", "HOME": "/evil", "https_proxy": "http://evil", "AWS_ACCESS_KEY_ID": "AKIA"}}
	exec := Environ([]string{"AWS_REGION=us-east-1", "LD_LIBRARY_PATH=/evil"}, s)
	joined := "\n" + strings.Join(exec, "\n")
	require.NotContains(t, joined, "s3cr3t-value")
	require.NotContains(t, joined, "MY_SECRET")
	require.NotContains(t, joined, "SUPABASE_URL")
	require.NotContains(t, joined, "/evil")
	for _, kv := range exec {
		k, _, _ := strings.Cut(kv, "=")
		require.False(t, strings.HasPrefix(k, "LD_"), kv)
		if strings.HasPrefix(k, "DENO_") {
			require.Contains(t, []string{"DENO_DIR=/tmp/deno-dir", "DENO_NO_UPDATE_CHECK=1"}, kv, "only the platform's own DENO_ variables")
		}
	}

	pe := ProjectEnv(c, exec)
	require.Equal(t, map[string]string{"MY_SECRET": "s3cr3t-value", "SUPABASE_URL": "https://p.example.com"}, pe)
	p, err := WriteEnvFile(s.FunctionsDir, pe)
	require.NoError(t, err)
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	args := DenoArgs(s, filepath.Join(s.FunctionsDir, "manifest.json"), p)
	require.Equal(t, p, args[len(args)-1])
	require.NotContains(t, strings.Join(args, " "), "s3cr3t-value")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"MY_SECRET":"s3cr3t-value","SUPABASE_URL":"https://p.example.com"}`, string(b))
}

func TestConfigValidation(t *testing.T) {
	ok := Function{Slug: "a", Version: 1, EntrypointPath: "index.ts", SHA256: strings.Repeat("a", 64), BundleURL: "https://s3/x"}
	require.NoError(t, Config{ProjectID: "p1x", Functions: []Function{ok}}.validate("p1x"))
	require.Error(t, Config{ProjectID: "other", Functions: []Function{ok}}.validate("p1x"))
	bad := ok
	bad.EntrypointPath = "../x.ts"
	require.Error(t, Config{ProjectID: "p1x", Functions: []Function{bad}}.validate("p1x"))
	require.Error(t, Config{ProjectID: "p1x", Env: map[string]string{"A=B": "x"}}.validate("p1x"))
	require.Error(t, Config{ProjectID: "p1x", Functions: []Function{ok, ok}}.validate("p1x"))
}

func TestFetchPermanentOn4xx(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		require.Equal(t, "/project/p1x/functions-config", r.URL.Path)
		require.Equal(t, "signed", r.Header.Get("X-Caller-Identity"))
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"only the project's own functions Lambda","code":"forbidden"}`))
	}))
	defer srv.Close()
	f := &Fetcher{Project: fetch.Project{Client: srv.Client(), BaseURL: srv.URL, ProjectID: "p1x", Identity: func(context.Context) (string, error) { return "signed", nil }}}
	_, err := FetchWithRetry(context.Background(), f)
	require.ErrorContains(t, err, "HTTP 403 (forbidden")
	require.Equal(t, 1, calls)
}
