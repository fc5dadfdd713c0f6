package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ThirdPartyAuth is a third_party_auth row.
type ThirdPartyAuth struct {
	ID, ProjectID, Type, OIDCIssuerURL string
	JWKSURL                            *string
	// CustomJWKS is the JSON key set, nil for the other types.
	CustomJWKS                   []byte
	Audience, ClientID, TokenUse *string
	InsertedAt, UpdatedAt        time.Time
}

// ErrTPALimit: the project has the maximum number of entries already.
var ErrTPALimit = errors.New("too many third-party auth entries")

// ErrTPAExists: an entry of that issuer exists already.
var ErrTPAExists = errors.New("third-party auth issuer exists")

const tpaCols = "id::text, project_id, type, oidc_issuer_url, jwks_url, custom_jwks, audience, client_id, token_use, inserted_at, updated_at"

func scanTPA(row pgx.Row) (ThirdPartyAuth, error) {
	var t ThirdPartyAuth
	err := row.Scan(&t.ID, &t.ProjectID, &t.Type, &t.OIDCIssuerURL, &t.JWKSURL, &t.CustomJWKS, &t.Audience, &t.ClientID, &t.TokenUse, &t.InsertedAt, &t.UpdatedAt)
	return t, err
}

// ListThirdPartyAuth lists a project's entries, oldest first.
func (s *Store) ListThirdPartyAuth(ctx context.Context, projectID string) ([]ThirdPartyAuth, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+tpaCols+" FROM third_party_auth WHERE project_id = $1 ORDER BY inserted_at, id", projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ThirdPartyAuth, error) { return scanTPA(r) })
}

// GetThirdPartyAuth reads one entry of the project; ErrNotFound when the
// project has none with that id.
func (s *Store) GetThirdPartyAuth(ctx context.Context, projectID, id string) (ThirdPartyAuth, error) {
	t, err := scanTPA(s.Pool.QueryRow(ctx, "SELECT "+tpaCols+" FROM third_party_auth WHERE project_id = $1 AND id = $2::uuid", projectID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// AddThirdPartyAuth stores an entry and counts the project's document
// version up, under the project's row lock (so the count check holds and
// no pause, restore or delete interleaves) and only in one of the allowed
// statuses (else a *BusyError). ErrTPALimit beyond max entries,
// ErrTPAExists for an issuer already configured.
func (s *Store) AddThirdPartyAuth(ctx context.Context, t ThirdPartyAuth, allowed []string, max int) (ThirdPartyAuth, int64, error) {
	var out ThirdPartyAuth
	var version int64
	err := s.WithProjectLock(ctx, t.ProjectID, allowed, func(ctx context.Context, l *Locked) error {
		var n int
		var exists bool
		if err := l.tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(oidc_issuer_url = $2), false) FROM third_party_auth WHERE project_id = $1`,
			t.ProjectID, t.OIDCIssuerURL).Scan(&n, &exists); err != nil {
			return err
		}
		if exists {
			return ErrTPAExists
		}
		if n >= max {
			return fmt.Errorf("%w: a project may have at most %d", ErrTPALimit, max)
		}
		var err error
		out, err = scanTPA(l.tx.QueryRow(ctx, `INSERT INTO third_party_auth (project_id, type, oidc_issuer_url, jwks_url, custom_jwks, audience, client_id, token_use)
			VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) RETURNING `+tpaCols,
			t.ProjectID, t.Type, t.OIDCIssuerURL, t.JWKSURL, jsonOrNil(t.CustomJWKS), t.Audience, t.ClientID, t.TokenUse))
		if err != nil {
			if isUnique(err) {
				return ErrTPAExists
			}
			return err
		}
		return bumpVersion(ctx, l.tx, t.ProjectID, &version)
	})
	return out, version, err
}

// DeleteThirdPartyAuth removes an entry and counts the document version
// up, under the row lock as AddThirdPartyAuth; ErrNotFound when the
// project has no such entry.
func (s *Store) DeleteThirdPartyAuth(ctx context.Context, projectID, id string, allowed []string) (ThirdPartyAuth, int64, error) {
	var out ThirdPartyAuth
	var version int64
	err := s.WithProjectLock(ctx, projectID, allowed, func(ctx context.Context, l *Locked) error {
		var err error
		out, err = scanTPA(l.tx.QueryRow(ctx, "DELETE FROM third_party_auth WHERE project_id = $1 AND id = $2::uuid RETURNING "+tpaCols, projectID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return bumpVersion(ctx, l.tx, projectID, &version)
	})
	return out, version, err
}

func bumpVersion(ctx context.Context, tx pgx.Tx, projectID string, version *int64) error {
	return tx.QueryRow(ctx, "UPDATE projects SET jwt_version = jwt_version + 1, updated_at = now() WHERE id = $1 RETURNING jwt_version", projectID).Scan(version)
}

// jsonOrNil passes an empty key set as SQL NULL rather than invalid JSON.
func jsonOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
