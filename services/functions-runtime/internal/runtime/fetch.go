package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"
)

// Function is one function as the tenant-manager serves it.
type Function struct {
	Slug           string  `json:"slug"`
	Version        int     `json:"version"`
	EntrypointPath string  `json:"entrypoint_path"`
	ImportMapPath  *string `json:"import_map_path"`
	VerifyJWT      bool    `json:"verify_jwt"`
	SHA256         string  `json:"sha256"`
	BundleURL      string  `json:"bundle_url"`
}

// Config is GET /project/{id}/functions-config.
type Config struct {
	ProjectID string            `json:"project_id"`
	Functions []Function        `json:"functions"`
	Env       map[string]string `json:"env"`
}

var (
	slugRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,99}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks the configuration without quoting it (it holds secrets).
func (c Config) validate(projectID string) error {
	if c.ProjectID != projectID {
		return fmt.Errorf("the configuration is for another project")
	}
	seen := map[string]bool{}
	for i, f := range c.Functions {
		switch {
		case !slugRe.MatchString(f.Slug) || seen[f.Slug]:
			return fmt.Errorf("function %d: invalid or repeated slug", i)
		case f.Version < 1, f.EntrypointPath == "", !sha256Re.MatchString(f.SHA256):
			return fmt.Errorf("function %s: version, entrypoint_path and sha256 are required", f.Slug)
		case !strings.HasPrefix(f.BundleURL, "https://") && !strings.HasPrefix(f.BundleURL, "http://"):
			return fmt.Errorf("function %s: bundle_url must be an http(s) URL", f.Slug)
		}
		if _, err := cleanRel(f.EntrypointPath); err != nil {
			return fmt.Errorf("function %s: entrypoint_path: %w", f.Slug, err)
		}
		seen[f.Slug] = true
	}
	for k, v := range c.Env {
		if !envRe.MatchString(k) || strings.ContainsRune(v, 0) {
			return fmt.Errorf("env: variable %q cannot be set", k)
		}
	}
	return nil
}

// maxConfigBytes caps the answer: it lists every function and the
// project's environment.
const maxConfigBytes = 16 << 20

// Fetcher reads the configuration with the Lambda's caller identity.
type Fetcher struct{ fetch.Project }

// Fetch makes one attempt.
func (f *Fetcher) Fetch(ctx context.Context) (Config, error) {
	body, err := f.Get(ctx, "functions-config", maxConfigBytes)
	if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(body, &c); err != nil {
		return Config{}, fetch.Permanent(fmt.Errorf("functions-config: the answer is not valid JSON (%d bytes)", len(body)))
	}
	if err := c.validate(f.ProjectID); err != nil {
		return Config{}, fetch.Permanent(fmt.Errorf("functions-config: %w", err))
	}
	return c, nil
}

// FetchWithRetry retries transient failures (5xx, 429, network) with
// capped exponential backoff until ctx ends; a 4xx or bad data ends it.
func FetchWithRetry(ctx context.Context, f *Fetcher) (Config, error) {
	return fetch.Retry(ctx, f.Fetch)
}
