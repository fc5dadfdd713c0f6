package scripts

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/internal/synthinputs"
)

// synthScript runs scripts/synth.sh with args and the extra environment.
func synthScript(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("./synth.sh", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func modTime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.ModTime()
}

// withoutTraces is a cloud assembly file without the stack traces of its
// metadata and the temporary directories they name, which are fresh per run
// and say nothing about what is deployed.
func withoutTraces(t *testing.T, name string, data []byte) string {
	t.Helper()
	if filepath.Ext(name) != ".json" {
		return string(data)
	}
	var doc any
	require.NoError(t, json.Unmarshal(data, &doc), name)
	var strip func(v any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "trace")
			delete(x, "stackTraces")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(doc)
	out, err := json.MarshalIndent(doc, "", " ")
	require.NoError(t, err)
	return jsiiTempDir.ReplaceAllString(string(out), "")
}

var jsiiTempDir = regexp.MustCompile(`/tmp/jsii-(kernel|runtime)[-.][A-Za-z0-9]+`)

// firstDifference shows where two texts part, with a little context.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n--- cdk synth\n%s\n+++ synth.sh\n%s", i+1,
				strings.Join(w[lo:min(len(w), i+4)], "\n"), strings.Join(g[lo:min(len(g), i+4)], "\n"))
		}
	}
	return ""
}

// TestSynth runs scripts/synth.sh as the README does. Without the CLI it must
// write what `cdk synth` writes, and rebuild the app exactly when one of the
// app's inputs changed.
func TestSynth(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	app := filepath.Join(root, ".cache", "cdk-app")
	// The built-in CloudFormation rules add seconds and nothing to compare;
	// the stack-level tests run them.
	noRules := []string{"CDK_VALIDATION=false"}

	t.Run("an invalid config fails with the JSON path, not a stack trace", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1"}, {"id": "w1"}]}}`), 0o644))
		out, err := synthScript(t, nil, "-c", "config="+bad, "-o", t.TempDir())
		require.Error(t, err)
		require.Contains(t, out, bad+`: database.workers[1].id: duplicate "w1"`)
		require.NotContains(t, out, "goroutine")
		require.NotContains(t, out, "panic")
	})

	built := modTime(t, app)
	t.Run("a missing config file, and no rebuild when nothing changed", func(t *testing.T) {
		out, err := synthScript(t, nil, "-c", "config=/nonexistent/config.json", "-o", t.TempDir())
		require.Error(t, err)
		require.Contains(t, out, "reading config")
		require.Contains(t, out, "no such file")
		require.Equal(t, built, modTime(t, app), "the app was rebuilt although none of its inputs changed")
	})

	t.Run("a changed input rebuilds the app", func(t *testing.T) {
		// A newer stack file (same content: go build keeps the binary, and
		// synth.sh marks it checked).
		src := filepath.Join(root, "stacks", "supabase_stack.go")
		now := time.Now()
		require.NoError(t, os.Chtimes(src, now, now))
		out, err := synthScript(t, nil, "-c", "config=/nonexistent/config.json", "-o", t.TempDir())
		require.Error(t, err, out)
		require.True(t, modTime(t, app).After(built), "stacks/supabase_stack.go changed but the app was not checked again")
	})

	t.Run("writes what cdk synth writes", func(t *testing.T) {
		fast := t.TempDir()
		out, err := synthScript(t, noRules, "-o", fast)
		require.NoError(t, err, out)
		cli := cliAssembly(t, root, noRules)

		files := func(dir string) []string {
			var names []string
			require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					if rel != ".complete" { // the cache's mark
						names = append(names, rel)
					}
				}
				return err
			}))
			return names
		}
		names := files(cli)
		require.Contains(t, names, "SupabaseStack.template.json")
		require.Equal(t, names, files(fast))
		for _, name := range names {
			want, err := os.ReadFile(filepath.Join(cli, name))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(fast, name))
			require.NoError(t, err)
			if d := firstDifference(withoutTraces(t, name, want), withoutTraces(t, name, got)); d != "" {
				t.Errorf("%s differs from what cdk synth wrote, %s", name, d)
			}
		}
	})
}

// cliAssembly is what `cdk synth` writes for the checkout at root with the
// extra environment. It is kept under .cache/synth-test, keyed by what a
// template is built from (synthinputs), the CLI's version and env: the same
// inputs synthesize the same assembly, and a later run compares against it
// instead of running the CLI again.
func cliAssembly(t *testing.T, root string, env []string) string {
	t.Helper()
	bin := filepath.Join(root, "tools", "node_modules", ".bin")
	cliPackage, err := os.ReadFile(filepath.Join(root, "tools", "node_modules", "aws-cdk", "package.json"))
	require.NoError(t, err)
	key, err := synthinputs.Key(root, synthinputs.IsTemplateInput, fmt.Sprintf("env %q cli %x", env, sha256.Sum256(cliPackage)))
	require.NoError(t, err)
	cache := filepath.Join(root, ".cache", "synth-test")
	dir := filepath.Join(cache, "cli-"+key[:32])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // most recently used: kept longest
		return dir
	}
	require.NoError(t, os.MkdirAll(cache, 0o755))
	tmp, err := os.MkdirTemp(cache, ".tmp.cli-")
	require.NoError(t, err)
	defer os.RemoveAll(tmp)
	cmd := exec.Command(filepath.Join(bin, "cdk"), "synth", "--quiet", "--no-notices", "-o", tmp)
	cmd.Dir = root
	// The Node scripts/env.sh picks for synth.sh, for the CLI and the app.
	cmd.Env = append(os.Environ(), append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "JSII_NODE="+filepath.Join(bin, "node"))...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644))
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Rename(tmp, dir))
	// Keep the four most recently used.
	old, err := filepath.Glob(filepath.Join(cache, "cli-*"))
	require.NoError(t, err)
	sort.Slice(old, func(i, j int) bool { return modTime(t, old[i]).After(modTime(t, old[j])) })
	for _, d := range old[min(len(old), 4):] {
		require.NoError(t, os.RemoveAll(d))
	}
	return dir
}
