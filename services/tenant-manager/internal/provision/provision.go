// Package provision is the tenant lifecycle of SPEC §6.1: create (steps
// 1–7, each undone in reverse when a later one fails), deprovision (the
// same steps in reverse), API keys and JWT secret rotation.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/apikey"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/secretbox"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// TenantDB creates and drops tenant databases on one worker.
type TenantDB interface {
	Provision(ctx context.Context, projectID, password string) error
	Deprovision(ctx context.Context, projectID string) error
}

// Functions manages tenant Lambdas.
type Functions interface {
	Create(ctx context.Context, projectID string) (lambdas.Function, error)
	Delete(ctx context.Context, projectID string) error
	// Recycle makes running instances pick up a new configuration.
	Recycle(ctx context.Context, projectID string) error
}

// Gateway is the part of Kong's Admin API used here.
type Gateway interface {
	EnsureConsumer(ctx context.Context, username string) error
	DeleteConsumer(ctx context.Context, username string) error
	AddKey(ctx context.Context, username, key string) (string, error)
	DeleteKey(ctx context.Context, username, credentialID string) error
	AddACL(ctx context.Context, username, group string) error
}

// Cache is the gateway's shared Redis cache.
type Cache interface {
	Del(ctx context.Context, keys ...string) error
}

// Service runs the lifecycle.
type Service struct {
	Store     *store.Store
	Box       *secretbox.Box
	Workers   map[string]TenantDB
	Functions Functions
	Gateway   Gateway
	Cache     Cache
	Log       *slog.Logger
}

// StepError says which step failed; everything before it was undone.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s failed: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Consumer is the Kong consumer of a project's role: {id}--{role}.
func Consumer(projectID, role string) string { return projectID + "--" + role }

// aclGroup is the ACL group each role's consumer is in.
var aclGroup = map[string]string{"anon": "anon", "service_role": "admin"}

// Cache keys the gateway reads.
func SecretKey(projectID string) string   { return "jwt:secret:" + projectID }
func FunctionKey(projectID string) string { return "lambda:fn:" + projectID }

// Column names used as associated data of sealed values.
const (
	colJWTSecret = "jwt_keys.secret"
	colDBURI     = "postgrest_config.db_uri"
)

func randomSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewKey is a key as returned once at creation.
type NewKey struct {
	store.APIKey
	Key string `json:"key"`
}

// Created is the outcome of Create.
type Created struct {
	store.Project
	APIKeys []NewKey `json:"api_keys"`
}

// undoStack runs compensations in reverse, with their own deadline so a
// cancelled request still cleans up.
type undoStack struct {
	log   *slog.Logger
	steps []func(context.Context) error
	names []string
}

func (u *undoStack) push(name string, f func(context.Context) error) {
	u.names = append(u.names, name)
	u.steps = append(u.steps, f)
}

func (u *undoStack) run(projectID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := len(u.steps) - 1; i >= 0; i-- {
		if err := u.steps[i](ctx); err != nil {
			u.log.Error("compensation failed", "project_id", projectID, "undo", u.names[i], "error", err.Error())
		}
	}
}

