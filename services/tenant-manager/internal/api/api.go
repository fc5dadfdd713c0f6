// Package api is the tenant-manager's HTTP API: management endpoints
// behind the admin token, and the two configuration endpoints behind the
// caller's AWS identity.
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
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/sqlapi"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/thirdparty"
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
	// Region is the platform's AWS region, where every tenant runs.
	Region string
	// SQL runs tenants' SQL for the /v1 database endpoints.
	SQL *sqlapi.Service
	// Usage reads request counts for the usage endpoints (nil: 503).
	Usage UsageReader
	// TPAResolver resolves the hosts of third-party auth URLs when they
	// are configured (nil: the system resolver).
	TPAResolver thirdparty.Resolver
	// FunctionsRole's sessions functions-{id} may read /functions-config.
	FunctionsRole callerid.Role
	// Fleet is the tenant function reconciler (nil: 503).
	Fleet FleetReconciler
	// deploys bounds concurrent function deploys (per project and in all).
	deploys deployGate
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

// ValidateID checks a project id, before anything else is done with it,
// and says what is wrong.
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
	mux.HandleFunc("GET /health", s.handle(s.health))
	mux.HandleFunc("POST /project/create-pgrest-lambda", s.handle(s.admin(s.create)))
	mux.HandleFunc("GET /projects", s.handle(s.admin(s.listProjects)))
	mux.HandleFunc("GET /project/{id}", s.handle(s.admin(withID(s.getProject))))
	mux.HandleFunc("DELETE /project/{id}", s.handle(s.admin(withID(s.deleteProject))))
	mux.HandleFunc("GET /project/{id}/api-keys", s.handle(s.admin(withID(s.listKeys))))
	mux.HandleFunc("POST /project/{id}/api-keys", s.handle(s.admin(withID(s.createKey))))
	mux.HandleFunc("DELETE /project/{id}/api-keys/{keyId}", s.handle(s.admin(withID(s.deleteKey))))
	mux.HandleFunc("POST /project/{id}/jwt-secret/rotate", s.handle(s.admin(withID(s.rotate))))
	s.mountV1Core(mux)
	s.mountControls(mux)
	s.mountV1Database(mux)
	mux.HandleFunc("/project/{id}/config", s.handle(noRoute))
	mux.HandleFunc("/project/{id}/postgrest-config", s.handle(noRoute))
	s.mountUsage(mux)
	s.mountV1ThirdPartyAuth(mux)
	s.mountV1Functions(mux)
	s.mountFleet(mux)
	return s.recoverer(s.rejectEscapedPaths(mux))
}

// InternalHandler serves /health and the two configuration endpoints (read
// with the caller's AWS identity) on the internal listener, and nothing else.
func (s *Server) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handle(s.health))
	mux.HandleFunc("GET /project/{id}/config", s.handle(withID(s.gatewayConfig)))
	mux.HandleFunc("GET /project/{id}/postgrest-config", s.handle(withID(s.postgrestConfig)))
	s.mountFunctionsConfig(mux)
	mux.HandleFunc("/", s.handle(noRoute))
	return s.recoverer(s.rejectEscapedPaths(mux))
}

func noRoute(w http.ResponseWriter, r *http.Request) error {
	return notFound("not_found", "no such endpoint on this listener")
}

// rejectEscapedPaths refuses any percent-encoded request path. The mux
// routes on the decoded path, so /project/x/confi%67 would reach the
// /config handler while path rules in front of the service (which match
// the raw path) let it through. Project ids, key ids and every route here
// are plain ASCII, so no legitimate request needs an escape.
func (s *Server) rejectEscapedPaths(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		raw, _, _ := strings.Cut(r.RequestURI, "?")
		if strings.Contains(raw, "%") || r.URL.RawPath != "" || strings.Contains(r.URL.Path, "%") {
			return badRequest("invalid_path", "the request path must not contain percent-encoding (%XX): project ids, key ids and paths never need it")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// recoverer turns a panic into a 500 without its details.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, errInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// admin lets only requests with the admin token through.
func (s *Server) admin(next handlerFunc) handlerFunc {
	want := sha256.Sum256([]byte(s.AdminToken))
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tenant-manager"`)
			return unauthorized("unauthorized", "missing or invalid admin token: send Authorization: Bearer <admin token>")
		}
		return next(w, r)
	}
}

// withID validates the path's project id before the handler sees it.
func withID(next func(http.ResponseWriter, *http.Request, string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		if err := ValidateID(id); err != nil {
			return badRequest("invalid_project_id", err.Error())
		}
		return next(w, r, id)
	}
}

