package app

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// runNodeClient runs script (an ES module) with node from the repository's
// tools/ directory, where supabase-management-js is installed, and returns
// its standard output. A missing node or package fails the test.
func runNodeClient(t *testing.T, script string, env []string) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: run scripts/setup.sh")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var tools string
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "tools")
		if _, err := os.Stat(filepath.Join(cand, "node_modules", "supabase-management-js", "package.json")); err == nil {
			tools = cand
			break
		}
	}
	if tools == "" {
		t.Fatalf("supabase-management-js not installed in tools/node_modules: run scripts/setup.sh")
	}
	f, err := os.CreateTemp(tools, ".nodeclient-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.WriteString(script); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(node, f.Name())
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		err = <-done
	}
	if err != nil {
		t.Fatalf("node client: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}
