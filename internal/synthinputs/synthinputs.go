// Package synthinputs names what a synthesized template is built from, so
// that tests can keep what they synthesized and reuse it while nothing it is
// built from changed.
package synthinputs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// IsTemplateInput says whether a repository file can change a synthesized
// template: every file but documentation, scripts, CI workflows, the golden
// snapshots and tests outside services/ (except test/main_test.go, which
// builds the app the template tests synthesize). Every file under services/
// counts: the container and Lambda assets are hashed from those directories.
func IsTemplateInput(path string) bool {
	switch {
	case strings.HasPrefix(path, "services/"), path == "test/main_test.go":
		return true
	case strings.HasSuffix(path, "_test.go"), strings.HasSuffix(path, ".md"),
		strings.HasPrefix(path, "docs/"), strings.HasPrefix(path, "scripts/"), strings.HasPrefix(path, ".github/"),
		strings.HasPrefix(path, "test/testdata/snapshot-"):
		return false
	}
	return true
}

// Key hashes extra and the path, content and permissions of every file git
// sees in the checkout at root (tracked, or untracked and not ignored) that
// include accepts. Deleted files and symbolic links are left out.
func Key(root string, include func(path string) bool, extra string) (string, error) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return "", fmt.Errorf("listing the files of %s: %w", root, err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", extra)
	for _, f := range files {
		if !include(f) {
			continue
		}
		info, err := os.Lstat(filepath.Join(root, f))
		if os.IsNotExist(err) || (err == nil && !info.Mode().IsRegular()) {
			continue // deleted in the working tree, or a symbolic link
		}
		if err != nil {
			return "", err
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%x\x00%o\x00", f, sha256.Sum256(data), info.Mode().Perm())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
