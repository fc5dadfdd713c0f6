package scripts

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// designRefs are references to the design notes the project was built from,
// which live outside the repository: a reader of the product cannot follow
// them, so comments and documents cite docs/ instead.
var designRefs = []string{"SPEC §", "SPEC.md", "../shared"}

// designRefAllowed are the tracked files that may name them: CI wiring that
// needs the path, and this check itself.
var designRefAllowed = map[string]bool{
	".ci/run":              true,
	"scripts/refs_test.go": true,
}

// designRefIn returns the design reference a line makes, or "".
func designRefIn(line string) string {
	for _, r := range designRefs {
		if strings.Contains(line, r) {
			return r
		}
	}
	return ""
}

func TestNoDesignSpecReferences(t *testing.T) {
	forEachTrackedFile(t, func(f string, _ os.FileInfo, fh *os.File) {
		if designRefAllowed[f] {
			return
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64*1024), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if r := designRefIn(sc.Text()); r != "" {
				t.Errorf("%s:%d: refers to %q, which is not in the repository: cite docs/ (or say it in plain words)", f, n, r)
			}
		}
		require.NoError(t, sc.Err(), f)
	})
}

// forEachTrackedFile calls visit with every regular file git tracks in the
// repository (deleted ones and links left out), opened; it fails the test
// when git listed too few files for the check to mean anything.
func forEachTrackedFile(t *testing.T, visit func(path string, info os.FileInfo, fh *os.File)) {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	require.NoError(t, err)
	checked := 0
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		info, err := os.Lstat(filepath.Join(root, f))
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		fh, err := os.Open(filepath.Join(root, f))
		require.NoError(t, err)
		visit(f, info, fh)
		fh.Close()
		checked++
	}
	require.Greater(t, checked, 100, "git ls-files listed the repository")
}

func TestDesignRefRules(t *testing.T) {
	for _, bad := range []string{
		"// platform (SPEC §5).",
		"The design contract is `../shared/SPEC.md`.",
		"see SPEC.md",
		`"reason": "only the security groups of SPEC §5 reach the instance"`,
		"cp -r ../shared/reference .",
	} {
		require.NotEmpty(t, designRefIn(bad), bad)
	}
	for _, good := range []string{
		"// platform (docs/architecture.md).",
		"SPECIAL § is fine",
		"a shared cache in ../cache",
	} {
		require.Empty(t, designRefIn(good), good)
	}
}