// decode reads one JSON object into v, rejecting unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Msg: "send a JSON body with Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("invalid_body", "request body is empty: send a JSON object")
		}
		return badRequest("invalid_body", "request body must be a JSON object: "+err.Error())
	}
	if dec.More() {
		return badRequest("invalid_body", "request body must hold exactly one JSON object")
	}
	return nil
}

// health answers in its own shape, not as an error: load balancers and the
// image's health check read "status".
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Log.Warn("not ready", "error", err.Error())
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ProjectID string `json:"projectId"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if err := ValidateID(body.ProjectID); err != nil {
		return badRequest("invalid_project_id", err.Error())
	}
	ctx := r.Context()
	if s.ProvisionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ProvisionTimeout)
		defer cancel()
	}
	created, err := s.Service.Create(ctx, body.ProjectID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, created)
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.Service.Store.ListProjects(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, id string) error {
	p, err := s.Service.Store.GetProject(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, id string) error {
	if err := s.Service.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, id string) error {
	// An unknown project is a 404, not an empty list.
	if _, err := s.Service.Store.GetProject(r.Context(), id); err != nil {
		return err
	}
	keys, err := s.Service.Store.ListAPIKeys(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, id string) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.Type != apikey.Publishable && body.Type != apikey.Secret {
		return badRequest("invalid_key_type", `"type" must be "publishable" or "secret"`)
	}
	if body.Name == "" || len(body.Name) > 100 {
		return badRequest("invalid_key_name", `"name" must be 1 to 100 characters`)
	}
	k, err := s.Service.AddKey(r.Context(), id, body.Name, body.Type)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

// deleteKey takes a key id, or the full key itself (checked offline by its
// checksum before any lookup).
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, id string) error {
	ref := r.PathValue("keyId")
	var keyID, hash string
	switch {
	case uuidRe.MatchString(ref):
		keyID = ref
	case strings.HasPrefix(ref, "sb_"):
		if _, err := apikey.Check(id, ref); err != nil {
			return badRequest("invalid_api_key", err.Error())
		}
		hash = apikey.Hash(ref)
	default:
		return badRequest("invalid_key_id", "the key is named by its id (a UUID) or by the full key")
	}
	k, err := s.Service.Store.FindAPIKey(r.Context(), id, keyID, hash)
	if err != nil {
		return err
	}
	if err := s.Service.RevokeKey(r.Context(), k); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request, id string) error {
	res, err := s.Service.RotateJWTSecret(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// caller proves the caller's AWS identity from its signed STS request and
// returns the assumed role it holds.
func (s *Server) caller(r *http.Request) (callerid.Role, error) {
	arn, err := s.Verifier.Verify(r.Context(), r.Header.Get(callerid.Header))
	if err != nil {
		if errors.Is(err, callerid.ErrUnverifiable) {
			s.Log.Warn("unverifiable caller", "path", r.URL.Path, "reason", err.Error())
			return callerid.Role{}, unauthorized("unauthenticated", err.Error())
		}
		// STS itself failed: the caller may well be legitimate, so it is
		// told to retry rather than refused.
		s.Log.Error("caller verification failed", "path", r.URL.Path, "error", err.Error())
		return callerid.Role{}, unavailable("unavailable", "caller identity could not be checked now; retry")
	}
	role, ok := callerid.AssumedRole(arn)
	if !ok {
		s.Log.Warn("caller is not an assumed role", "path", r.URL.Path, "arn", arn)
		return role, forbidden("this caller may not read project configuration")
	}
	return role, nil
}

func (s *Server) gatewayConfig(w http.ResponseWriter, r *http.Request, id string) error {
	role, err := s.caller(r)
	if err != nil {
		return err
	}
	if role.Account != s.GatewayRole.Account || role.Name != s.GatewayRole.Name {
		s.Log.Warn("forbidden config read", "project_id", id, "role", role.Name, "session", role.Session)
		return forbidden("only the gateway may read /config")
	}
	c, err := s.Service.GatewayConfig(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) postgrestConfig(w http.ResponseWriter, r *http.Request, id string) error {
	role, err := s.caller(r)
	if err != nil {
		return err
	}
	// Lambda's session name is the function name: postgrest-<id>.
	if role.Account != s.TenantRole.Account || role.Name != s.TenantRole.Name || role.Session != "postgrest-"+id {
		s.Log.Warn("forbidden postgrest-config read", "project_id", id, "role", role.Name, "session", role.Session)
		return forbidden("only the project's own PostgREST function may read its postgrest-config")
	}
	c, err := s.Service.PostgrestConfig(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
