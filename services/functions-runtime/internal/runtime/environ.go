package runtime

import (
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

// Environ is Deno's environment: the project's variables from the
// tenant-manager (its secrets, SUPABASE_URL and the keys), then the
// platform's own, which a secret cannot override.
func Environ(parent []string, s Settings, c Config) []string {
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = v
	}
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

// DenoArgs runs the router with the permissions functions get: network
// and environment, reading only their own files and the router, writing
// only the scratch directory. No subprocesses, FFI or system information,
// and nothing else of the file system (so not /proc, where the bootstrap's
// environment could be read).
func DenoArgs(s Settings, manifest string) []string {
	return []string{s.DenoPath, "run",
		"--allow-net", "--allow-env",
		"--allow-read=" + s.FunctionsDir + "," + s.RouterPath + "," + s.ScratchDir,
		"--allow-write=" + s.ScratchDir,
		"--no-prompt",
		s.RouterPath, manifest}
}
