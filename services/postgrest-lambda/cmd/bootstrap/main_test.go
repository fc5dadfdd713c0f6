package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const tenantConfig = `{"db_uri":"postgres://demo1_authenticator:pw@worker:5432/supabase_demo1?sslmode=require","db_schemas":"public,storage","db_anon_role":"anon","jwt_secret":"0123456789abcdef0123456789abcdef","db_use_legacy_gucs":true}`

// The bootstrap binary runs as in the image, with a stand-in for PostgREST
// that records the environment it was exec'd with.
func TestBootstrapExecsPostgrest(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	dump := filepath.Join(dir, "env.txt")
	fake := filepath.Join(dir, "postgrest")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\nenv > \"$ENV_DUMP\"\n"), 0o755))

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/project/demo1/postgrest-config" || r.Header.Get("X-Caller-Identity") == "" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, tenantConfig)
	}))
	defer srv.Close()

	run := func(extra ...string) (string, error) {
		cmd := exec.Command(bin)
		cmd.Env = append([]string{
			"PATH=" + os.Getenv("PATH"),
			"ENV_DUMP=" + dump,
			"POSTGREST_PATH=" + fake,
			"PROJECT_ID=demo1",
			"CONFIG_SOURCE=service",
			"CONFIG_SERVICE_URL=" + srv.URL,
			"AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
			"AWS_SECRET_ACCESS_KEY=secret-key-example",
			"AWS_SESSION_TOKEN=session-token-example",
			"PGRST_JWT_SECRET=stale-must-be-replaced",
		}, extra...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	out2, err := run()
	require.NoError(t, err, out2)
	data, err := os.ReadFile(dump)
	require.NoError(t, err)
	var pgrst []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "PGRST_") {
			pgrst = append(pgrst, line)
		}
	}
	sort.Strings(pgrst)
	require.Equal(t, []string{
		"PGRST_ADMIN_SERVER_PORT=3001",
		"PGRST_DB_ANON_ROLE=anon",
		"PGRST_DB_POOL=2",
		"PGRST_DB_SCHEMAS=public,storage",
		"PGRST_DB_URI=postgres://demo1_authenticator:pw@worker:5432/supabase_demo1?sslmode=require",
		"PGRST_DB_USE_LEGACY_GUCS=true",
		"PGRST_JWT_SECRET=0123456789abcdef0123456789abcdef",
		"PGRST_JWT_SECRET_IS_BASE64=false",
		"PGRST_SERVER_HOST=127.0.0.1",
		"PGRST_SERVER_PORT=3000",
	}, pgrst)
	require.NotContains(t, out2, "0123456789abcdef", "the secret is not logged")

	t.Run("a refused identity fails with the status and no secret", func(t *testing.T) {
		out, err := run("PROJECT_ID=other")
		require.Error(t, err)
		require.Contains(t, out, "HTTP 403")
		require.Contains(t, out, "project other")
	})
	t.Run("a bad variable is named", func(t *testing.T) {
		out, err := run("CONFIG_SOURCE=ftp")
		require.Error(t, err)
		require.Contains(t, out, `CONFIG_SOURCE: \"ftp\" is not`)
	})
}
