package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/apikey"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

func (s *Server) mountV1APIKeys(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{ref}/api-keys", s.handle(s.admin(withRef(s.v1ListKeys))))
	mux.HandleFunc("POST /v1/projects/{ref}/api-keys", s.handle(s.admin(withRef(s.v1CreateKey))))
	mux.HandleFunc("GET /v1/projects/{ref}/api-keys/{id}", s.handle(s.admin(withRef(s.v1GetKey))))
	mux.HandleFunc("DELETE /v1/projects/{ref}/api-keys/{id}", s.handle(s.admin(withRef(s.v1DeleteKey))))
}

// v1APIKey is Supabase's ApiKeyResponse. APIKey is set only in the answer
// that creates the key: only its hash is stored.
type v1APIKey struct {
	APIKey            *string         `json:"api_key"`
	ID                string          `json:"id"`
	Type              string          `json:"type"`
	Prefix            string          `json:"prefix"`
	Name              string          `json:"name"`
	Description       *string         `json:"description"`
	Hash              *string         `json:"hash"`
	SecretJWTTemplate json.RawMessage `json:"secret_jwt_template"`
	InsertedAt        time.Time       `json:"inserted_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}

func v1KeyOf(k store.APIKey) v1APIKey {
	return v1APIKey{ID: k.ID, Type: k.Type, Prefix: k.Prefix, Name: k.Name, Description: k.Description,
		SecretJWTTemplate: json.RawMessage("null"), InsertedAt: k.CreatedAt.UTC(), UpdatedAt: k.CreatedAt.UTC()}
}

// errNoReveal answers reveal=true: a full key cannot be shown again.
var errNoReveal = badRequest("key_not_retrievable", "full API keys are shown once, in the answer that creates them, and never stored (only their hashes are): create a new key with POST /v1/projects/{ref}/api-keys and delete the old one")

// v1KeyNameRe is Supabase's CreateApiKeyBody name rule.
var v1KeyNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{3,63}$`)

func (s *Server) v1ListKeys(w http.ResponseWriter, r *http.Request, ref string) error {
	reveal, err := boolParam(r, "reveal")
	if err != nil {
		return err
	}
	if reveal {
		return errNoReveal
	}
	if _, err := s.Service.Store.GetProject(r.Context(), ref); err != nil {
		return err
	}
	keys, err := s.Service.Store.ListActiveAPIKeys(r.Context(), ref)
	if err != nil {
		return err
	}
	out := make([]v1APIKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, v1KeyOf(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) v1CreateKey(w http.ResponseWriter, r *http.Request, ref string) error {
	// reveal is accepted either way: the new key is returned this once.
	if _, err := boolParam(r, "reveal"); err != nil {
		return err
	}
	var body struct {
		Type              string          `json:"type"`
		Name              string          `json:"name"`
		Description       *string         `json:"description"`
		SecretJWTTemplate json.RawMessage `json:"secret_jwt_template"`
	}
	if err := decodeV1(w, r, &body); err != nil {
		return err
	}
	if body.Type != apikey.Publishable && body.Type != apikey.Secret {
		return badRequest("invalid_key_type", `field "type" must be "publishable" or "secret"`)
	}
	if !v1KeyNameRe.MatchString(body.Name) {
		return badRequest("invalid_key_name", `field "name" must be 4 to 64 characters of a-z, 0-9 and '_', not starting with a digit`)
	}
	if body.Description != nil && *body.Description != "" {
		if err := checkName("description", *body.Description, 256); err != nil {
			return err
		}
	}
	if len(body.SecretJWTTemplate) > 0 && string(body.SecretJWTTemplate) != "null" {
		return badRequest("unsupported_field", `field "secret_jwt_template" is not supported: secret keys act as service_role`)
	}
	k, err := s.Service.AddDescribedKey(r.Context(), ref, body.Name, body.Type, body.Description)
	if err != nil {
		return err
	}
	out := v1KeyOf(k.APIKey)
	full := k.Key
	out.APIKey = &full
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// v1Key finds a project's key that is not revoked (a revoked key is gone,
// as a deleted one is in Supabase).
func (s *Server) v1Key(r *http.Request, ref string) (store.APIKey, error) {
	id := r.PathValue("id")
	if !uuidRe.MatchString(id) {
		return store.APIKey{}, badRequest("invalid_key_id", "the key id must be a UUID")
	}
	k, err := s.Service.Store.FindAPIKey(r.Context(), ref, id, "")
	if err != nil {
		return k, err
	}
	if k.RevokedAt != nil {
		return k, store.ErrNotFound
	}
	return k, nil
}

func (s *Server) v1GetKey(w http.ResponseWriter, r *http.Request, ref string) error {
	reveal, err := boolParam(r, "reveal")
	if err != nil {
		return err
	}
	if reveal {
		return errNoReveal
	}
	k, err := s.v1Key(r, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1KeyOf(k))
	return nil
}

func (s *Server) v1DeleteKey(w http.ResponseWriter, r *http.Request, ref string) error {
	for _, p := range []string{"reveal", "was_compromised"} {
		if _, err := boolParam(r, p); err != nil {
			return err
		}
	}
	if len(r.URL.Query().Get("reason")) > 256 {
		return badRequest("invalid_query", `query parameter "reason" must be at most 256 characters`)
	}
	k, err := s.v1Key(r, ref)
	if err != nil {
		return err
	}
	if err := s.Service.RevokeKey(r.Context(), k); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1KeyOf(k))
	return nil
}
