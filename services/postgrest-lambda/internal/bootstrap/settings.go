// Package bootstrap fetches a tenant's PostgREST configuration
// and turns it into PostgREST's environment.
package bootstrap

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// Sources of the configuration.
const (
	SourceService        = "service"
	SourceSecretsManager = "secretsmanager"
)

var projectIDRe = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// Settings is the bootstrap's own environment.
type Settings struct {
	ProjectID   string
	Source      string
	ServiceURL  string // CONFIG_SERVICE_URL, for SourceService
	STSEndpoint string
	Region      string
	// PostgrestPath is the binary exec'd once the environment is ready.
	PostgrestPath string
	ServerPort    int
	AdminPort     int
	// DBPool is small: every warm Lambda instance holds its own pool of
	// connections to a worker that many tenants share.
	DBPool int
	// Budget bounds all attempts to fetch the configuration; it stays
	// inside Lambda's 10 s init phase.
	Budget time.Duration
}

// SettingsFromEnv reads and checks the bootstrap's environment. Errors name
// the variable and what it must hold.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		ProjectID:     getenv("PROJECT_ID"),
		Source:        getenv("CONFIG_SOURCE"),
		ServiceURL:    getenv("CONFIG_SERVICE_URL"),
		STSEndpoint:   getenv("STS_ENDPOINT"),
		Region:        getenv("AWS_REGION"),
		PostgrestPath: or(getenv("POSTGREST_PATH"), "/usr/local/bin/postgrest"),
	}
	if !projectIDRe.MatchString(s.ProjectID) {
		return s, fmt.Errorf("PROJECT_ID: %q is not a project id (^[a-z][a-z0-9-]{1,38}[a-z0-9]$)", s.ProjectID)
	}
	if s.Source == "" {
		s.Source = SourceService
	}
	switch s.Source {
	case SourceService:
		u, err := url.Parse(s.ServiceURL)
		if s.ServiceURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("CONFIG_SERVICE_URL: %q is not an http(s) URL (e.g. http://tenant-manager.kong.local:8080)", s.ServiceURL)
		}
		if s.Region == "" {
			return s, fmt.Errorf("AWS_REGION: must be set to sign the caller identity")
		}
		if s.STSEndpoint == "" {
			s.STSEndpoint = "https://sts." + s.Region + ".amazonaws.com"
		}
	case SourceSecretsManager:
	default:
		return s, fmt.Errorf("CONFIG_SOURCE: %q is not %q or %q", s.Source, SourceService, SourceSecretsManager)
	}
	var err error
	if s.ServerPort, err = intEnv(getenv, "PGRST_SERVER_PORT", 3000); err != nil {
		return s, err
	}
	if s.AdminPort, err = intEnv(getenv, "PGRST_ADMIN_SERVER_PORT", 3001); err != nil {
		return s, err
	}
	if s.DBPool, err = intEnv(getenv, "PGRST_DB_POOL", 2); err != nil {
		return s, err
	}
	budget, err := intEnv(getenv, "CONFIG_FETCH_BUDGET_MS", 8000)
	if err != nil {
		return s, err
	}
	s.Budget = time.Duration(budget) * time.Millisecond
	return s, nil
}

func intEnv(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive whole number", name, v)
	}
	return n, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
