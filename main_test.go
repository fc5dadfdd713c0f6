package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The app is run as the CDK CLI runs it: a built binary, context passed in
// CDK_CONTEXT_JSON, the cloud assembly written to CDK_OUTDIR.
func runApp(t *testing.T, bin, configPath string) (string, error) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CDK_OUTDIR="+out,
		`CDK_CONTEXT_JSON={"config":"`+configPath+`"}`,
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1",
	)
	b, err := cmd.CombinedOutput()
	if err == nil {
		_, statErr := os.Stat(filepath.Join(out, "SupabaseStack.template.json"))
		require.NoError(t, statErr, "the template is written")
	}
	return string(b), err
}

func TestApp(t *testing.T) {
	// A stable path: go build skips the (slow) link when nothing changed.
	bin, err := filepath.Abs(filepath.Join(".cache", "cdk-app-test"))
	require.NoError(t, err)
	build := exec.Command("go", "build", "-o", bin, ".")
	b, err := build.CombinedOutput()
	require.NoError(t, err, string(b))

	t.Run("invalid config fails with the JSON path, not a stack trace", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1"}, {"id": "w1"}]}}`), 0o644))
		out, err := runApp(t, bin, bad)
		require.Error(t, err)
		require.Contains(t, out, bad+`: database.workers[1].id: duplicate "w1"`)
		require.NotContains(t, out, "goroutine")
		require.NotContains(t, out, "panic")
	})
	t.Run("missing config file", func(t *testing.T) {
		out, err := runApp(t, bin, "/nonexistent/config.json")
		require.Error(t, err)
		require.True(t, strings.Contains(out, "reading config") && strings.Contains(out, "no such file"), out)
	})
	t.Run("default config synthesizes", func(t *testing.T) {
		out, err := runApp(t, bin, "config.json")
		require.NoError(t, err, out)
	})
}
