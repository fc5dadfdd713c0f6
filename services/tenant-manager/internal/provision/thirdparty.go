package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// MaxThirdPartyAuth is how many third-party auth entries a project may
// have: each issuer costs the gateway a key-set cache entry and, on a
// token with an unknown kid, a fetch.
const MaxThirdPartyAuth = 10

// tpaStatuses are those in which entries may be added or removed: a
// paused project's change is in its document when it is restored.
var tpaStatuses = []string{"active", "paused"}

// ThirdPartyAuth is Supabase's ThirdPartyAuth answer plus this platform's
// extension fields (audience, client_id, token_use) and, after a change
// Redis did not take, a warning.
type ThirdPartyAuth struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	OIDCIssuerURL *string         `json:"oidc_issuer_url"`
	JWKSURL       *string         `json:"jwks_url"`
	CustomJWKS    json.RawMessage `json:"custom_jwks"`
	// ResolvedJWKS is the inline set for type custom; the tenant-manager
	// never fetches a key set (the gateway does), so it is null otherwise.
	ResolvedJWKS json.RawMessage `json:"resolved_jwks"`
	InsertedAt   time.Time       `json:"inserted_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	ResolvedAt   *time.Time      `json:"resolved_at"`
	Audience     *string         `json:"audience"`
	ClientID     *string         `json:"client_id"`
	TokenUse     *string         `json:"token_use"`
	Warning      string          `json:"warning,omitempty"`
}

func tpaOf(t store.ThirdPartyAuth) ThirdPartyAuth {
	issuer := t.OIDCIssuerURL
	out := ThirdPartyAuth{ID: t.ID, Type: t.Type, OIDCIssuerURL: &issuer, JWKSURL: t.JWKSURL,
		InsertedAt: t.InsertedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), Audience: t.Audience, ClientID: t.ClientID, TokenUse: t.TokenUse}
	if len(t.CustomJWKS) > 0 {
		out.CustomJWKS, out.ResolvedJWKS = t.CustomJWKS, t.CustomJWKS
		at := out.UpdatedAt
		out.ResolvedAt = &at
	}
	return out
}

// GatewayTPA is one third_party_auth entry of the gateway's configuration
// document: jwks_url and custom_jwks both null mean the issuer's discovery
// document names the key set.
type GatewayTPA struct {
	ID         string          `json:"id"`
	Issuer     string          `json:"issuer"`
	JWKSURL    *string         `json:"jwks_url"`
	CustomJWKS json.RawMessage `json:"custom_jwks"`
	Audience   *string         `json:"audience"`
	ClientID   *string         `json:"client_id"`
	TokenUse   *string         `json:"token_use"`
}

// gatewayTPA reads the entries for the configuration document. It is read
// after the document's version: an entry committed in between then shows
// under the older version too, which is harmless, whereas the other order
// could give a newer version with older entries that the versioned cache
// script would keep.
func (s *Service) gatewayTPA(ctx context.Context, projectID string) ([]GatewayTPA, error) {
	list, err := s.Store.ListThirdPartyAuth(ctx, projectID)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]GatewayTPA, 0, len(list))
	for _, t := range list {
		out = append(out, GatewayTPA{ID: t.ID, Issuer: t.OIDCIssuerURL, JWKSURL: t.JWKSURL, CustomJWKS: t.CustomJWKS,
			Audience: t.Audience, ClientID: t.ClientID, TokenUse: t.TokenUse})
	}
	return out, nil
}

// ListThirdPartyAuth lists a project's entries, oldest first.
func (s *Service) ListThirdPartyAuth(ctx context.Context, projectID string) ([]ThirdPartyAuth, error) {
	if _, err := s.Store.GetProject(ctx, projectID); err != nil {
		return nil, err
	}
	list, err := s.Store.ListThirdPartyAuth(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]ThirdPartyAuth, 0, len(list))
	for _, t := range list {
		out = append(out, tpaOf(t))
	}
	return out, nil
}

// GetThirdPartyAuth reads one entry; store.ErrNotFound for an unknown
// project or entry.
func (s *Service) GetThirdPartyAuth(ctx context.Context, projectID, id string) (*ThirdPartyAuth, error) {
	t, err := s.Store.GetThirdPartyAuth(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	out := tpaOf(t)
	return &out, nil
}

// AddThirdPartyAuth stores a checked entry (the caller checked its URLs
// and keys) and tells the gateway: the document version goes up with it
// and the document is written through to Redis, so gateways use it from
// their next configuration read. Allowed while the project is active or
// paused; store.ErrTPALimit beyond MaxThirdPartyAuth, store.ErrTPAExists
// for an issuer the project has already.
func (s *Service) AddThirdPartyAuth(ctx context.Context, projectID string, t store.ThirdPartyAuth) (*ThirdPartyAuth, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transitionTimeout)
	defer cancel()
	t.ProjectID = projectID
	row, version, err := s.Store.AddThirdPartyAuth(ctx, t, tpaStatuses, MaxThirdPartyAuth)
	if err != nil {
		return nil, err
	}
	s.Log.Info("third-party auth added", "project_id", projectID, "tpa_id", row.ID, "type", row.Type, "issuer", row.OIDCIssuerURL, "version", version)
	out := tpaOf(row)
	out.Warning = s.publishTPA(ctx, projectID)
	return &out, nil
}

// DeleteThirdPartyAuth removes an entry and tells the gateway as
// AddThirdPartyAuth does; tokens of that issuer are refused from the
// gateways' next configuration read on.
func (s *Service) DeleteThirdPartyAuth(ctx context.Context, projectID, id string) (*ThirdPartyAuth, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), transitionTimeout)
	defer cancel()
	row, version, err := s.Store.DeleteThirdPartyAuth(ctx, projectID, id, tpaStatuses)
	if err != nil {
		return nil, err
	}
	s.Log.Info("third-party auth removed", "project_id", projectID, "tpa_id", row.ID, "issuer", row.OIDCIssuerURL, "version", version)
	out := tpaOf(row)
	out.Warning = s.publishTPA(ctx, projectID)
	return &out, nil
}

// publishTPA writes the configuration document through with the versioned
// script. A failure does not undo the change, which the database and the
// document served by GET /project/{id}/config hold: it is a warning.
func (s *Service) publishTPA(ctx context.Context, projectID string) string {
	if _, err := s.writeThrough(ctx, projectID, s.rotation().GatewayCacheTTL); err != nil {
		s.Log.Warn("writing the configuration document to the gateway cache failed", "project_id", projectID, "error", err.Error())
		return fmt.Sprintf("the change is stored, but Redis could not be updated: gateways apply it when their cached configuration document expires (at most %d s)",
			int(s.rotation().GatewayCacheTTL.Seconds()))
	}
	return ""
}
