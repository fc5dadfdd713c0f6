package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
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

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Fetcher reads the configuration with the Lambda's caller identity.
type Fetcher struct {
	Client    *http.Client
	BaseURL   string
	ProjectID string
	Identity  func(ctx context.Context) (string, error)
}

// Fetch makes one attempt.
func (f *Fetcher) Fetch(ctx context.Context) (Config, error) {
	endpoint := strings.TrimRight(f.BaseURL, "/") + "/project/" + url.PathEscape(f.ProjectID) + "/functions-config"
	id, err := f.Identity(ctx)
	if err != nil {
		return Config{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return Config{}, permanentError{err}
	}
	req.Header.Set("X-Caller-Identity", id)
	req.Header.Set("Accept", "application/json")
	resp, err := f.Client.Do(req)
	if err != nil {
		return Config{}, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Config{}, fmt.Errorf("GET %s: reading: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("GET %s: HTTP %d%s", endpoint, resp.StatusCode, errorDetail(body))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return Config{}, err
		}
		return Config{}, permanentError{err}
	}
	var c Config
	if err := json.Unmarshal(body, &c); err != nil {
		return Config{}, permanentError{fmt.Errorf("GET %s: the answer is not valid JSON (%d bytes)", endpoint, len(body))}
	}
	if err := c.validate(f.ProjectID); err != nil {
		return Config{}, permanentError{fmt.Errorf("GET %s: %w", endpoint, err)}
	}
	return c, nil
}

// errorDetail quotes the tenant-manager's error message (never secret).
func errorDetail(body []byte) string {
	var e struct{ Error, Code string }
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	return fmt.Sprintf(" (%s: %.200s)", e.Code, e.Error)
}

// FetchWithRetry retries transient failures (5xx, 429, network) with
// capped exponential backoff until ctx ends; a 4xx or bad data ends it.
func FetchWithRetry(ctx context.Context, f *Fetcher) (Config, error) {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := f.Fetch(actx)
		cancel()
		if err == nil {
			return c, nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return Config{}, err
		}
		select {
		case <-ctx.Done():
			return Config{}, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 1600*time.Millisecond)
	}
}
