package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

func TestHandleMapsErrors(t *testing.T) {
	const leak = "password=hunter2 host=10.0.0.7"
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
		step   string
		logged bool
	}{
		{"bad request", badRequest("invalid_body", "request body is empty: send a JSON object"), 400, "invalid_body", "request body is empty: send a JSON object", "", false},
		{"unauthorized", unauthorized("unauthenticated", "no signature"), 401, "unauthenticated", "no signature", "", false},
		{"forbidden", forbidden("only the gateway may read /config"), 403, "forbidden", "only the gateway may read /config", "", false},
		{"not found", notFound("not_found", "no such endpoint on this listener"), 404, "not_found", "no such endpoint on this listener", "", false},
		{"conflict", conflict("x", "y"), 409, "x", "y", "", false},
		{"unavailable", unavailable("unavailable", "caller identity could not be checked now; retry"), 503, "unavailable", "caller identity could not be checked now; retry", "", false},
		{"wrapped api error", fmt.Errorf("context: %w", badRequest("invalid_key_type", `"type" must be "publishable" or "secret"`)), 400, "invalid_key_type", `"type" must be "publishable" or "secret"`, "", false},
		{"store not found", fmt.Errorf("get %s: %w", leak, store.ErrNotFound), 404, "not_found", "project or key not found", "", false},
		{"duplicate", store.ErrDuplicate, 409, "conflict", "a project with this id exists already", "", false},
		{"not active", fmt.Errorf("%w: project p1 is deleting", provision.ErrNotActive), 409, "not_active", "project is not active: project p1 is deleting", "", false},
		{"rotation in progress", provision.ErrRotationInProgress, 409, "rotation_in_progress", "a JWT secret rotation of this project is in progress; retry when it has finished", "", false},
		{"no capacity", &provision.StepError{Step: "pick_worker", Err: store.ErrNoWorker}, 503, "no_capacity", "no worker instance has room for another tenant: add a worker to database.workers", "pick_worker", false},
		{"step failed", &provision.StepError{Step: "lambda", Err: errors.New(leak)}, 502, "step_failed", "step lambda failed; everything done before it was undone, so the request can be retried", "lambda", true},
		// The step's own cause decides first: a step that found the project gone is a 404.
		{"step wrapping not found", &provision.StepError{Step: "kong", Err: store.ErrNotFound}, 404, "not_found", "project or key not found", "", false},
		{"rotation failed, rolled back", &provision.RotationError{Step: "lambda", RolledBack: true, Err: errors.New(leak)}, 502, "rotation_failed", (&provision.RotationError{Step: "lambda", RolledBack: true}).Message(), "lambda", true},
		{"rotation failed, key left", &provision.RotationError{Step: "cache", PendingMaxAge: 90 * time.Second, Err: store.ErrNotFound}, 502, "rotation_failed", (&provision.RotationError{Step: "cache", PendingMaxAge: 90 * time.Second}).Message(), "cache", true},
		{"unknown", errors.New(leak), 500, "internal", "internal error", "", true},
		{"unknown wrapped", fmt.Errorf("query: %w", errors.New(leak)), 500, "internal", "internal error", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{Log: slog.New(slog.NewTextHandler(&logs, nil))}
			rec := httptest.NewRecorder()
			s.handle(func(http.ResponseWriter, *http.Request) error { return tc.err })(rec, httptest.NewRequest("GET", "/project/p1/x", nil))

			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			want := map[string]string{"error": tc.msg, "code": tc.code}
			if tc.step != "" {
				want["step"] = tc.step
			}
			var got map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), rec.Body.String())
			require.Equal(t, want, got, "the body holds exactly error, code and step")
			require.NotContains(t, rec.Body.String(), "hunter2")

			if tc.logged {
				require.Equal(t, 1, strings.Count(logs.String(), "request failed"), logs.String())
				require.Contains(t, logs.String(), "path=/project/p1/x")
			} else {
				require.Empty(t, logs.String(), "client errors are not logged by the adapter")
			}
		})
	}
}

func TestHandleSuccessWritesOnlyTheHandlersAnswer(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	rec := httptest.NewRecorder()
	s.handle(func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusCreated, map[string]string{"ok": "yes"})
		return nil
	})(rec, httptest.NewRequest("POST", "/", nil))
	require.Equal(t, http.StatusCreated, rec.Code)
	require.JSONEq(t, `{"ok":"yes"}`, rec.Body.String())
}

func TestAdminAndDecodeReturnErrors(t *testing.T) {
	s := &Server{AdminToken: strings.Repeat("t", 32), Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	var body struct {
		Name string `json:"name"`
	}
	h := s.handle(s.admin(func(w http.ResponseWriter, r *http.Request) error {
		if err := decode(w, r, &body); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	}))
	tests := []struct {
		name, auth, ctype, body string
		status                  int
		code, msg               string
	}{
		{"no token", "", "", `{}`, 401, "unauthorized", "missing or invalid admin token: send Authorization: Bearer <admin token>"},
		{"wrong token", "Bearer " + strings.Repeat("u", 32), "", `{}`, 401, "unauthorized", "missing or invalid admin token: send Authorization: Bearer <admin token>"},
		{"media type", "Bearer " + s.AdminToken, "text/plain", `{}`, 415, "unsupported_media_type", "send a JSON body with Content-Type: application/json"},
		{"empty", "Bearer " + s.AdminToken, "application/json", ``, 400, "invalid_body", "request body is empty: send a JSON object"},
		{"unknown field", "Bearer " + s.AdminToken, "", `{"nope":1}`, 400, "invalid_body", `request body must be a JSON object: json: unknown field "nope"`},
		{"two objects", "Bearer " + s.AdminToken, "", `{}{}`, 400, "invalid_body", "request body must hold exactly one JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			rec := httptest.NewRecorder()
			h(rec, req)
			require.Equal(t, tc.status, rec.Code)
			require.JSONEq(t, fmt.Sprintf(`{"error":%q,"code":%q}`, tc.msg, tc.code), rec.Body.String())
			if tc.status == 401 {
				require.Equal(t, `Bearer realm="tenant-manager"`, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"k"}`))
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	rec := httptest.NewRecorder()
	h(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"name":"k"}`, rec.Body.String())
}
