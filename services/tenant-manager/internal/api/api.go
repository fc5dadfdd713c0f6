// Package api is the tenant-manager's HTTP API (SPEC §6.1): management
// endpoints behind the admin token, and the two configuration endpoints
// behind the caller's AWS identity (§6.6).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/apikey"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/callerid"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Verifier proves a caller's AWS identity.
type Verifier interface {
	Verify(ctx context.Context, header string) (string, error)
}

// Server holds the handlers' dependencies.
type Server struct {
	Service    *provision.Service
	AdminToken string
	Verifier   Verifier
	// GatewayRole and TenantRole are the IAM roles (account and name) whose
	// sessions may read /config and /postgrest-config.
	GatewayRole, TenantRole callerid.Role
	Ready                   func(ctx context.Context) error
	Log                     *slog.Logger
	// ProvisionTimeout bounds a create request's steps (0: no bound of its
	// own); the HTTP server's write timeout must leave room for the undo of
	// a failed create and the answer after it.
	ProvisionTimeout time.Duration
}

var (
	idRe     = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)
	uuidRe   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	reserved = map[string]bool{
		"api": true, "studio": true, "manager": true, "www": true, "admin": true, "kong": true,
		"auth": true, "rest": true, "realtime": true, "storage": true, "functions": true, "health": true,
		"status": true, "mail": true, "smtp": true, "dashboard": true, "supabase": true, "postgres": true,
		"public": true, "root": true, "system": true, "internal": true, "anon": true, "service-role": true,
	}
)

// ValidateID checks a project id (SPEC §6.1 step 1) and says what is wrong.
func ValidateID(id string) error {
	switch {
	case len(id) < 3 || len(id) > 40:
		return fmt.Errorf("project id must be 3 to 40 characters, got %d", len(id))
	case !idRe.MatchString(id):
		return errors.New("project id must be lower-case letters, digits and '-', start with a letter and not end with '-'")
	case strings.Contains(id, "--"):
		return errors.New(`project id must not contain "--" (it separates project and role in Kong consumer names)`)
	case reserved[id]:
		return fmt.Errorf("project id %q is reserved", id)
	}
	return nil
}

// PublicHandler serves the management API (behind the admin token) and
// /health on the public listener. The configuration endpoints are not
// served here at all: their only callers, the gateway and the tenant
// functions, use the internal listener, so no load balancer rule has to
// keep them away from the public.
func (s *Server) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("POST /project/create-pgrest-lambda", s.admin(s.create))
	mux.HandleFunc("GET /projects", s.admin(s.listProjects))
	mux.HandleFunc("GET /project/{id}", s.admin(s.withID(s.getProject)))
	mux.HandleFunc("DELETE /project/{id}", s.admin(s.withID(s.deleteProject)))
	mux.HandleFunc("GET /project/{id}/api-keys", s.admin(s.withID(s.listKeys)))
	mux.HandleFunc("POST /project/{id}/api-keys", s.admin(s.withID(s.createKey)))
	mux.HandleFunc("DELETE /project/{id}/api-keys/{keyId}", s.admin(s.withID(s.deleteKey)))
	mux.HandleFunc("POST /project/{id}/jwt-secret/rotate", s.admin(s.withID(s.rotate)))
	mux.HandleFunc("/project/{id}/config", notFound)
	mux.HandleFunc("/project/{id}/postgrest-config", notFound)
	return s.recoverer(rejectEscapedPaths(mux))
}

// InternalHandler serves /health and the two configuration endpoints (read
// with the caller's AWS identity) on the internal listener, and nothing else.
func (s *Server) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /project/{id}/config", s.withID(s.gatewayConfig))
	mux.HandleFunc("GET /project/{id}/postgrest-config", s.withID(s.postgrestConfig))
	mux.HandleFunc("/", notFound)
	return s.recoverer(rejectEscapedPaths(mux))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not_found", "no such endpoint on this listener")
}

