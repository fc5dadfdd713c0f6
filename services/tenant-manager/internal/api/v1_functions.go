package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Edge functions and their secrets, in Supabase's Management API v1
// shapes; the runtime's configuration endpoint is on the internal listener.

func (s *Server) mountV1Functions(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{ref}/functions", s.handle(s.admin(withRef(s.v1ListFunctions))))
	mux.HandleFunc("POST /v1/projects/{ref}/functions", s.handle(s.admin(withRef(s.v1CreateFunction))))
	mux.HandleFunc("POST /v1/projects/{ref}/functions/deploy", s.handle(s.admin(withRef(s.v1DeployFunction))))
	mux.HandleFunc("GET /v1/projects/{ref}/functions/{slug}", s.handle(s.admin(withRef(s.v1GetFunction))))
	mux.HandleFunc("PATCH /v1/projects/{ref}/functions/{slug}", s.handle(s.admin(withRef(s.v1UpdateFunction))))
	mux.HandleFunc("DELETE /v1/projects/{ref}/functions/{slug}", s.handle(s.admin(withRef(s.v1DeleteFunction))))
	mux.HandleFunc("GET /v1/projects/{ref}/functions/{slug}/body", s.handle(s.admin(withRef(s.v1FunctionBody))))
	mux.HandleFunc("GET /v1/projects/{ref}/secrets", s.handle(s.admin(withRef(s.v1ListSecrets))))
	mux.HandleFunc("POST /v1/projects/{ref}/secrets", s.handle(s.admin(withRef(s.v1CreateSecrets))))
	mux.HandleFunc("DELETE /v1/projects/{ref}/secrets", s.handle(s.admin(withRef(s.v1DeleteSecrets))))
	mux.HandleFunc("/project/{id}/functions-config", s.handle(noRoute))
}

// mountFunctionsConfig serves the runtime's configuration on the internal
// listener.
func (s *Server) mountFunctionsConfig(mux *http.ServeMux) {
	mux.HandleFunc("GET /project/{id}/functions-config", s.handle(withID(s.functionsConfig)))
}