// Create provisions a tenant; the id must be validated by the caller.
func (s *Service) Create(ctx context.Context, projectID string) (*Created, error) {
	start := time.Now()
	undo := &undoStack{log: s.Log}
	fail := func(step string, err error) (*Created, error) {
		undo.run(projectID)
		s.Log.Warn("provisioning failed", "project_id", projectID, "step", step, "error", err.Error())
		return nil, &StepError{Step: step, Err: err}
	}

	// 2. The row first: its primary key decides concurrent creates.
	if err := s.Store.InsertProject(ctx, projectID); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, err
		}
		return nil, &StepError{Step: "record", Err: err}
	}
	undo.push("record", func(ctx context.Context) error { return s.Store.DeleteProject(ctx, projectID) })

	jwtSecret, err := randomSecret(32)
	if err != nil {
		return fail("secrets", err)
	}
	sealed, err := s.Box.Seal(projectID, colJWTSecret, []byte(jwtSecret))
	if err != nil {
		return fail("secrets", err)
	}
	if err := s.Store.InsertJWTKey(ctx, projectID, sealed); err != nil {
		return fail("secrets", err)
	}
	keys := map[string]apikey.Key{}
	for _, typ := range []string{apikey.Publishable, apikey.Secret} {
		if keys[typ], err = apikey.New(projectID, typ); err != nil {
			return fail("secrets", err)
		}
	}

	// 3. A worker.
	w, err := s.Store.AssignWorker(ctx, projectID)
	if err != nil {
		return fail("pick_worker", err)
	}
	db, ok := s.Workers[w.ID]
	if !ok {
		return fail("pick_worker", fmt.Errorf("worker %s is not configured in WORKERS", w.ID))
	}

	// 4. The tenant database.
	password, err := randomSecret(32)
	if err != nil {
		return fail("database", err)
	}
	undo.push("database", func(ctx context.Context) error { return db.Deprovision(ctx, projectID) })
	if err := db.Provision(ctx, projectID, password); err != nil {
		return fail("database", err)
	}
	uri := (&url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(worker.AuthenticatorRole(projectID), password),
		Host:     net.JoinHostPort(w.Endpoint, strconv.Itoa(w.Port)),
		Path:     "/" + worker.DatabaseName(projectID),
		RawQuery: "sslmode=require",
	}).String()
	sealedURI, err := s.Box.Seal(projectID, colDBURI, []byte(uri))
	if err != nil {
		return fail("database", err)
	}
	if err := s.Store.InsertPostgrestConfig(ctx, projectID, sealedURI); err != nil {
		return fail("database", err)
	}

	// 5. The Lambda and its URL.
	undo.push("lambda", func(ctx context.Context) error { return s.Functions.Delete(ctx, projectID) })
	fn, err := s.Functions.Create(ctx, projectID)
	if err != nil {
		return fail("lambda", err)
	}
	if err := s.Store.SetFunction(ctx, projectID, fn.Name, fn.ARN, fn.URL); err != nil {
		return fail("lambda", err)
	}

	// 6. Kong consumers, keys and ACL groups.
	for _, role := range []string{"anon", "service_role"} {
		consumer := Consumer(projectID, role)
		undo.push("kong", func(ctx context.Context) error { return s.Gateway.DeleteConsumer(ctx, consumer) })
		if err := s.Gateway.EnsureConsumer(ctx, consumer); err != nil {
			return fail("kong", err)
		}
		if err := s.Gateway.AddACL(ctx, consumer, aclGroup[role]); err != nil {
			return fail("kong", err)
		}
	}
	var created []NewKey
	for _, typ := range []string{apikey.Publishable, apikey.Secret} {
		k := keys[typ]
		role := apikey.RoleOf(typ)
		credID, err := s.Gateway.AddKey(ctx, Consumer(projectID, role), k.Full)
		if err != nil {
			return fail("kong", err)
		}
		row, err := s.Store.InsertAPIKey(ctx, store.APIKey{ProjectID: projectID, Name: "default " + typ, Type: typ, Role: role, Prefix: k.Prefix, KongCredentialID: credID}, k.Hash)
		if err != nil {
			return fail("kong", err)
		}
		created = append(created, NewKey{APIKey: row, Key: k.Full})
	}

	// 7. Active.
	if err := s.Store.SetStatus(ctx, projectID, "active"); err != nil {
		return fail("activate", err)
	}
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	s.Log.Info("project provisioned", "project_id", projectID, "worker_id", w.ID, "duration_ms", time.Since(start).Milliseconds())
	return &Created{Project: p, APIKeys: created}, nil
}

// Delete deprovisions a project: the creation steps in reverse. Every step
// tolerates what is already gone, so a failed delete can be retried.
func (s *Service) Delete(ctx context.Context, projectID string) error {
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return err
	}
	if err := s.Store.SetStatus(ctx, projectID, "deprovisioning"); err != nil {
		return err
	}
	for _, role := range []string{"service_role", "anon"} {
		if err := s.Gateway.DeleteConsumer(ctx, Consumer(projectID, role)); err != nil {
			return &StepError{Step: "kong", Err: err}
		}
	}
	if err := s.Functions.Delete(ctx, projectID); err != nil {
		return &StepError{Step: "lambda", Err: err}
	}
	if p.WorkerID != nil {
		db, ok := s.Workers[*p.WorkerID]
		if !ok {
			return &StepError{Step: "database", Err: fmt.Errorf("worker %s is not configured in WORKERS", *p.WorkerID)}
		}
		if err := db.Deprovision(ctx, projectID); err != nil {
			return &StepError{Step: "database", Err: err}
		}
	}
	if err := s.Cache.Del(ctx, SecretKey(projectID), FunctionKey(projectID)); err != nil {
		return &StepError{Step: "cache", Err: err}
	}
	if err := s.Store.DeleteProject(ctx, projectID); err != nil {
		return &StepError{Step: "record", Err: err}
	}
	s.Log.Info("project deprovisioned", "project_id", projectID)
	return nil
}

