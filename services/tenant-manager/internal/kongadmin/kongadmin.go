// Package kongadmin is the client of the Kong Admin API endpoints the
// tenant-manager uses: consumers, their key-auth credentials and ACL groups.
package kongadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to Kong's Admin API (port 8001).
type Client struct {
	BaseURL string
	// HTTP is nil for http.DefaultClient.
	HTTP *http.Client
	// Timeout bounds each request, answer included (0: 10 s), so a Kong
	// that accepts but never answers fails the step instead of holding the
	// request open.
	Timeout time.Duration
}

const defaultTimeout = 10 * time.Second

// Error is a non-2xx answer.
type Error struct {
	Op     string
	Status int
}

func (e *Error) Error() string { return fmt.Sprintf("kong admin %s: HTTP %d", e.Op, e.Status) }

func (c *Client) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("kong admin %s %s: no answer within %s: %w", method, path, timeout, err)
		}
		return 0, fmt.Errorf("kong admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("kong admin %s %s: invalid JSON answer", method, path)
		}
	}
	return resp.StatusCode, nil
}

// EnsureConsumer creates the consumer, or finds it when it exists.
func (c *Client) EnsureConsumer(ctx context.Context, username string) error {
	status, err := c.do(ctx, http.MethodPost, "/consumers", map[string]string{"username": username}, nil)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusCreated:
		return nil
	case status == http.StatusConflict:
		st, err := c.do(ctx, http.MethodGet, "/consumers/"+url.PathEscape(username), nil, nil)
		if err != nil {
			return err
		}
		if st != http.StatusOK {
			return &Error{Op: "get consumer", Status: st}
		}
		return nil
	default:
		return &Error{Op: "create consumer", Status: status}
	}
}

// DeleteConsumer removes a consumer with its credentials and ACLs; a
// missing consumer is not an error.
func (c *Client) DeleteConsumer(ctx context.Context, username string) error {
	status, err := c.do(ctx, http.MethodDelete, "/consumers/"+url.PathEscape(username), nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent && status != http.StatusNotFound {
		return &Error{Op: "delete consumer", Status: status}
	}
	return nil
}

// AddKey registers a key-auth credential and returns its id.
func (c *Client) AddKey(ctx context.Context, username, key string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	status, err := c.do(ctx, http.MethodPost, "/consumers/"+url.PathEscape(username)+"/key-auth", map[string]string{"key": key}, &out)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated || out.ID == "" {
		return "", &Error{Op: "add key-auth credential", Status: status}
	}
	return out.ID, nil
}

// DeleteKey revokes a key-auth credential; a missing one is not an error.
func (c *Client) DeleteKey(ctx context.Context, username, credentialID string) error {
	status, err := c.do(ctx, http.MethodDelete, "/consumers/"+url.PathEscape(username)+"/key-auth/"+url.PathEscape(credentialID), nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent && status != http.StatusNotFound {
		return &Error{Op: "delete key-auth credential", Status: status}
	}
	return nil
}

// AddACL puts the consumer in an ACL group; being in it already is fine.
func (c *Client) AddACL(ctx context.Context, username, group string) error {
	status, err := c.do(ctx, http.MethodPost, "/consumers/"+url.PathEscape(username)+"/acls", map[string]string{"group": group}, nil)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		return &Error{Op: "add acl", Status: status}
	}
	return nil
}