// slugRe is Supabase's function slug rule, bounded to 100 characters.
var slugRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,99}$`)

func checkSlug(slug string) error {
	if !slugRe.MatchString(slug) {
		return badRequest("invalid_slug", "the function slug must be 1 to 100 characters: a letter, then letters, digits, '_' or '-'")
	}
	return nil
}

// v1Function is Supabase's FunctionResponse (and DeployFunctionResponse);
// times are milliseconds since the epoch, as Supabase's.
type v1Function struct {
	ID             string  `json:"id"`
	Slug           string  `json:"slug"`
	Name           string  `json:"name"`
	Status         string  `json:"status"`
	Version        int     `json:"version"`
	CreatedAt      int64   `json:"created_at"`
	UpdatedAt      int64   `json:"updated_at"`
	VerifyJWT      bool    `json:"verify_jwt"`
	ImportMap      bool    `json:"import_map"`
	EntrypointPath string  `json:"entrypoint_path"`
	ImportMapPath  *string `json:"import_map_path,omitempty"`
	// EzbrSHA256 is the SHA-256 of the stored bundle (a gzipped tar here,
	// not an eszip).
	EzbrSHA256 string `json:"ezbr_sha256"`
}

func v1FunctionOf(f store.EdgeFunction) v1Function {
	return v1Function{ID: f.ID, Slug: f.Slug, Name: f.Name, Status: "ACTIVE", Version: f.Version,
		CreatedAt: f.CreatedAt.UnixMilli(), UpdatedAt: f.UpdatedAt.UnixMilli(), VerifyJWT: f.VerifyJWT,
		ImportMap: f.Active.ImportMapPath != nil, EntrypointPath: f.Active.EntrypointPath, ImportMapPath: f.Active.ImportMapPath, EzbrSHA256: f.Active.SHA256}
}

// edgeError maps the feature's own errors to answers; anything else goes
// to the shared mapping.
func edgeError(err error) error {
	var rerr *provision.EdgeRecycleError
	var capErr *store.EdgeCapError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &capErr):
		return badRequest(capErr.Code, capErr.Msg)
	case errors.Is(err, provision.ErrFunctionsDisabled):
		return unavailable("functions_disabled", "edge functions are not enabled on this platform (FUNCTIONS_BUCKET and FUNCTIONS_IMAGE_URI are unset)")
	case errors.As(err, &rerr):
		return &apiError{Status: http.StatusBadGateway, Code: "recycle_failed", Step: "lambda",
			Msg: "the change was saved, but recycling the project's functions Lambda failed: new instances use it, warm instances may keep serving what was before; repeat the request to recycle"}
	}
	return err
}

func (s *Server) v1ListFunctions(w http.ResponseWriter, r *http.Request, ref string) error {
	if _, err := s.Service.Store.GetProject(r.Context(), ref); err != nil {
		return err
	}
	fns, err := s.Service.Store.ListEdgeFunctions(r.Context(), ref)
	if err != nil {
		return err
	}
	out := make([]v1Function, 0, len(fns))
	for _, f := range fns {
		out = append(out, v1FunctionOf(f))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) v1GetFunction(w http.ResponseWriter, r *http.Request, ref string) error {
	slug := r.PathValue("slug")
	if err := checkSlug(slug); err != nil {
		return err
	}
	f, err := s.Service.Store.GetEdgeFunction(r.Context(), ref, slug)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1FunctionOf(f))
	return nil
}

func (s *Server) v1FunctionBody(w http.ResponseWriter, r *http.Request, ref string) error {
	slug := r.PathValue("slug")
	if err := checkSlug(slug); err != nil {
		return err
	}
	body, err := s.Service.FunctionBody(r.Context(), ref, slug)
	if err != nil {
		return edgeError(err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (s *Server) v1DeleteFunction(w http.ResponseWriter, r *http.Request, ref string) error {
	slug := r.PathValue("slug")
	if err := checkSlug(slug); err != nil {
		return err
	}
	if err := edgeError(s.Service.DeleteFunction(r.Context(), ref, slug)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// v1UpdateFunction is Supabase's PATCH: name, verify_jwt, and body (new
// source of the entrypoint, deployed as a new version with that one file).
func (s *Server) v1UpdateFunction(w http.ResponseWriter, r *http.Request, ref string) error {
	release, err := s.deploys.acquire(ref)
	if err != nil {
		return err
	}
	defer release()
	slug := r.PathValue("slug")
	if err := checkSlug(slug); err != nil {
		return err
	}
	// supabase-management-js sends the JSON body without a Content-Type,
	// which fetch then labels text/plain.
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		r.Header.Del("Content-Type")
	}
	var body struct {
		Name      *string `json:"name"`
		Body      *string `json:"body"`
		VerifyJWT *bool   `json:"verify_jwt"`
	}
	if err := decodeV1Limit(w, r, &body, s.functionBodyLimit()); err != nil {
		return err
	}
	if body.Name != nil {
		if err := checkName("name", *body.Name, 256); err != nil {
			return err
		}
	}
	cur, err := s.Service.Store.GetEdgeFunction(r.Context(), ref, slug)
	if err != nil {
		return err
	}
	if body.Body != nil {
		name, verify := cur.Name, cur.VerifyJWT
		if body.Name != nil {
			name = *body.Name
		}
		if body.VerifyJWT != nil {
			verify = *body.VerifyJWT
		}
		f, _, err := s.Service.DeployFunction(r.Context(), ref, provision.EdgeDeploy{Slug: slug, Name: name, VerifyJWT: verify,
			EntrypointPath: cur.Active.EntrypointPath, Files: []provision.EdgeFile{{Path: cur.Active.EntrypointPath, Data: []byte(*body.Body)}}})
		if err != nil {
			return edgeError(err)
		}
		writeJSON(w, http.StatusOK, v1FunctionOf(f))
		return nil
	}
	f, err := s.Service.UpdateFunction(r.Context(), ref, slug, body.Name, body.VerifyJWT)
	if err != nil {
		return edgeError(err)
	}
	writeJSON(w, http.StatusOK, v1FunctionOf(f))
	return nil
}

// v1CreateFunction is Supabase's older JSON create: one file, index.ts.
func (s *Server) v1CreateFunction(w http.ResponseWriter, r *http.Request, ref string) error {
	release, err := s.deploys.acquire(ref)
	if err != nil {
		return err
	}
	defer release()
	var body struct {
		Slug      string `json:"slug"`
		Name      string `json:"name"`
		Body      string `json:"body"`
		VerifyJWT *bool  `json:"verify_jwt"`
	}
	if err := decodeV1Limit(w, r, &body, s.functionBodyLimit()); err != nil {
		return err
	}
	if err := checkSlug(body.Slug); err != nil {
		return err
	}
	if err := checkName("name", body.Name, 256); err != nil {
		return err
	}
	if body.Body == "" {
		return badRequest("invalid_body", `field "body" (the function's source) is required`)
	}
	if _, err := s.Service.Store.GetEdgeFunction(r.Context(), ref, body.Slug); err == nil {
		return conflict("function_exists", fmt.Sprintf("function %s exists already: deploy a new version with POST /v1/projects/{ref}/functions/deploy?slug=%s", body.Slug, body.Slug))
	}
	verify := body.VerifyJWT == nil || *body.VerifyJWT
	f, _, err := s.Service.DeployFunction(r.Context(), ref, provision.EdgeDeploy{Slug: body.Slug, Name: body.Name, VerifyJWT: verify,
		EntrypointPath: "index.ts", Files: []provision.EdgeFile{{Path: "index.ts", Data: []byte(body.Body)}}})
	if err != nil {
		return edgeError(err)
	}
	writeJSON(w, http.StatusCreated, v1FunctionOf(f))
	return nil
}

