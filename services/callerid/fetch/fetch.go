// Package fetch gets a project's document from the tenant-manager's
// internal listener the way a Lambda bootstrap needs it at a cold start:
// signed with the caller identity, read up to a size cap, and retried with
// backoff while the failure is one that retrying can fix.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid"
)

const (
	// AttemptTimeout bounds one attempt, so that a silent tenant-manager
	// leaves time for the next one within the init phase.
	AttemptTimeout = 3 * time.Second
	firstDelay     = 100 * time.Millisecond
	maxDelay       = 1600 * time.Millisecond
)

// Project reads documents of one project.
type Project struct {
	Client    *http.Client
	BaseURL   string
	ProjectID string
	// Identity returns the X-Caller-Identity value for one request.
	Identity func(ctx context.Context) (string, error)
}

// ForLambda is a Project signed with creds (the Lambda's own role).
func ForLambda(creds aws.CredentialsProvider, baseURL, stsEndpoint, region, projectID string) Project {
	signer := &callerid.Signer{Credentials: creds, STSEndpoint: stsEndpoint, Region: region}
	return Project{
		Client:    &http.Client{Timeout: AttemptTimeout},
		BaseURL:   baseURL,
		ProjectID: projectID,
		Identity:  signer.Sign,
	}
}

// Get makes one attempt at GET {BaseURL}/project/{id}/{doc} and returns the
// body of a 200 answer, reading at most maxBytes. Failures retrying cannot
// fix (a 4xx other than 429) are marked Permanent; the body is never
// quoted, only the tenant-manager's error message.
func (p Project) Get(ctx context.Context, doc string, maxBytes int64) ([]byte, error) {
	endpoint := strings.TrimRight(p.BaseURL, "/") + "/project/" + url.PathEscape(p.ProjectID) + "/" + doc
	id, err := p.Identity(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, Permanent(fmt.Errorf("GET: %w", err))
	}
	req.Header.Set(callerid.Header, id)
	req.Header.Set("Accept", "application/json")
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading response: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("GET %s: HTTP %d%s", endpoint, resp.StatusCode, errorDetail(body))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, err
		}
		return nil, Permanent(err)
	}
	return body, nil
}

// errorDetail quotes the tenant-manager's {"error", "code"} message: its
// error bodies carry no secrets, and anything else is not shown.
func errorDetail(body []byte) string {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	if e.Code != "" {
		return fmt.Sprintf(" (%s: %.200s)", e.Code, e.Error)
	}
	return fmt.Sprintf(" (%.200s)", e.Error)
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying cannot fix; Retry stops
// at it. Wrapping the result with %w keeps the mark.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err carries the Permanent mark.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Retry calls attempt, each call bounded by AttemptTimeout, until it
// succeeds, fails permanently or ctx ends; it waits 100 ms after the first
// transient failure, doubling up to 1.6 s.
func Retry[T any](ctx context.Context, attempt func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	delay := firstDelay
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
		v, err := attempt(actx)
		cancel()
		if err == nil {
			return v, nil
		}
		var zero T
		if IsPermanent(err) {
			return zero, err
		}
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("gave up after %d attempts in %s: %w", n, time.Since(start).Round(time.Millisecond), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, maxDelay)
	}
}