// AddKey creates another key of a type (several may be active at once, so
// keys rotate without downtime) and returns it once.
func (s *Service) AddKey(ctx context.Context, projectID, name, typ string) (*NewKey, error) {
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return nil, err
	}
	k, err := apikey.New(projectID, typ)
	if err != nil {
		return nil, err
	}
	role := apikey.RoleOf(typ)
	credID, err := s.Gateway.AddKey(ctx, Consumer(projectID, role), k.Full)
	if err != nil {
		return nil, &StepError{Step: "kong", Err: err}
	}
	row, err := s.Store.InsertAPIKey(ctx, store.APIKey{ProjectID: projectID, Name: name, Type: typ, Role: role, Prefix: k.Prefix, KongCredentialID: credID}, k.Hash)
	if err != nil {
		undoCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if uerr := s.Gateway.DeleteKey(undoCtx, Consumer(projectID, role), credID); uerr != nil {
			s.Log.Error("compensation failed", "project_id", projectID, "undo", "kong key", "error", uerr.Error())
		}
		return nil, &StepError{Step: "record", Err: err}
	}
	return &NewKey{APIKey: row, Key: k.Full}, nil
}

// RevokeKey removes a key from Kong and marks it revoked.
func (s *Service) RevokeKey(ctx context.Context, k store.APIKey) error {
	if k.KongCredentialID != "" {
		if err := s.Gateway.DeleteKey(ctx, Consumer(k.ProjectID, k.Role), k.KongCredentialID); err != nil {
			return &StepError{Step: "kong", Err: err}
		}
	}
	return s.Store.RevokeAPIKey(ctx, k.ID)
}

// RotateJWTSecret makes a new current secret, marks the old one rotated,
// drops the gateway's cached copies and recycles the tenant's Lambda so it
// verifies with the new secret.
func (s *Service) RotateJWTSecret(ctx context.Context, projectID string) error {
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return err
	}
	secret, err := randomSecret(32)
	if err != nil {
		return err
	}
	sealed, err := s.Box.Seal(projectID, colJWTSecret, []byte(secret))
	if err != nil {
		return err
	}
	if err := s.Store.InsertJWTKey(ctx, projectID, sealed); err != nil {
		return &StepError{Step: "record", Err: err}
	}
	if err := s.Cache.Del(ctx, SecretKey(projectID), FunctionKey(projectID)); err != nil {
		return &StepError{Step: "cache", Err: err}
	}
	if err := s.Functions.Recycle(ctx, projectID); err != nil {
		return &StepError{Step: "lambda", Err: err}
	}
	s.Log.Info("jwt secret rotated", "project_id", projectID)
	return nil
}

func (s *Service) activeProject(ctx context.Context, projectID string) (store.Project, error) {
	p, err := s.Store.GetProject(ctx, projectID)
	if err != nil {
		return p, err
	}
	if p.Status != "active" {
		return p, fmt.Errorf("%w: project %s is %s", ErrNotActive, projectID, p.Status)
	}
	return p, nil
}

// ErrNotActive is for operations on a project being created or deleted.
var ErrNotActive = errors.New("project is not active")

// GatewayConfig is what GET /project/{id}/config answers.
type GatewayConfig struct {
	ProjectID   string `json:"project_id"`
	FunctionURL string `json:"function_url"`
	JWTSecret   string `json:"jwt_secret"`
}

func (s *Service) GatewayConfig(ctx context.Context, projectID string) (*GatewayConfig, error) {
	p, err := s.activeProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	secret, err := s.jwtSecret(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return &GatewayConfig{ProjectID: projectID, FunctionURL: *p.FunctionURL, JWTSecret: secret}, nil
}

// PostgrestConfig is what GET /project/{id}/postgrest-config answers.
type PostgrestConfig struct {
	DBURI           string `json:"db_uri"`
	DBSchemas       string `json:"db_schemas"`
	DBAnonRole      string `json:"db_anon_role"`
	JWTSecret       string `json:"jwt_secret"`
	DBUseLegacyGucs bool   `json:"db_use_legacy_gucs"`
}

func (s *Service) PostgrestConfig(ctx context.Context, projectID string) (*PostgrestConfig, error) {
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return nil, err
	}
	c, err := s.Store.GetPostgrestConfig(ctx, projectID)
	if err != nil {
		return nil, err
	}
	uri, err := s.Box.Open(projectID, colDBURI, c.DBURI)
	if err != nil {
		return nil, err
	}
	secret, err := s.jwtSecret(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return &PostgrestConfig{DBURI: string(uri), DBSchemas: c.DBSchemas, DBAnonRole: c.DBAnonRole, JWTSecret: secret, DBUseLegacyGucs: c.DBUseLegacyGucs}, nil
}

func (s *Service) jwtSecret(ctx context.Context, projectID string) (string, error) {
	sealed, err := s.Store.CurrentJWTKey(ctx, projectID)
	if err != nil {
		return "", err
	}
	b, err := s.Box.Open(projectID, colJWTSecret, sealed)
	return string(b), err
}