func (s *Server) functionBodyLimit() int64 {
	if s.Service.Edge != nil {
		return s.Service.Edge.Settings.MaxBundleBytes + 64<<10
	}
	return v1BodyLimit
}

const (
	maxFunctionFiles = 1000
	maxPathLen       = 1024
	maxMetadataBytes = 64 << 10
)

// entrypointExts are the module types Deno loads as a function's entry.
var entrypointExts = map[string]bool{".ts": true, ".js": true, ".mts": true, ".mjs": true, ".tsx": true, ".jsx": true}

// cleanBundlePath turns a path from the deploy (a relative path, an
// absolute one or a file:// URL, as the Supabase CLI sends) into a relative
// path inside the bundle, refusing anything that could leave it.
func cleanBundlePath(field, p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", badRequest("invalid_path", fmt.Sprintf("%s: %s", field, why))
	}
	p = strings.TrimPrefix(p, "file://")
	switch {
	case p == "":
		return bad("the path is empty")
	case len(p) > maxPathLen:
		return bad(fmt.Sprintf("the path is longer than %d bytes", maxPathLen))
	case !utf8.ValidString(p):
		return bad("the path is not valid UTF-8")
	case strings.Contains(p, `\`):
		return bad(`use '/' to separate directories, not '\'`)
	}
	for _, c := range p {
		if unicode.IsControl(c) {
			return bad("the path contains control characters")
		}
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == ".." {
			return bad("the path must not contain '..'")
		}
	}
	c := strings.TrimLeft(path.Clean("/"+p), "/")
	if c == "" || c == "." {
		return bad("the path names no file")
	}
	return c, nil
}

// deployMetadata is Supabase's FunctionDeployBodyMetadata.
type deployMetadata struct {
	EntrypointPath string   `json:"entrypoint_path"`
	ImportMapPath  *string  `json:"import_map_path"`
	StaticPatterns []string `json:"static_patterns"`
	VerifyJWT      *bool    `json:"verify_jwt"`
	Name           *string  `json:"name"`
}

