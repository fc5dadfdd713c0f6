package provision

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/apikey"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// EdgeStorage keeps function bundles (an S3 bucket).
type EdgeStorage interface {
	Put(ctx context.Context, key string, body []byte) error
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	Delete(ctx context.Context, keys []string) error
	DeletePrefix(ctx context.Context, prefix string) error
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// EdgeRuntime manages a project's functions Lambda.
type EdgeRuntime interface {
	Ensure(ctx context.Context, projectID string) (lambdas.Function, error)
	Delete(ctx context.Context, projectID string) error
	Recycle(ctx context.Context, projectID string) error
}

// EdgeSettings bound edge functions.
type EdgeSettings struct {
	// KeepVersions is how many versions of a function stay stored.
	KeepVersions int
	// MaxBundleBytes bounds a function's files, uncompressed.
	MaxBundleBytes int64
	// ProjectURL is SUPABASE_URL with "{ref}" for the project id ("" = not
	// set).
	ProjectURL string
	// BundleURLTTL is how long the runtime's presigned bundle URLs work.
	BundleURLTTL time.Duration
}

// EdgeFunctions is the edge functions feature: bundle storage and the
// per-project runtime.
type EdgeFunctions struct {
	Storage  EdgeStorage
	Runtime  EdgeRuntime
	Settings EdgeSettings
}

// EdgeFile is one file of a function, its path relative to the bundle.
type EdgeFile struct {
	Path string
	Data []byte
}

// EdgeDeploy is a validated deploy: the API layer checked slug, paths and
// sizes.
type EdgeDeploy struct {
	Slug, Name     string
	VerifyJWT      bool
	EntrypointPath string
	ImportMapPath  *string
	Files          []EdgeFile
}

// EdgeRecycleError: the change is stored, but the functions Lambda could
// not be recycled, so warm instances may still serve what was before.
type EdgeRecycleError struct{ Err error }

func (e *EdgeRecycleError) Error() string {
	return "recycling the functions Lambda failed: " + e.Err.Error()
}
func (e *EdgeRecycleError) Unwrap() error { return e.Err }

// ErrFunctionsDisabled: FUNCTIONS_BUCKET / FUNCTIONS_IMAGE_URI are not set.
var ErrFunctionsDisabled = errors.New("edge functions are not enabled on this platform")

// Sealed-value columns of edge functions.
const (
	colEdgeAnonKey    = "edge_runtime.anon_key"
	colEdgeServiceKey = "edge_runtime.service_key"
)

func edgeSecretColumn(name string) string { return "edge_function_secrets:" + name }

// runtimeKeyNames are the api_keys rows minted for the runtime.
var runtimeKeyNames = map[string]string{apikey.Publishable: "edge_functions_runtime_publishable", apikey.Secret: "edge_functions_runtime_secret"}

// BuildBundle packs a function's files into a gzipped tar, sorted by path
// with fixed times, so the same files always give the same digest.
func BuildBundle(files []EdgeFile) ([]byte, error) {
	sorted := append([]EdgeFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range sorted {
		if err := tw.WriteHeader(&tar.Header{Name: f.Path, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// bundleFile reads one file out of a bundle.
func bundleFile(bundle []byte, path string) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(bundle))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		if h.Name == path {
			return io.ReadAll(io.LimitReader(tr, 64<<20))
		}
	}
}

func (s *Service) edge() (*EdgeFunctions, error) {
	if s.Edge == nil {
		return nil, ErrFunctionsDisabled
	}
	return s.Edge, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// DeployFunction stores a new version of a function and makes it the one
// the project's functions Lambda serves (created on the first deploy).
// Until the version is committed nothing changes: a failure on the way
// (bundle storage, the Lambda) leaves the previous version serving, and
// what the deploy made is removed. warn is set when something after the
// commit did not complete (the gateway cache, the runtime's keys).
func (s *Service) DeployFunction(ctx context.Context, projectID string, d EdgeDeploy) (fn store.EdgeFunction, warn string, err error) {
	e, err := s.edge()
	if err != nil {
		return fn, "", err
	}
	if err := s.deployableProject(ctx, projectID); err != nil {
		return fn, "", err
	}
	bundle, err := BuildBundle(d.Files)
	if err != nil {
		return fn, "", err
	}
	sum := sha256.Sum256(bundle)
	digest := hex.EncodeToString(sum[:])
	suffix, err := randomHex(8)
	if err != nil {
		return fn, "", err
	}
	// A fresh object per deploy: the versions still served are never
	// overwritten.
	key := fmt.Sprintf("projects/%s/functions/%s/%s-%s.tar.gz", projectID, d.Slug, digest[:16], suffix)
	if err := e.Storage.Put(ctx, key, bundle); err != nil {
		return fn, "", &StepError{Step: "storage", Err: err}
	}
	// Run to the end even if the caller goes away: a created Lambda must be
	// recorded or removed.
	ctx = context.WithoutCancel(ctx)
	created := false
	var dropped []string
	err = s.Store.WithProjectLock(ctx, projectID, deployStatuses, func(ctx context.Context, l *store.Locked) error {
		if _, err := l.EdgeRuntime(ctx); errors.Is(err, store.ErrNotFound) {
			created = true
			f, err := e.Runtime.Ensure(ctx, projectID)
			if err != nil {
				return &StepError{Step: "lambda", Err: err}
			}
			if err := s.throttleIfPaused(ctx, projectID, l.Status); err != nil {
				return &StepError{Step: "lambda", Err: err}
			}
			if err := l.SetEdgeRuntime(ctx, store.EdgeRuntime{FunctionName: f.Name, FunctionARN: f.ARN, FunctionURL: f.URL}); err != nil {
				return err
			}
			// The gateway's document gains functions_url: a new version.
			if _, _, err := l.Update(ctx, func(*store.Controls) {}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		_, dropped, err = l.AddEdgeVersion(ctx, store.NewEdgeVersion{Slug: d.Slug, Name: d.Name, VerifyJWT: d.VerifyJWT, BundleKey: key,
			SHA256: digest, SizeBytes: int64(len(bundle)), EntrypointPath: d.EntrypointPath, ImportMapPath: d.ImportMapPath}, e.Settings.KeepVersions)
		return err
	})
	if err != nil {
		undoCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if derr := e.Storage.Delete(undoCtx, []string{key}); derr != nil {
			s.Log.Error("compensation failed", "project_id", projectID, "undo", "function bundle", "error", derr.Error())
		}
		if created {
			if derr := e.Runtime.Delete(undoCtx, projectID); derr != nil {
				s.Log.Error("compensation failed", "project_id", projectID, "undo", "functions lambda", "error", derr.Error())
			}
		}
		s.Log.Warn("function deploy failed", "project_id", projectID, "slug", d.Slug, "error", err.Error())
		return fn, "", err
	}
	if len(dropped) > 0 {
		if derr := e.Storage.Delete(ctx, dropped); derr != nil {
			s.Log.Warn("deleting bundles of old function versions failed; they stay in the bucket", "project_id", projectID, "slug", d.Slug, "error", derr.Error())
		}
	}
	var warnings []string
	if err := s.ensureRuntimeKeys(ctx, projectID); err != nil {
		s.Log.Warn("minting the functions runtime's API keys failed; retried by the next deploy", "project_id", projectID, "error", err.Error())
		warnings = append(warnings, "the functions runtime's API keys could not be created: SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY are unset until the next deploy")
	}
	if created {
		if _, err := s.writeThrough(ctx, projectID, s.rotation().GatewayCacheTTL); err != nil {
			s.Log.Warn("writing the configuration with the functions URL to the gateway cache failed", "project_id", projectID, "error", err.Error())
			warnings = append(warnings, fmt.Sprintf("the gateway routes to the new functions Lambda once its cached configuration expires (up to %d s)", int(s.rotation().GatewayCacheTTL.Seconds())))
		}
	}
	if err := e.Runtime.Recycle(ctx, projectID); err != nil {
		s.Log.Warn("recycling the functions Lambda after a deploy failed", "project_id", projectID, "slug", d.Slug, "error", err.Error())
		return fn, "", &EdgeRecycleError{Err: err}
	}
	fn, err = s.Store.GetEdgeFunction(ctx, projectID, d.Slug)
	s.Log.Info("function deployed", "project_id", projectID, "slug", d.Slug, "version", fn.Version)
	return fn, strings.Join(warnings, "; "), err
}

// ensureRuntimeKeys mints the runtime's publishable and secret key once
// (outside the project lock: a key's row references the project row) and
// keeps them sealed; a concurrent deploy that stored its keys first wins
// and these are revoked.
func (s *Service) ensureRuntimeKeys(ctx context.Context, projectID string) error {
	rt, err := s.Store.GetEdgeRuntime(ctx, projectID)
	if err != nil {
		return err
	}
	if rt.AnonKey != nil && rt.ServiceKey != nil {
		return nil
	}
	sealed := map[string][]byte{}
	var minted []*NewKey
	revoke := func() {
		for _, k := range minted {
			if err := s.RevokeKey(context.WithoutCancel(ctx), k.APIKey); err != nil {
				s.Log.Error("compensation failed", "project_id", projectID, "undo", "runtime api key", "error", err.Error())
			}
		}
	}
	for typ, col := range map[string]string{apikey.Publishable: colEdgeAnonKey, apikey.Secret: colEdgeServiceKey} {
		desc := "made for the project's edge functions (SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY); revoking it takes the key from them"
		k, err := s.addKey(ctx, projectID, runtimeKeyNames[typ], typ, &desc)
		if err != nil {
			revoke()
			return err
		}
		minted = append(minted, k)
		if sealed[col], err = s.Box.Seal(projectID, col, []byte(k.Key)); err != nil {
			revoke()
			return err
		}
	}
	stored, err := s.Store.SetEdgeRuntimeKeys(ctx, projectID, sealed[colEdgeAnonKey], sealed[colEdgeServiceKey])
	if err != nil || !stored {
		revoke()
	}
	return err
}

// recycleEdge recycles the functions Lambda if the project has one.
func (s *Service) recycleEdge(ctx context.Context, projectID string) error {
	e, err := s.edge()
	if err != nil {
		return err
	}
	if _, err := s.Store.GetEdgeRuntime(ctx, projectID); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := e.Runtime.Recycle(ctx, projectID); err != nil {
		return &EdgeRecycleError{Err: err}
	}
	return nil
}

// UpdateFunction changes a function's name or verify_jwt.
func (s *Service) UpdateFunction(ctx context.Context, projectID, slug string, name *string, verifyJWT *bool) (store.EdgeFunction, error) {
	if _, err := s.edge(); err != nil {
		return store.EdgeFunction{}, err
	}
	if err := s.Store.UpdateEdgeFunction(ctx, projectID, slug, name, verifyJWT); err != nil {
		return store.EdgeFunction{}, err
	}
	if verifyJWT != nil {
		if err := s.recycleEdge(ctx, projectID); err != nil {
			return store.EdgeFunction{}, err
		}
	}
	return s.Store.GetEdgeFunction(ctx, projectID, slug)
}

// DeleteFunction removes a function, its versions and their bundles; the
// runtime stops serving it once recycled.
func (s *Service) DeleteFunction(ctx context.Context, projectID, slug string) error {
	e, err := s.edge()
	if err != nil {
		return err
	}
	keys, err := s.Store.DeleteEdgeFunction(ctx, projectID, slug)
	if err != nil {
		return err
	}
	if err := e.Storage.Delete(ctx, keys); err != nil {
		s.Log.Warn("deleting a deleted function's bundles failed; they stay in the bucket until the project is deleted", "project_id", projectID, "slug", slug, "error", err.Error())
	}
	s.Log.Info("function deleted", "project_id", projectID, "slug", slug)
	return s.recycleEdge(ctx, projectID)
}

// FunctionBody is the source of the function's entrypoint (active version).
func (s *Service) FunctionBody(ctx context.Context, projectID, slug string) ([]byte, error) {
	e, err := s.edge()
	if err != nil {
		return nil, err
	}
	f, err := s.Store.GetEdgeFunction(ctx, projectID, slug)
	if err != nil {
		return nil, err
	}
	bundle, err := e.Storage.Get(ctx, f.Active.BundleKey, 2*e.Settings.MaxBundleBytes+(1<<20))
	if err != nil {
		return nil, err
	}
	return bundleFile(bundle, f.Active.EntrypointPath)
}

// EdgeSecretInput is one secret to set.
type EdgeSecretInput struct{ Name, Value string }

// SecretDigest is what a listing shows instead of a value: SHA-256, hex.
func SecretDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// SetSecrets creates or replaces secrets (all or none) and recycles the
// runtime so functions see them.
func (s *Service) SetSecrets(ctx context.Context, projectID string, in []EdgeSecretInput) error {
	if _, err := s.edge(); err != nil {
		return err
	}
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return err
	}
	rows := make([]store.EdgeSecret, 0, len(in))
	for _, sec := range in {
		sealed, err := s.Box.Seal(projectID, edgeSecretColumn(sec.Name), []byte(sec.Value))
		if err != nil {
			return err
		}
		rows = append(rows, store.EdgeSecret{Name: sec.Name, Sealed: sealed, Digest: SecretDigest(sec.Value)})
	}
	if err := s.Store.PutEdgeSecretsCapped(ctx, projectID, rows); err != nil {
		return err
	}
	return s.recycleEdge(ctx, projectID)
}

// DeleteSecrets removes secrets by name and recycles the runtime.
func (s *Service) DeleteSecrets(ctx context.Context, projectID string, names []string) error {
	if _, err := s.edge(); err != nil {
		return err
	}
	if _, err := s.Store.GetProject(ctx, projectID); err != nil {
		return err
	}
	n, err := s.Store.DeleteEdgeSecrets(ctx, projectID, names)
	if err != nil || n == 0 {
		return err
	}
	return s.recycleEdge(ctx, projectID)
}

// RuntimeFunction is one function as the runtime loads it.
type RuntimeFunction struct {
	Slug           string  `json:"slug"`
	Version        int     `json:"version"`
	EntrypointPath string  `json:"entrypoint_path"`
	ImportMapPath  *string `json:"import_map_path"`
	VerifyJWT      bool    `json:"verify_jwt"`
	SHA256         string  `json:"sha256"`
	BundleURL      string  `json:"bundle_url"`
}

// RuntimeConfig is what GET /project/{id}/functions-config answers: the
// active version of every function (a presigned URL of its bundle) and
// the environment every function of the project gets.
type RuntimeConfig struct {
	ProjectID          string            `json:"project_id"`
	Functions          []RuntimeFunction `json:"functions"`
	Env                map[string]string `json:"env"`
	BundleURLExpiresAt time.Time         `json:"bundle_urls_expire_at"`
}

// EdgeRuntimeConfig builds the runtime's configuration. Bundle URLs are
// presigned for this project's active bundles only and expire soon.
func (s *Service) EdgeRuntimeConfig(ctx context.Context, projectID string) (*RuntimeConfig, error) {
	e, err := s.edge()
	if err != nil {
		return nil, err
	}
	if err := s.servedProject(ctx, projectID); err != nil {
		return nil, err
	}
	fns, err := s.Store.ListEdgeFunctions(ctx, projectID)
	if err != nil {
		return nil, err
	}
	ttl := e.Settings.BundleURLTTL
	out := &RuntimeConfig{ProjectID: projectID, Functions: []RuntimeFunction{}, Env: map[string]string{}, BundleURLExpiresAt: time.Now().Add(ttl).UTC()}
	for _, f := range fns {
		u, err := e.Storage.PresignGet(ctx, f.Active.BundleKey, ttl)
		if err != nil {
			return nil, err
		}
		out.Functions = append(out.Functions, RuntimeFunction{Slug: f.Slug, Version: f.Version, EntrypointPath: f.Active.EntrypointPath,
			ImportMapPath: f.Active.ImportMapPath, VerifyJWT: f.VerifyJWT, SHA256: f.Active.SHA256, BundleURL: u})
	}
	secrets, err := s.Store.ListEdgeSecrets(ctx, projectID)
	if err != nil {
		return nil, err
	}
	for _, sec := range secrets {
		v, err := s.Box.Open(projectID, edgeSecretColumn(sec.Name), sec.Sealed)
		if err != nil {
			return nil, err
		}
		out.Env[sec.Name] = string(v)
	}
	if e.Settings.ProjectURL != "" {
		out.Env["SUPABASE_URL"] = strings.ReplaceAll(e.Settings.ProjectURL, "{ref}", projectID)
	}
	rt, err := s.Store.GetEdgeRuntime(ctx, projectID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if rt.AnonKey != nil && rt.ServiceKey != nil {
		anon, err := s.Box.Open(projectID, colEdgeAnonKey, rt.AnonKey)
		if err != nil {
			return nil, err
		}
		service, err := s.Box.Open(projectID, colEdgeServiceKey, rt.ServiceKey)
		if err != nil {
			return nil, err
		}
		out.Env["SUPABASE_ANON_KEY"] = string(anon)
		out.Env["SUPABASE_SERVICE_ROLE_KEY"] = string(service)
		pub, _ := json.Marshal(map[string]string{"default": string(anon)})
		sec, _ := json.Marshal(map[string]string{"default": string(service)})
		out.Env["SUPABASE_PUBLISHABLE_KEYS"] = string(pub)
		out.Env["SUPABASE_SECRET_KEYS"] = string(sec)
	}
	return out, nil
}

// deleteEdge removes the project's functions Lambda and every bundle under
// its prefix (a project deletion's step; both tolerate what is gone).
func (s *Service) deleteEdge(ctx context.Context, projectID string) error {
	if s.Edge == nil {
		return nil
	}
	if err := s.Edge.Runtime.Delete(ctx, projectID); err != nil {
		return err
	}
	return s.Edge.Storage.DeletePrefix(ctx, "projects/"+projectID+"/")
}

// EdgeFunctionsURL is the project's functions Lambda URL, nil before its
// first deploy (or with functions disabled).
func (s *Service) EdgeFunctionsURL(ctx context.Context, projectID string) (*string, error) {
	rt, err := s.Store.GetEdgeRuntime(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rt.FunctionURL, nil
}

// EdgeSettingsFromEnv reads FUNCTIONS_KEEP_VERSIONS (default 5, 1..100),
// FUNCTIONS_MAX_BUNDLE_BYTES (default 20 MiB, 1 KiB..100 MiB),
// FUNCTIONS_PROJECT_URL (SUPABASE_URL, "{ref}" replaced; default unset) and
// FUNCTIONS_BUNDLE_URL_TTL_SECONDS (default 300, 30..3600).
func EdgeSettingsFromEnv(getenv func(string) string) (EdgeSettings, error) {
	st := EdgeSettings{KeepVersions: 5, MaxBundleBytes: 20 << 20, BundleURLTTL: 5 * time.Minute, ProjectURL: getenv("FUNCTIONS_PROJECT_URL")}
	num := func(name string, def, lo, hi int64) (int64, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s: must be a whole number %d..%d, got %q", name, lo, hi, v)
		}
		return n, nil
	}
	keep, err := num("FUNCTIONS_KEEP_VERSIONS", 5, 1, 100)
	if err != nil {
		return st, err
	}
	st.KeepVersions = int(keep)
	if st.MaxBundleBytes, err = num("FUNCTIONS_MAX_BUNDLE_BYTES", 20<<20, 1<<10, 100<<20); err != nil {
		return st, err
	}
	ttl, err := num("FUNCTIONS_BUNDLE_URL_TTL_SECONDS", 300, 30, 3600)
	if err != nil {
		return st, err
	}
	st.BundleURLTTL = time.Duration(ttl) * time.Second
	if u := st.ProjectURL; u != "" && !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return st, fmt.Errorf("FUNCTIONS_PROJECT_URL: must be an http(s) URL, e.g. https://{ref}.supabase.example.com")
	}
	return st, nil
}
