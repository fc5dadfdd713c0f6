// Package scripts tests the repository's shell entry points end to end.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repo is a throwaway git repository holding a copy of this checkout's
// tracked and untracked (not ignored) files, so the diff script can be run on commits made for the test.
type repo struct {
	t   *testing.T
	dir string
	// cache is the synth cache the diff script uses.
	cache string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	for _, f := range visibleFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		info, err := os.Stat(filepath.Join(root, f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, info.Mode()))
	}
	// Reuse the installed CDK CLI instead of installing it again.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tools", "node_modules"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(root, "tools", "node_modules"), filepath.Join(dir, "tools", "node_modules")))
	r := &repo{t: t, dir: dir, cache: filepath.Join(root, ".cache", "synth-test")}
	r.git("init", "-q", "-b", "main")
	r.commit("base")
	return r
}

// visibleFiles lists the files git sees in the checkout at root: tracked
// (deleted ones too), or untracked and not ignored.
func visibleFiles(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, string(out))
	return string(out)
}

func (r *repo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A", ".")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
}

// editConfig rewrites config.json with each old→new replacement applied.
func (r *repo) editConfig(replacements ...string) {
	r.t.Helper()
	path := filepath.Join(r.dir, "config.json")
	data, err := os.ReadFile(path)
	require.NoError(r.t, err)
	s := string(data)
	for i := 0; i < len(replacements); i += 2 {
		require.Contains(r.t, s, replacements[i])
		s = strings.Replace(s, replacements[i], replacements[i+1], 1)
	}
	require.NoError(r.t, os.WriteFile(path, []byte(s), 0o644))
}

func (r *repo) diff(args ...string) (stdout, stderr string, err error) {
	r.t.Helper()
	cmd := exec.Command(filepath.Join(r.dir, "scripts", "diff.sh"), args...)
	cmd.Dir = r.dir
	// CDK's built-in CloudFormation rules take seconds a synth and do not
	// change the templates compared; the stack-level tests run them.
	cmd.Env = append(os.Environ(), "SYNTH_CACHE_DIR="+r.cache, "CDK_VALIDATION=false")
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack several times")
	}
	r := newRepo(t)
	// An added admin CIDR is a new ingress rule; a bigger cache node is an
	// ordinary change.
	r.editConfig(`"adminCidrs": ["203.0.113.0/24"]`, `"adminCidrs": ["203.0.113.0/24", "198.51.100.0/24"]`,
		`"nodeType": "cache.t3.micro"`, `"nodeType": "cache.t3.small"`)
	r.commit("head")

	t.Run("changes are listed and security changes flagged", func(t *testing.T) {
		out, stderr, err := r.diff("HEAD~1")
		require.NoError(t, err, stderr)
		lines := strings.Split(out, "\n")
		require.True(t, strings.HasPrefix(lines[0], "Infrastructure diff of the working tree against HEAD~1 ("), lines[0])
		require.True(t, strings.HasSuffix(lines[0], "): 3 resource(s) changed"), lines[0])
		require.Equal(t, "SECURITY-RELEVANT CHANGES: security groups — review them first.", lines[1])
		require.Contains(t, out, "[~] AWS::EC2::SecurityGroup SecurityGroups/StudioAlb")
		require.Contains(t, out, "[~] AWS::EC2::SecurityGroup SecurityGroups/ManagerAlb")
		require.Contains(t, out, "[~] AWS::ElastiCache::ReplicationGroup Cache/ReplicationGroup")
		require.Contains(t, out, "[+] cache.t3.small")
		require.Regexp(t, `│ \+ │ \$\{SecurityGroups/StudioAlb.GroupId\} +│ In +│ TCP 80 +│ 198\.51\.100\.0/24`, out)
	})
	t.Run("markdown comment", func(t *testing.T) {
		out, stderr, err := r.diff("--markdown", "HEAD~1")
		require.NoError(t, err, stderr)
		require.True(t, strings.HasPrefix(out, "<!-- supabase-on-aws:cdk-diff -->\n### Infrastructure diff against `HEAD~1`"), out)
		require.Contains(t, out, "> **Security-relevant changes:** security groups.")
		require.Contains(t, out, "```text\nStack SupabaseStack\n")
	})
	t.Run("identical inputs", func(t *testing.T) {
		before := cached(t, r.cache)
		out, stderr, err := r.diff("HEAD")
		require.NoError(t, err, stderr)
		require.Regexp(t, `^Infrastructure diff of the working tree against HEAD \([0-9a-f]{12}\): no differences\n$`, out)
		out, _, err = r.diff("--markdown", "HEAD")
		require.NoError(t, err)
		require.Contains(t, out, "No differences")
		require.NotContains(t, out, "Security-relevant")
		require.Equal(t, before, cached(t, r.cache), "HEAD and the working tree were synthesized before: both come from the cache")
	})
	t.Run("base that does not synthesize", func(t *testing.T) {
		r.editConfig(`"maxAzs": 2`, `"maxAzs": 1`)
		r.commit("broken")
		r.editConfig(`"maxAzs": 1`, `"maxAzs": 2`)
		r.commit("fixed")
		_, stderr, err := r.diff("HEAD~1")
		require.Error(t, err)
		require.Equal(t, 2, err.(*exec.ExitError).ExitCode())
		require.Contains(t, stderr, "diff: the base (HEAD~1, ")
		require.Contains(t, stderr, "does not synthesize")
		require.Contains(t, stderr, "network.maxAzs: must be 2..6, got 1")
	})
	t.Run("unknown base", func(t *testing.T) {
		_, stderr, err := r.diff("no-such-branch")
		require.Error(t, err)
		require.Contains(t, stderr, `base "no-such-branch" is not a git revision here`)
	})
}

// cached lists the complete assemblies in a synth cache.
func cached(t *testing.T, dir string) []string {
	t.Helper()
	marks, err := filepath.Glob(filepath.Join(dir, "*", ".complete"))
	require.NoError(t, err)
	return marks
}