// v1DeployFunction takes multipart/form-data: a "metadata" part (JSON) and
// "file" parts. Named file parts (the Supabase CLI) keep their names as
// paths; a single unnamed part (supabase-management-js sends file contents
// as plain fields) is the entrypoint.
func (s *Server) v1DeployFunction(w http.ResponseWriter, r *http.Request, ref string) error {
	if s.Service.Edge == nil {
		return edgeError(provision.ErrFunctionsDisabled)
	}
	release, err := s.deploys.acquire(ref)
	if err != nil {
		return err
	}
	defer release()
	slug := r.URL.Query().Get("slug")
	if slug == "" {
		return badRequest("invalid_slug", `query parameter "slug" is required`)
	}
	if err := checkSlug(slug); err != nil {
		return err
	}
	if b, err := boolParam(r, "bundleOnly"); err != nil {
		return err
	} else if b {
		return badRequest("unsupported_query", `bundleOnly=true is not supported: functions are bundled by the runtime`)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Msg: "send multipart/form-data with a \"metadata\" part and \"file\" parts"}
	}
	maxFiles := s.Service.Edge.Settings.MaxBundleBytes
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Msg: fmt.Sprintf("a function's files may total at most %d bytes", maxFiles)}
	// The parts' headers and the metadata come on top of the files.
	limit := maxFiles + maxMetadataBytes + 256<<10
	if r.ContentLength > limit {
		return tooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr := multipart.NewReader(r.Body, params["boundary"])
	var (
		meta    *deployMetadata
		named   []provision.EdgeFile
		unnamed [][]byte
		total   int64
		seen    = map[string]bool{}
		partErr = func(err error) error {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return tooLarge
			}
			return badRequest("invalid_multipart", "the multipart body is malformed")
		}
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return partErr(err)
		}
		switch part.FormName() {
		case "metadata":
			if meta != nil {
				return badRequest("invalid_metadata", `send exactly one "metadata" part`)
			}
			data, err := io.ReadAll(io.LimitReader(part, maxMetadataBytes+1))
			if err != nil {
				return partErr(err)
			}
			if len(data) > maxMetadataBytes {
				return badRequest("invalid_metadata", fmt.Sprintf(`the "metadata" part must be at most %d bytes`, maxMetadataBytes))
			}
			meta = &deployMetadata{}
			if err := decodeMetadata(data, meta); err != nil {
				return err
			}
		case "file":
			if len(named)+len(unnamed) >= maxFunctionFiles {
				return badRequest("too_many_files", fmt.Sprintf("a function may have at most %d files", maxFunctionFiles))
			}
			data, err := io.ReadAll(io.LimitReader(part, maxFiles-total+1))
			if err != nil {
				return partErr(err)
			}
			total += int64(len(data))
			if total > maxFiles {
				return tooLarge
			}
			if part.FileName() == "" {
				unnamed = append(unnamed, data)
				continue
			}
			// FileName drops directories; the raw parameter keeps the
			// path the CLI sent.
			_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			p, err := cleanBundlePath("file name", dp["filename"])
			if err != nil {
				return err
			}
			if seen[p] {
				return badRequest("duplicate_file", fmt.Sprintf("file %s is sent twice", p))
			}
			seen[p] = true
			named = append(named, provision.EdgeFile{Path: p, Data: data})
		default:
			return badRequest("invalid_multipart", fmt.Sprintf("unknown part %q: send \"metadata\" and \"file\" parts", truncate(part.FormName(), 64)))
		}
	}
	if meta == nil {
		return badRequest("invalid_metadata", `the "metadata" part is required`)
	}
	entry, err := cleanBundlePath("metadata.entrypoint_path", meta.EntrypointPath)
	if err != nil {
		return err
	}
	if !entrypointExts[path.Ext(entry)] {
		return badRequest("invalid_entrypoint", "metadata.entrypoint_path must name a .ts, .js, .mts, .mjs, .tsx or .jsx file")
	}
	files := named
	switch {
	case len(unnamed) > 1:
		return badRequest("ambiguous_files", "several file parts have no file name: name each part with its path (filename in Content-Disposition), or send a single unnamed part, which is the entrypoint")
	case len(unnamed) == 1 && seen[entry]:
		return badRequest("ambiguous_files", "a file part has no file name, and the entrypoint is sent as a named part already")
	case len(unnamed) == 1:
		files = append(files, provision.EdgeFile{Path: entry, Data: unnamed[0]})
	case len(files) == 0:
		return badRequest("no_files", `send the function's files as "file" parts`)
	case !seen[entry]:
		return badRequest("invalid_entrypoint", "metadata.entrypoint_path names no file of the deploy")
	}
	var importMap *string
	if meta.ImportMapPath != nil && *meta.ImportMapPath != "" {
		p, err := cleanBundlePath("metadata.import_map_path", *meta.ImportMapPath)
		if err != nil {
			return err
		}
		found := false
		for _, f := range files {
			found = found || f.Path == p
		}
		if !found {
			return badRequest("invalid_import_map", "metadata.import_map_path names no file of the deploy")
		}
		importMap = &p
	}
	name := slug
	if meta.Name != nil && *meta.Name != "" {
		if err := checkName("name", *meta.Name, 256); err != nil {
			return err
		}
		name = *meta.Name
	}
	verify := meta.VerifyJWT == nil || *meta.VerifyJWT
	f, warn, err := s.Service.DeployFunction(r.Context(), ref, provision.EdgeDeploy{Slug: slug, Name: name, VerifyJWT: verify,
		EntrypointPath: entry, ImportMapPath: importMap, Files: files})
	if err != nil {
		return edgeError(err)
	}
	if warn != "" {
		w.Header().Set("Warning", `299 - "`+strings.ReplaceAll(warn, `"`, `'`)+`"`)
	}
	writeJSON(w, http.StatusCreated, v1FunctionOf(f))
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// decodeMetadata reads the metadata part strictly, naming the field at
// fault, never quoting values.
func decodeMetadata(data []byte, m *deployMetadata) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(m)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest("invalid_metadata", fmt.Sprintf("metadata field %q has the wrong type", typeErr.Field))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("invalid_metadata", "unknown metadata field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return badRequest("invalid_metadata", `the "metadata" part must be one JSON object`)
	}
	if dec.More() {
		return badRequest("invalid_metadata", `the "metadata" part must be one JSON object`)
	}
	if m.EntrypointPath == "" {
		return badRequest("invalid_metadata", "metadata.entrypoint_path is required")
	}
	return nil
}

