package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// runNodeClient runs `node testdata/<script>` with the test's environment
// plus env and SUPABASE_MANAGEMENT_JS (the absolute path of the
// repository's tools/node_modules/supabase-management-js entry point, which
// the script imports), and returns its standard output. A missing node or
// package fails the test: the real-client tests are part of the suite, and
// scripts/setup.sh installs both.
func runNodeClient(t *testing.T, script string, env []string) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: run scripts/setup.sh (%v)", err)
	}
	// The package directory is services/tenant-manager/internal/app.
	pkg, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "tools", "node_modules", "supabase-management-js", "dist", "index.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pkg); err != nil {
		t.Fatalf("supabase-management-js is not installed in tools/node_modules: run scripts/setup.sh (%v)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", script))
	cmd.Env = append(append(os.Environ(), env...), "SUPABASE_MANAGEMENT_JS="+pkg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", script, err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}
