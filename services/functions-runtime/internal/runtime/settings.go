// Package runtime prepares a project's edge functions for Deno: it fetches
// the project's functions and environment from the tenant-manager (with
// the Lambda's caller identity), downloads and checks the bundles through
// their presigned URLs, unpacks them and builds the environment the
// functions run with.
package runtime

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

var projectIDRe = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// Settings is the bootstrap's own environment.
type Settings struct {
	ProjectID   string
	ServiceURL  string
	STSEndpoint string
	Region      string
	// DenoPath runs RouterPath; FunctionsDir receives the unpacked bundles
	// and the manifest; ScratchDir is where functions may write.
	DenoPath, RouterPath, FunctionsDir, ScratchDir, DenoDir string
	Port                                                    int
	// Budget bounds fetching the configuration and the bundles, inside
	// Lambda's 10 s init phase.
	Budget time.Duration
}

// SettingsFromEnv reads and checks the environment; errors name the
// variable.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		ProjectID:    getenv("PROJECT_ID"),
		ServiceURL:   getenv("CONFIG_SERVICE_URL"),
		Region:       getenv("AWS_REGION"),
		STSEndpoint:  getenv("STS_ENDPOINT"),
		DenoPath:     or(getenv("DENO_PATH"), "/usr/local/bin/deno"),
		RouterPath:   or(getenv("ROUTER_PATH"), "/opt/functions-runtime/router.ts"),
		FunctionsDir: or(getenv("FUNCTIONS_DIR"), "/tmp/functions"),
		ScratchDir:   or(getenv("FUNCTIONS_SCRATCH_DIR"), "/tmp/scratch"),
		DenoDir:      or(getenv("DENO_DIR"), "/tmp/deno-dir"),
	}
	if !projectIDRe.MatchString(s.ProjectID) {
		return s, fmt.Errorf("PROJECT_ID: %q is not a project id", s.ProjectID)
	}
	if u, err := url.Parse(s.ServiceURL); s.ServiceURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, fmt.Errorf("CONFIG_SERVICE_URL: must be the tenant-manager's internal http(s) URL")
	}
	if s.Region == "" {
		return s, fmt.Errorf("AWS_REGION: must be set (Lambda sets it)")
	}
	if s.STSEndpoint == "" {
		s.STSEndpoint = "https://sts." + s.Region + ".amazonaws.com"
	}
	for name, p := range map[string]string{"FUNCTIONS_DIR": s.FunctionsDir, "FUNCTIONS_SCRATCH_DIR": s.ScratchDir, "DENO_DIR": s.DenoDir} {
		if !filepath.IsAbs(p) {
			return s, fmt.Errorf("%s: must be an absolute path", name)
		}
	}
	port, err := intVar(getenv, "AWS_LWA_PORT", 8000, 1, 65535)
	if err != nil {
		return s, err
	}
	s.Port = port
	ms, err := intVar(getenv, "CONFIG_FETCH_BUDGET_MS", 8000, 100, 60000)
	if err != nil {
		return s, err
	}
	s.Budget = time.Duration(ms) * time.Millisecond
	return s, nil
}

func intVar(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: must be a whole number %d..%d, got %q", name, lo, hi, v)
	}
	return n, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