// Secrets.

// secretNameRe: secrets become environment variables of the functions.
var secretNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,255}$`)

const (
	maxSecretValue   = 24576
	maxSecretsPerReq = 100
	secretsBodyLimit = 4 << 20
)

// v1Secret is Supabase's SecretResponse; value is the SHA-256 (hex) of
// the secret's value, never the value.
type v1Secret struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (s *Server) v1ListSecrets(w http.ResponseWriter, r *http.Request, ref string) error {
	if _, err := s.Service.Store.GetProject(r.Context(), ref); err != nil {
		return err
	}
	secrets, err := s.Service.Store.ListEdgeSecretNames(r.Context(), ref)
	if err != nil {
		return err
	}
	out := make([]v1Secret, 0, len(secrets))
	for _, sec := range secrets {
		out = append(out, v1Secret{Name: sec.Name, Value: sec.Digest, UpdatedAt: sec.UpdatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func checkSecretName(name string) error {
	switch {
	case strings.HasPrefix(strings.ToUpper(name), "SUPABASE_"):
		return badRequest("reserved_name", fmt.Sprintf("secret names starting with SUPABASE_ are reserved for the platform (%s)", truncate(name, 64)))
	case !secretNameRe.MatchString(name):
		return badRequest("invalid_name", "a secret name must be 1 to 256 characters: a letter or '_', then letters, digits or '_' (it becomes an environment variable)")
	}
	return nil
}

func (s *Server) v1CreateSecrets(w http.ResponseWriter, r *http.Request, ref string) error {
	var body []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if err := decodeV1Limit(w, r, &body, secretsBodyLimit); err != nil {
		return err
	}
	if len(body) == 0 || len(body) > maxSecretsPerReq {
		return badRequest("invalid_body", fmt.Sprintf("send a list of 1 to %d secrets {name, value}", maxSecretsPerReq))
	}
	seen := map[string]bool{}
	in := make([]provision.EdgeSecretInput, 0, len(body))
	for _, sec := range body {
		if err := checkSecretName(sec.Name); err != nil {
			return err
		}
		if err := checkProcessEnvName(sec.Name); err != nil {
			return err
		}
		if seen[sec.Name] {
			return badRequest("duplicate_name", fmt.Sprintf("secret %s is listed twice", sec.Name))
		}
		seen[sec.Name] = true
		// Names only: the value is secret.
		switch {
		case len(sec.Value) > maxSecretValue:
			return badRequest("invalid_value", fmt.Sprintf("the value of secret %s is longer than %d bytes", sec.Name, maxSecretValue))
		case strings.ContainsRune(sec.Value, 0):
			return badRequest("invalid_value", fmt.Sprintf("the value of secret %s contains a NUL character, which an environment variable cannot hold", sec.Name))
		}
		in = append(in, provision.EdgeSecretInput{Name: sec.Name, Value: sec.Value})
	}
	if err := edgeError(s.Service.SetSecrets(r.Context(), ref, in)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) v1DeleteSecrets(w http.ResponseWriter, r *http.Request, ref string) error {
	var names []string
	if err := decodeV1Limit(w, r, &names, v1BodyLimit); err != nil {
		return err
	}
	if len(names) == 0 || len(names) > maxSecretsPerReq {
		return badRequest("invalid_body", fmt.Sprintf("send a list of 1 to %d secret names", maxSecretsPerReq))
	}
	for _, n := range names {
		if err := checkSecretName(n); err != nil {
			return err
		}
	}
	if err := edgeError(s.Service.DeleteSecrets(r.Context(), ref, names)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// functionsConfig serves the project's functions Lambda its configuration:
// only the session functions-{id} of the functions role may read it.
func (s *Server) functionsConfig(w http.ResponseWriter, r *http.Request, id string) error {
	role, err := s.caller(r)
	if err != nil {
		return err
	}
	if s.FunctionsRole.Name == "" || role.Account != s.FunctionsRole.Account || role.Name != s.FunctionsRole.Name || role.Session != "functions-"+id {
		s.Log.Warn("forbidden functions-config read", "project_id", id, "role", role.Name, "session", role.Session)
		return forbidden("only the project's own functions Lambda may read its functions-config")
	}
	c, err := s.Service.EdgeRuntimeConfig(r.Context(), id)
	if err != nil {
		return edgeError(err)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
