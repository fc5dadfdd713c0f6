package services

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const calleridModule = "github.com/supabase-on-aws/supabase-on-aws/services/callerid"

// ignored tells whether a Dockerfile.dockerignore keeps path (relative to
// the context) out: the last pattern that matches it or one of its parent
// folders decides, a "!" pattern letting it in.
func ignored(patterns []string, path string) bool {
	out := false
	for _, p := range patterns {
		keep := strings.HasPrefix(p, "!")
		p = strings.TrimSuffix(strings.TrimPrefix(p, "!"), "/")
		if ignoreMatch(p, path) {
			out = !keep
		}
	}
	return out
}

func ignoreMatch(pattern, path string) bool {
	parts := strings.Split(path, "/")
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		for i := range parts {
			if ignoreMatch(rest, strings.Join(parts[i:], "/")) {
				return true
			}
		}
		return false
	}
	for i := 1; i <= len(parts); i++ {
		if ok, _ := filepath.Match(pattern, strings.Join(parts[:i], "/")); ok {
			return true
		}
	}
	return false
}

// calleridImports lists the folders (relative to services/) of the
// callerid packages the non-test Go files below dir import, and of what
// those import in turn.
func calleridImports(t *testing.T, dir string) []string {
	t.Helper()
	seen := map[string]bool{}
	var visit func(dir string)
	visit = func(dir string) {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				rest, ok := strings.CutPrefix(p, calleridModule)
				if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
					continue
				}
				pkg := "callerid" + rest
				if !seen[pkg] {
					seen[pkg] = true
					visit(pkg)
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	visit(dir)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	return out
}

// The images that build from services/ (those with a
// Dockerfile.dockerignore) must get every callerid package
// their code imports (a subpackage is a folder the ignore file must let in
// as well), and none of its tests.
func TestSharedContextHoldsTheImportedPackages(t *testing.T) {
	ignoreFiles, err := filepath.Glob("*/Dockerfile.dockerignore")
	require.NoError(t, err)
	require.NotEmpty(t, ignoreFiles)
	for _, file := range ignoreFiles {
		svc := filepath.Dir(file)
		t.Run(svc, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			patterns := strings.Fields(string(data))
			pkgs := calleridImports(t, svc)
			require.NotEmpty(t, pkgs, "%s imports the callerid module", svc)
			for _, pkg := range pkgs {
				files, err := filepath.Glob(pkg + "/*.go")
				require.NoError(t, err)
				require.NotEmpty(t, files, "%s imports %s, which has no Go files", svc, pkg)
				for _, f := range files {
					require.Equal(t, strings.HasSuffix(f, "_test.go"), ignored(patterns, f),
						"%s: %s must be in the build context, its tests not", svc, f)
				}
			}
		})
	}
}

func TestIgnoredFollowsTheLastMatch(t *testing.T) {
	patterns := []string{"*", "!svc/cmd/", "!callerid/*.go", "**/*_test.go"}
	for path, want := range map[string]bool{
		"svc/cmd/main.go":        false,
		"svc/cmd/main_test.go":   true,
		"svc/internal/x.go":      true,
		"callerid/sign.go":       false,
		"callerid/sign_test.go":  true,
		"callerid/fetch/get.go":  true,
		"callerid/go.mod":        true,
		"other/callerid/sign.go": true,
	} {
		require.Equal(t, want, ignored(patterns, path), path)
	}
}
