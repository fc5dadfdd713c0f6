package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// passThrough are the Lambda variables functions may see; everything else
// of the bootstrap's environment stays out, above all the role's
// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), which sign the tenant-manager's caller identity.
var passThrough = []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TZ", "LANG"}

// processEnvPrefixes name variables that steer the dynamic loader, libc,
// Deno, V8 or TLS when a process starts or while it runs: a tenant's
// variable with such a name could run native code (LD_PRELOAD with a .so
// from the bundle) or weaken Deno before its permission checks apply.
var processEnvPrefixes = []string{"LD_", "DYLD_", "GLIBC_", "MALLOC_", "DENO_", "NODE_", "V8_", "RUST_", "SSL_", "OPENSSL_", "LC_", "LAMBDA_"}

var processEnvNames = map[string]bool{"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"PATH": true, "HOME": true, "TMPDIR": true, "TZDIR": true, "LANG": true, "_HANDLER": true}

// processEnvName reports whether a tenant may not set the variable name.
func processEnvName(name string) bool {
	u := strings.ToUpper(name)
	if processEnvNames[u] {
		return true
	}
	for _, p := range processEnvPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// Environ is Deno's exec environment: the platform's variables only.
// Nothing the tenant chose (secrets, SUPABASE_URL, keys) is in it, so no
// tenant name can reach the dynamic loader, libc or Deno's start-up; the
// router sets the project's variables itself (see EnvFile).
func Environ(parent []string, s Settings) []string {
	env := map[string]string{}
	get := map[string]string{}
	for _, kv := range parent {
		if k, v, ok := strings.Cut(kv, "="); ok {
			get[k] = v
		}
	}
	for _, k := range passThrough {
		if v, ok := get[k]; ok {
			env[k] = v
		}
	}
	env["SB_REGION"] = s.Region
	env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	env["HOME"] = s.ScratchDir
	env["TMPDIR"] = s.ScratchDir
	env["DENO_DIR"] = s.DenoDir
	env["DENO_NO_UPDATE_CHECK"] = "1"
	env["PORT"] = strconv.Itoa(s.Port)
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ProjectEnv is what the router sets with Deno.env.set before importing
// any function: the project's variables from the tenant-manager (its
// secrets, SUPABASE_URL and the keys), without the names of the exec
// environment (the platform's values win) and without process-steering
// names (the tenant-manager refuses them; this holds even if one slipped
// through).
func ProjectEnv(c Config, exec []string) map[string]string {
	platform := map[string]bool{}
	for _, kv := range exec {
		k, _, _ := strings.Cut(kv, "=")
		platform[k] = true
	}
	out := map[string]string{}
	for k, v := range c.Env {
		if platform[k] || processEnvName(k) || strings.HasPrefix(strings.ToUpper(k), "AWS_") {
			continue
		}
		out[k] = v
	}
	return out
}

// WriteEnvFile writes ProjectEnv to dir/env.json, readable by the
// runtime's user only, and returns its path (the router's second
// argument).
func WriteEnvFile(dir string, env map[string]string) (string, error) {
	b, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "env.json")
	// A file left by an earlier start may have other permissions.
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return p, nil
}

// DenoArgs runs the router with the permissions functions get: network
// and environment, reading only their own files and the router, writing
// only the scratch directory. No subprocesses, FFI or system information,
// and nothing else of the file system (so not /proc, where the bootstrap's
// environment could be read).
func DenoArgs(s Settings, manifest, envFile string) []string {
	return []string{s.DenoPath, "run",
		"--allow-net", "--allow-env",
		"--allow-read=" + s.FunctionsDir + "," + s.RouterPath + "," + s.ScratchDir,
		"--allow-write=" + s.ScratchDir,
		"--no-prompt",
		s.RouterPath, manifest, envFile}
}
