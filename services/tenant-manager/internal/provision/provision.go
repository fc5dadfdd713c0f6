// Package provision is the tenant lifecycle: create (steps 1–7, each
// undone in reverse when a later one fails), deprovision (the same steps in
// reverse), API keys and JWT secret rotation.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
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
	// EvalConfig runs ConfigCacheScript on key with the document, its
	// version and the TTL in seconds; true when the document was stored,
	// false when the cache holds a newer version.
	EvalConfig(ctx context.Context, key string, doc []byte, version int64, ttlSeconds int) (bool, error)
}

// ConfigCacheScript is the only way the gateway (refilling after a miss)
// and the tenant-manager (writing through after a rotation) write a
// project's cached configuration: a document with a lower version than the
// cached one loses, so a refill that read the old secret before a rotation
// cannot overwrite the new one. Byte-identical to the gateway's copy.
const ConfigCacheScript = `local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if ok and type(doc) == 'table' and tonumber(doc.version) and tonumber(doc.version) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
`

// Service runs the lifecycle.
type Service struct {
	Store     *store.Store
	Box       *secretbox.Box
	Workers   map[string]TenantDB
	Functions Functions
	Gateway   Gateway
	Cache     Cache
	Alarms    Alarms
	Rotation  RotationSettings
	Log       *slog.Logger
	// Controls are the tenant guards; LogGroups (optional) makes the
	// functions' log groups.
	Controls  ControlSettings
	LogGroups LogGroups
	// Edge is the edge functions feature (nil: not enabled).
	Edge *EdgeFunctions

	// retireFailed holds the projects the last retire pass could not
	// finish; the next pass takes them last, so projects that keep hanging
	// cannot use up every pass's deadline before the others get a turn.
	retireMu     sync.Mutex
	retireFailed map[string]bool
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

// ConfigKey is the gateway's cached configuration document of a project.
func ConfigKey(projectID string) string { return "project:cfg:" + projectID }

// Keys of earlier gateway versions; still deleted so none outlives its
// project.
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

// createProject provisions a tenant; the id must be validated by the
// caller. Both management surfaces (Create, CreateManaged) run it.
func (s *Service) createProject(ctx context.Context, projectID string, meta store.ProjectMeta) (*Created, error) {
	start := time.Now()
	undo := &undoStack{log: s.Log}
	fail := func(step string, err error) (*Created, error) {
		undo.run(projectID)
		s.Log.Warn("provisioning failed", "project_id", projectID, "step", step, "error", err.Error())
		return nil, &StepError{Step: step, Err: err}
	}

	// 2. The row first: its primary key decides concurrent creates.
	if err := s.Store.InsertProjectWithMeta(ctx, projectID, meta); err != nil {
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
	if _, err := s.Store.InsertJWTKey(ctx, projectID, sealed); err != nil {
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
	if err := s.createGuards(ctx, db, projectID); err != nil {
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
	if err := s.createLogGroup(ctx, undo, projectID); err != nil {
		return fail("log_group", err)
	}
	undo.push("lambda", func(ctx context.Context) error { return s.Functions.Delete(ctx, projectID) })
	fn, err := s.Functions.Create(ctx, projectID)
	if err != nil {
		return fail("lambda", err)
	}
	if err := s.Store.SetFunction(ctx, projectID, fn.Name, fn.ARN, fn.URL); err != nil {
		return fail("lambda", err)
	}
	if err := s.createConcurrency(ctx, projectID); err != nil {
		return fail("lambda", err)
	}

	// 5b. The project's alarms (its function's metrics exist from now on).
	if s.Alarms != nil {
		undo.push("alarms", func(ctx context.Context) error { return s.Alarms.Delete(ctx, projectID) })
		if err := s.Alarms.Ensure(ctx, projectID); err != nil {
			return fail("alarms", err)
		}
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
	s.createControlHash(ctx, undo, projectID)
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
	// A pause or restore running would undo this delete's steps.
	if err := s.Store.MarkDeprovisioning(ctx, projectID); err != nil {
		return err
	}
	if err := s.deleteEdge(ctx, projectID); err != nil {
		return &StepError{Step: "functions", Err: err}
	}
	for _, role := range []string{"service_role", "anon"} {
		if err := s.Gateway.DeleteConsumer(ctx, Consumer(projectID, role)); err != nil {
			return &StepError{Step: "kong", Err: err}
		}
	}
	if s.Alarms != nil {
		if err := s.Alarms.Delete(ctx, projectID); err != nil {
			return &StepError{Step: "alarms", Err: err}
		}
	}
	if err := s.Functions.Delete(ctx, projectID); err != nil {
		return &StepError{Step: "lambda", Err: err}
	}
	if s.LogGroups != nil {
		if err := s.LogGroups.Delete(ctx, projectID); err != nil {
			return &StepError{Step: "log_group", Err: err}
		}
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
	if err := s.Cache.Del(ctx, ConfigKey(projectID), SecretKey(projectID), FunctionKey(projectID), ControlKey(projectID)); err != nil {
		return &StepError{Step: "cache", Err: err}
	}
	if err := s.Store.DeleteProject(ctx, projectID); err != nil {
		return &StepError{Step: "record", Err: err}
	}
	s.Log.Info("project deprovisioned", "project_id", projectID)
	return nil
}

// addKey creates another key of a type (several may be active at once, so
// keys rotate without downtime) and returns it once.
func (s *Service) addKey(ctx context.Context, projectID, name, typ string, description *string) (*NewKey, error) {
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
	row, err := s.Store.InsertAPIKey(ctx, store.APIKey{ProjectID: projectID, Name: name, Type: typ, Role: role, Prefix: k.Prefix, KongCredentialID: credID, Description: description}, k.Hash)
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

// RotationSettings bound JWT secret rotation.
type RotationSettings struct {
	// Overlap is how long PostgREST keeps accepting the previous secret
	// after the new one became current: JWTs the gateway signed with it
	// live 300 s, and gateways may sign with it until their caches
	// (Redis, then per-worker memory) let go of it.
	Overlap time.Duration
	// RetireInterval is how often the retire loop looks for keys whose
	// overlap has ended.
	RetireInterval time.Duration
	// GatewayCacheTTL is the TTL of the gateway's Redis entries.
	GatewayCacheTTL time.Duration
	// Timeout bounds one rotation; a pending key older than three times
	// this was left by a process that died and is removed.
	Timeout time.Duration
	// RetirePassTimeout bounds one retire pass, so a hung database
	// connection or Lambda call cannot hold the pass (and its lock, which
	// keeps the other tasks out) forever.
	RetirePassTimeout time.Duration
	// RetireProjectTimeout bounds one project within a pass, so one hung
	// project leaves time for the others; default Timeout (a rotation's
	// bound, which covers a recycle), at most RetirePassTimeout.
	RetireProjectTimeout time.Duration
}

// Limits and defaults of the rotation settings.
const (
	jwtLifetime          = 300 * time.Second
	gatewayMemoryCache   = 30 * time.Second
	defaultOverlap       = 1000 * time.Second
	defaultRetire        = 60 * time.Second
	defaultGatewayTTL    = 300 * time.Second
	defaultRotateTimeout = 5 * time.Minute
	// Two projects that hang up to their deadline still leave a pass
	// time to finish.
	defaultRetirePass = 2 * defaultRotateTimeout
)

// RotationSettingsFromEnv reads JWT_ROTATION_OVERLAP_SECONDS (default 1000),
// JWT_RETIRE_INTERVAL_SECONDS (default 60), JWT_RETIRE_PASS_TIMEOUT_SECONDS
// (default 600) and GATEWAY_CACHE_TTL_SECONDS (default 300). The overlap
// must cover a JWT's lifetime plus the time the gateway's caches may still
// hold the previous secret.
func RotationSettingsFromEnv(getenv func(string) string) (RotationSettings, error) {
	r := RotationSettings{Timeout: defaultRotateTimeout}
	seconds := func(name string, def time.Duration, lo, hi int) (time.Duration, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s: must be a whole number of seconds %d..%d, got %q", name, lo, hi, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	var err error
	if r.GatewayCacheTTL, err = seconds("GATEWAY_CACHE_TTL_SECONDS", defaultGatewayTTL, 1, 86400); err != nil {
		return r, err
	}
	if r.RetireInterval, err = seconds("JWT_RETIRE_INTERVAL_SECONDS", defaultRetire, 1, 3600); err != nil {
		return r, err
	}
	// At least a minute: a recycle that waits out another update needs
	// some.
	if r.RetirePassTimeout, err = seconds("JWT_RETIRE_PASS_TIMEOUT_SECONDS", defaultRetirePass, 60, 3600); err != nil {
		return r, err
	}
	minOverlap := int((jwtLifetime + r.GatewayCacheTTL + gatewayMemoryCache).Seconds())
	if r.Overlap, err = seconds("JWT_ROTATION_OVERLAP_SECONDS", defaultOverlap, minOverlap, 7*86400); err != nil {
		return r, fmt.Errorf("%w (at least the JWT lifetime 300 s + GATEWAY_CACHE_TTL_SECONDS + 30 s)", err)
	}
	if r.Overlap < time.Duration(minOverlap)*time.Second {
		return r, fmt.Errorf("JWT_ROTATION_OVERLAP_SECONDS: the default 1000 is below %d (the JWT lifetime 300 s + GATEWAY_CACHE_TTL_SECONDS + 30 s): set it", minOverlap)
	}
	return r, nil
}

func (s *Service) rotation() RotationSettings {
	r := s.Rotation
	if r.Overlap <= 0 {
		r.Overlap = defaultOverlap
	}
	if r.GatewayCacheTTL <= 0 {
		r.GatewayCacheTTL = defaultGatewayTTL
	}
	if r.RetireInterval <= 0 {
		r.RetireInterval = defaultRetire
	}
	if r.Timeout <= 0 {
		r.Timeout = defaultRotateTimeout
	}
	return r
}

// ErrRotationInProgress: the project has a pending key already.
var ErrRotationInProgress = store.ErrRotationInProgress

// RotationError is a failed rotation. RolledBack says the database is as
// before it (previous secret current, same version, no pending key).
// Unknown says the promotion may have committed: its reply was lost and
// neither the state check nor discarding the pending key could tell, so
// the new key may be current. Otherwise the previous secret is still
// current but the unused pending key is left until the retire loop removes
// it.
type RotationError struct {
	Step       string
	RolledBack bool
	Unknown    bool
	// ProjectID and KeyID (the new key's id, not secret: JWTs carry it as
	// kid) let the caller check an unknown outcome.
	ProjectID, KeyID string
	// PendingMaxAge is when a left-behind pending key is removed.
	PendingMaxAge time.Duration
	Err           error
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("jwt rotation step %s failed (rolled back: %t, outcome unknown: %t): %v", e.Step, e.RolledBack, e.Unknown, e.Err)
}
func (e *RotationError) Unwrap() error { return e.Err }

// Message is the caller's account of the state after the failure; it
// claims only what the database confirmed.
func (e *RotationError) Message() string {
	if e.Unknown {
		return fmt.Sprintf("JWT secret rotation failed at step %s and its outcome is unknown: the database did not confirm whether the new key %s became current (with the version counted up) or the previous secret remained current. "+
			"GET /project/%s shows jwt_kid and jwt_version: if jwt_kid is %s the rotation took effect (gateways pick the new secret up within their cache TTL); otherwise retry the rotation (while the unused new key is still pending it answers 409 rotation_in_progress, for at most %d minutes)",
			e.Step, e.KeyID, e.ProjectID, e.KeyID, int((e.PendingMaxAge+time.Minute-1)/time.Minute))
	}
	if e.RolledBack {
		return fmt.Sprintf("JWT secret rotation failed at step %s and was rolled back: the previous secret is still the current one (same version) and the new key was discarded before anything was signed with it; the rotation can be retried", e.Step)
	}
	return fmt.Sprintf("JWT secret rotation failed at step %s: the previous secret is still the current one (same version), but the new, never used key could not be discarded yet; it is removed automatically within %d minutes, and until then a new rotation answers 409 rotation_in_progress", e.Step, int((e.PendingMaxAge+time.Minute-1)/time.Minute))
}

// Rotation is the outcome of RotateJWTSecret.
type Rotation struct {
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
	JWTKid    string `json:"jwt_kid"`
	Version   int64  `json:"version"`
	// PreviousKeyAcceptedUntil ends the overlap: until then PostgREST also
	// accepts JWTs signed with the previous secret.
	PreviousKeyAcceptedUntil time.Time `json:"previous_key_accepted_until"`
	// GatewayCache is "updated", "newer_present" (another rotation got
	// there first) or "not_updated" (Redis failed; see Warning).
	GatewayCache string `json:"gateway_cache"`
	Warning      string `json:"warning,omitempty"`
}

// RotateJWTSecret replaces the project's JWT secret without rejecting a
// valid JWT on the way:
//  1. the new secret is stored as pending (one per project, so a
//     concurrent rotation gets ErrRotationInProgress);
//  2. the Lambda is recycled and the update waited for, so every instance
//     then accepts both the current and the pending secret;
//  3. one transaction makes the pending key current, the previous one
//     rotated (accepted for the overlap) and counts the version up;
//  4. the new configuration is written through to the gateway's cache
//     with the versioned script (a failure there is reported, the rotation
//     stands: the cache TTL bounds how long gateways keep the old secret).
//
// A failure in 1–3 discards the pending key, leaving everything as before;
// when the promotion may have committed and neither the state check nor the
// discard can tell, the error says the outcome is unknown instead.
// The retire loop later recycles the Lambda again once the overlap ended.
func (s *Service) RotateJWTSecret(ctx context.Context, projectID string) (*Rotation, error) {
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return nil, err
	}
	r := s.rotation()
	pendingMaxAge := 3 * r.Timeout
	// Run to the end even if the caller goes away: stopping between steps
	// would leave a pending key that blocks further rotations.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.Timeout)
	defer cancel()

	secret, err := randomSecret(32)
	if err != nil {
		return nil, err
	}
	sealed, err := s.Box.Seal(projectID, colJWTSecret, []byte(secret))
	if err != nil {
		return nil, err
	}
	keyID, err := s.Store.InsertPendingJWTKey(ctx, projectID, sealed)
	if err != nil {
		if errors.Is(err, store.ErrRotationInProgress) {
			return nil, err
		}
		return nil, &RotationError{Step: "record", RolledBack: true, Err: err}
	}
	// promoteTried: from the promotion on, a key that is no longer pending
	// may have become current.
	promoteTried := false
	fail := func(step string, err error) (*Rotation, error) {
		undoCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		deleted, derr := s.Store.DeletePendingJWTKey(undoCtx, keyID)
		if derr != nil {
			s.Log.Error("discarding the pending JWT key failed", "project_id", projectID, "error", derr.Error())
		}
		rerr := &RotationError{Step: step, ProjectID: projectID, KeyID: keyID, PendingMaxAge: pendingMaxAge, Err: err}
		switch {
		case deleted:
			// The promotion only changes a pending key, so with the key
			// deleted it cannot have happened, nor happen later.
			rerr.RolledBack = true
		case promoteTried:
			rerr.Unknown = true
		default:
			// Before the promotion the previous secret is current for
			// sure; a key already gone was removed as stale.
			rerr.RolledBack = derr == nil
		}
		s.Log.Warn("jwt secret rotation failed", "project_id", projectID, "step", step, "rolled_back", rerr.RolledBack, "outcome_unknown", rerr.Unknown, "error", err.Error())
		return nil, rerr
	}

	if err := s.Functions.Recycle(ctx, projectID); err != nil {
		return fail("lambda", err)
	}

	promoteTried = true
	version, acceptUntil, err := s.Store.PromoteJWTKey(ctx, projectID, keyID, r.Overlap)
	if err != nil {
		// An error may come back for a commit that happened: the database
		// says which.
		checkCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cur, cerr := s.Store.CurrentJWTKey(checkCtx, projectID)
		cancel()
		if cerr != nil || cur.ID != keyID {
			return fail("promote", err)
		}
		version, acceptUntil = cur.Version, time.Now().Add(r.Overlap)
	}
	res := &Rotation{ProjectID: projectID, Status: "rotated", JWTKid: keyID, Version: version, PreviousKeyAcceptedUntil: acceptUntil.UTC()}
	s.Log.Info("jwt secret rotated", "project_id", projectID, "jwt_kid", keyID, "version", version)

	res.GatewayCache = "updated"
	stored, err := s.writeThrough(ctx, projectID, r.GatewayCacheTTL)
	switch {
	case err != nil:
		s.Log.Warn("writing the new configuration to the gateway cache failed; gateways pick it up when their entry expires", "project_id", projectID, "error", err.Error())
		res.GatewayCache = "not_updated"
		res.Warning = fmt.Sprintf("the rotation is complete, but the gateway cache could not be updated: gateways keep signing with the previous secret for up to %d s (the cache TTL), which PostgREST accepts until previous_key_accepted_until", int(r.GatewayCacheTTL.Seconds()))
	case !stored:
		res.GatewayCache = "newer_present"
	}
	return res, nil
}

// writeThrough stores the project's current gateway configuration in the
// gateway's cache through the versioned script.
func (s *Service) writeThrough(ctx context.Context, projectID string, ttl time.Duration) (bool, error) {
	cfg, err := s.GatewayConfig(ctx, projectID)
	if err != nil {
		return false, err
	}
	doc, err := json.Marshal(cfg)
	if err != nil {
		return false, err
	}
	stored, err := s.Cache.EvalConfig(ctx, ConfigKey(projectID), doc, cfg.Version, int(ttl.Seconds()))
	if err != nil {
		return false, err
	}
	// Earlier gateway versions cached these; none may keep the old secret.
	if err := s.Cache.Del(ctx, SecretKey(projectID), FunctionKey(projectID)); err != nil {
		s.Log.Warn("deleting legacy gateway cache keys failed", "project_id", projectID, "error", err.Error())
	}
	return stored, nil
}

// RetireRotatedKeys recycles the Lambda of every project whose rotated keys
// are past their overlap, so warm instances drop them, then marks them
// retired; a project whose recycle fails is retried on the next call, one
// whose Lambda no longer exists has nothing to recycle and its keys are
// retired. It also removes pending keys left by a rotation whose process
// died. One tenant-manager task runs it at a time (the others skip). The
// pass and each project in it have deadlines, so a hung dependency ends
// the pass and releases the lock instead of stalling retirement.
func (s *Service) RetireRotatedKeys(ctx context.Context) error {
	// Only these settings are read: the loop runs beside requests and
	// tests.
	timeout, passTimeout, projectTimeout := s.Rotation.Timeout, s.Rotation.RetirePassTimeout, s.Rotation.RetireProjectTimeout
	if timeout <= 0 {
		timeout = defaultRotateTimeout
	}
	if passTimeout <= 0 {
		passTimeout = defaultRetirePass
	}
	if projectTimeout <= 0 {
		projectTimeout = timeout
	}
	projectTimeout = min(projectTimeout, passTimeout)
	ctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	_, err := s.Store.TryExclusive(ctx, store.LockJWTRetire, func(ctx context.Context) error {
		if n, err := s.Store.DeleteStalePendingKeys(ctx, 3*timeout); err != nil {
			return err
		} else if n > 0 {
			s.Log.Warn("removed pending JWT keys of rotations that never finished", "keys", n)
		}
		due, err := s.Store.ExpiredRotatedKeys(ctx)
		if err != nil {
			return err
		}
		projects := s.retireOrder(due)
		failed := map[string]bool{}
		var errs []error
		for i, projectID := range projects {
			if ctx.Err() != nil {
				for _, p := range projects[i:] {
					failed[p] = true
				}
				errs = append(errs, fmt.Errorf("the retire pass ran out of time (%s) with %d projects left for the next one: %w", passTimeout, len(projects)-i, ctx.Err()))
				break
			}
			if err := s.retireProject(ctx, projectID, due[projectID], projectTimeout); err != nil {
				failed[projectID] = true
				errs = append(errs, err)
			}
		}
		s.retireMu.Lock()
		s.retireFailed = failed
		s.retireMu.Unlock()
		return errors.Join(errs...)
	})
	return err
}

// retireOrder sorts the due projects by id, those the previous pass could
// not finish last.
func (s *Service) retireOrder(due map[string][]string) []string {
	s.retireMu.Lock()
	last := s.retireFailed
	s.retireMu.Unlock()
	projects := make([]string, 0, len(due))
	for p := range due {
		projects = append(projects, p)
	}
	sort.Slice(projects, func(i, j int) bool {
		if last[projects[i]] != last[projects[j]] {
			return !last[projects[i]]
		}
		return projects[i] < projects[j]
	})
	return projects
}

// retireProject recycles one project's Lambda and retires its expired keys
// within timeout.
func (s *Service) retireProject(ctx context.Context, projectID string, keys []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.Functions.Recycle(ctx, projectID); err != nil {
		if !lambdas.IsNotFound(err) {
			s.Log.Warn("recycling the Lambda to retire rotated JWT keys failed; retried next time", "project_id", projectID, "error", err.Error())
			return err
		}
		// No function, no instance that could still hold the keys (e.g. a
		// delete that failed after removing it); retrying would only log
		// the same failure every pass.
		s.Log.Warn("the project's Lambda does not exist: nothing to recycle, retiring its rotated JWT keys", "project_id", projectID)
	}
	if err := s.Store.RetireJWTKeys(ctx, keys); err != nil {
		s.Log.Warn("marking rotated JWT keys retired failed; retried next time", "project_id", projectID, "error", err.Error())
		return err
	}
	s.Log.Info("rotated JWT keys retired", "project_id", projectID, "keys", len(keys))
	return nil
}

// RetireLoop runs RetireRotatedKeys every interval until ctx ends.
func (s *Service) RetireLoop(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = defaultRetire
	}
	Every(ctx, interval, func() {
		if err := s.RetireRotatedKeys(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("retiring rotated JWT keys", "error", err.Error())
		}
	})
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

// GatewayConfig is what GET /project/{id}/config answers and what the
// gateway caches: the current secret, its key id and the project's version.
type GatewayConfig struct {
	ProjectID   string `json:"project_id"`
	FunctionURL string `json:"function_url"`
	JWTSecret   string `json:"jwt_secret"`
	JWTKid      string `json:"jwt_kid"`
	Version     int64  `json:"version"`
	// Paused and RateLimit (nil: the gateway's default) are the project's
	// controls, as in its control hash.
	Paused    bool       `json:"paused"`
	RateLimit *RateLimit `json:"rate_limit"`
	// ThirdPartyAuth lists the issuers whose tokens the gateway accepts
	// as the role authenticated; absent when there are none.
	ThirdPartyAuth []GatewayTPA `json:"third_party_auth,omitempty"`
	// FunctionsURL is the project's functions Lambda URL (AWS_IAM), null
	// before its first function deploy.
	FunctionsURL *string `json:"functions_url"`
}

// GatewayConfig is served while the project is active, paused, or on its
// way between the two: a paused project's document tells the gateway so.
func (s *Service) GatewayConfig(ctx context.Context, projectID string) (*GatewayConfig, error) {
	// One statement: the version matches the key and the controls.
	g, err := s.Store.GatewayState(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(servedStatuses, g.Status) || g.FunctionURL == nil {
		return nil, fmt.Errorf("%w: project %s is %s", ErrNotActive, projectID, g.Status)
	}
	k := g.Key
	secret, err := s.Box.Open(projectID, colJWTSecret, k.Sealed)
	if err != nil {
		return nil, err
	}
	tpa, err := s.gatewayTPA(ctx, projectID)
	if err != nil {
		return nil, err
	}
	functionsURL, err := s.EdgeFunctionsURL(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return &GatewayConfig{ProjectID: projectID, FunctionURL: *g.FunctionURL, JWTSecret: string(secret), JWTKid: k.ID, Version: k.Version,
		Paused: g.Controls.Paused, RateLimit: rateLimitOf(g.Controls), ThirdPartyAuth: tpa, FunctionsURL: functionsURL}, nil
}

// PostgrestConfig is what GET /project/{id}/postgrest-config answers.
// JWTSecret is a JWKS (PostgREST's jwt-secret takes one).
type PostgrestConfig struct {
	DBURI           string `json:"db_uri"`
	DBSchemas       string `json:"db_schemas"`
	DBAnonRole      string `json:"db_anon_role"`
	JWTSecret       string `json:"jwt_secret"`
	DBUseLegacyGucs bool   `json:"db_use_legacy_gucs"`
	// DBMaxRows null: PostgREST's default (no limit).
	DBMaxRows         *int32 `json:"db_max_rows"`
	DBExtraSearchPath string `json:"db_extra_search_path"`
}

func (s *Service) PostgrestConfig(ctx context.Context, projectID string) (*PostgrestConfig, error) {
	// A paused project's function cannot run (reserved concurrency 0) and
	// its authenticator cannot log in; serving it during the transitions
	// lets a restore's first requests start.
	if err := s.servedProject(ctx, projectID); err != nil {
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
	jwks, err := s.jwks(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return &PostgrestConfig{DBURI: string(uri), DBSchemas: c.DBSchemas, DBAnonRole: c.DBAnonRole, JWTSecret: jwks, DBUseLegacyGucs: c.DBUseLegacyGucs,
		DBMaxRows: c.DBMaxRows, DBExtraSearchPath: c.DBExtraSearchPath}, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	K   string `json:"k"`
}

// jwks lists the keys PostgREST must accept: current, pending (during a
// rotation) and rotated ones inside their overlap. k is the secret string's
// bytes, the HMAC key the gateway signs with.
func (s *Service) jwks(ctx context.Context, projectID string) (string, error) {
	keys, err := s.Store.AcceptedJWTKeys(ctx, projectID)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", store.ErrNotFound
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range keys {
		secret, err := s.Box.Open(projectID, colJWTSecret, k.Sealed)
		if err != nil {
			return "", err
		}
		set.Keys = append(set.Keys, jwk{Kty: "oct", Kid: k.ID, Alg: "HS256", K: base64.RawURLEncoding.EncodeToString(secret)})
	}
	b, err := json.Marshal(set)
	return string(b), err
}