// rejectEscapedPaths refuses any percent-encoded request path. The mux
// routes on the decoded path, so /project/x/confi%67 would reach the
// /config handler while path rules in front of the service (which match
// the raw path) let it through. Project ids, key ids and every route here
// are plain ASCII, so no legitimate request needs an escape.
func rejectEscapedPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		if strings.Contains(raw, "%") || r.URL.RawPath != "" || strings.Contains(r.URL.Path, "%") {
			writeError(w, http.StatusBadRequest, "invalid_path", "the request path must not contain percent-encoding (%XX): project ids, key ids and paths never need it")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Step  string `json:"step,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// recoverer turns a panic into a 500 without its details.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	want := sha256.Sum256([]byte(s.AdminToken))
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tenant-manager"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid admin token: send Authorization: Bearer <admin token>")
			return
		}
		next(w, r)
	}
}

func (s *Server) withID(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := ValidateID(id); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_project_id", err.Error())
			return
		}
		next(w, r, id)
	}
}

// decode reads one JSON object into v, rejecting unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "request body must be a JSON object: " + err.Error()
		if errors.Is(err, io.EOF) {
			msg = "request body is empty: send a JSON object"
		}
		writeError(w, http.StatusBadRequest, "invalid_body", msg)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_body", "request body must hold exactly one JSON object")
		return false
	}
	return true
}

// fail maps service errors to statuses; internals are logged, not sent.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var step *provision.StepError
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "project or key not found")
	case errors.Is(err, store.ErrDuplicate):
		writeError(w, http.StatusConflict, "conflict", "a project with this id exists already")
	case errors.Is(err, provision.ErrNotActive):
		writeError(w, http.StatusConflict, "not_active", err.Error())
	case errors.Is(err, provision.ErrRotationInProgress):
		writeError(w, http.StatusConflict, "rotation_in_progress", "a JWT secret rotation of this project is in progress; retry when it has finished")
	case errors.Is(err, store.ErrNoWorker):
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "no worker instance has room for another tenant: add a worker to database.workers", Code: "no_capacity", Step: "pick_worker"})
	case errors.As(err, &step):
		s.Log.Error("request failed", "path", r.URL.Path, "step", step.Step, "error", err.Error())
		writeJSON(w, http.StatusBadGateway, apiError{Error: fmt.Sprintf("step %s failed; everything done before it was undone, so the request can be retried", step.Step), Code: "step_failed", Step: step.Step})
	default:
		s.Log.Error("request failed", "path", r.URL.Path, "error", err.Error())
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Log.Warn("not ready", "error", err.Error())
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ProjectID string `json:"projectId"`
	}
	if !decode(w, r, &body) {
		return
	}
	if err := ValidateID(body.ProjectID); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_project_id", err.Error())
		return
	}
	ctx := r.Context()
	if s.ProvisionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ProvisionTimeout)
		defer cancel()
	}
	created, err := s.Service.Create(ctx, body.ProjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Service.Store.ListProjects(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, id string) {
	p, err := s.Service.Store.GetProject(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, id string) {
	if err := s.Service.Delete(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, id string) {
	if _, err := s.Service.Store.GetProject(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	keys, err := s.Service.Store.ListAPIKeys(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, id string) {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Type != apikey.Publishable && body.Type != apikey.Secret {
		writeError(w, http.StatusBadRequest, "invalid_key_type", `"type" must be "publishable" or "secret"`)
		return
	}
	if body.Name == "" || len(body.Name) > 100 {
		writeError(w, http.StatusBadRequest, "invalid_key_name", `"name" must be 1 to 100 characters`)
		return
	}
	k, err := s.Service.AddKey(r.Context(), id, body.Name, body.Type)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

// deleteKey takes a key id, or the full key itself (checked offline by its
// checksum before any lookup).
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, id string) {
	ref := r.PathValue("keyId")
	var keyID, hash string
	switch {
	case uuidRe.MatchString(ref):
		keyID = ref
	case strings.HasPrefix(ref, "sb_"):
		if _, err := apikey.Check(id, ref); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_api_key", err.Error())
			return
		}
		hash = apikey.Hash(ref)
	default:
		writeError(w, http.StatusBadRequest, "invalid_key_id", "the key is named by its id (a UUID) or by the full key")
		return
	}
	k, err := s.Service.Store.FindAPIKey(r.Context(), id, keyID, hash)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Service.RevokeKey(r.Context(), k); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request, id string) {
	res, err := s.Service.RotateJWTSecret(r.Context(), id)
	var rerr *provision.RotationError
	if errors.As(err, &rerr) {
		// The message states what the database holds now, rolled back or not.
		s.Log.Error("request failed", "path", r.URL.Path, "step", rerr.Step, "rolled_back", rerr.RolledBack, "error", err.Error())
		writeJSON(w, http.StatusBadGateway, apiError{Error: rerr.Message(), Code: "rotation_failed", Step: rerr.Step})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// caller verifies the §6.6 identity; it writes 401/503 and returns false
// when there is none.
func (s *Server) caller(w http.ResponseWriter, r *http.Request) (callerid.Role, bool) {
	arn, err := s.Verifier.Verify(r.Context(), r.Header.Get(callerid.Header))
	if err != nil {
		if errors.Is(err, callerid.ErrUnverifiable) {
			s.Log.Warn("unverifiable caller", "path", r.URL.Path, "reason", err.Error())
			writeError(w, http.StatusUnauthorized, "unauthenticated", err.Error())
		} else {
			s.Log.Error("caller verification failed", "path", r.URL.Path, "error", err.Error())
			writeError(w, http.StatusServiceUnavailable, "unavailable", "caller identity could not be checked now; retry")
		}
		return callerid.Role{}, false
	}
	role, ok := callerid.AssumedRole(arn)
	if !ok {
		s.Log.Warn("caller is not an assumed role", "path", r.URL.Path, "arn", arn)
		writeError(w, http.StatusForbidden, "forbidden", "this caller may not read project configuration")
		return role, false
	}
	return role, true
}

func (s *Server) gatewayConfig(w http.ResponseWriter, r *http.Request, id string) {
	role, ok := s.caller(w, r)
	if !ok {
		return
	}
	if role.Account != s.GatewayRole.Account || role.Name != s.GatewayRole.Name {
		s.Log.Warn("forbidden config read", "project_id", id, "role", role.Name, "session", role.Session)
		writeError(w, http.StatusForbidden, "forbidden", "only the gateway may read /config")
		return
	}
	c, err := s.Service.GatewayConfig(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) postgrestConfig(w http.ResponseWriter, r *http.Request, id string) {
	role, ok := s.caller(w, r)
	if !ok {
		return
	}
	// Lambda's session name is the function name: postgrest-<id>.
	if role.Account != s.TenantRole.Account || role.Name != s.TenantRole.Name || role.Session != "postgrest-"+id {
		s.Log.Warn("forbidden postgrest-config read", "project_id", id, "role", role.Name, "session", role.Session)
		writeError(w, http.StatusForbidden, "forbidden", "only the project's own PostgREST function may read its postgrest-config")
		return
	}
	c, err := s.Service.PostgrestConfig(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
