package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Per-project bounds of edge functions: every secret is opened and served
// whole to the runtime, and every function is listed and loaded, so an
// unbounded project would grow the tenant-manager's memory (and the
// runtime's configuration) without limit.
const (
	MaxEdgeFunctions        = 100
	MaxEdgeSecrets          = 100
	MaxEdgeSecretValueBytes = 64 << 10
	// sealOverhead is what secretbox adds to a value: AES-GCM's 12-byte
	// nonce and 16-byte tag.
	sealOverhead = 12 + 16
)

// EdgeCapError is a per-project bound a request would exceed; its message
// names the bound and is safe to show (names no secret).
type EdgeCapError struct {
	Code, Msg string
}

func (e *EdgeCapError) Error() string { return e.Msg }

// PutEdgeSecretsCapped is PutEdgeSecrets within the project's bounds:
// MaxEdgeSecrets names and MaxEdgeSecretValueBytes of values in all,
// counted after the change (replacing a secret counts its new value only).
// The project row is locked, so concurrent requests cannot both pass.
func (s *Store) PutEdgeSecretsCapped(ctx context.Context, projectID string, secrets []EdgeSecret) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, projectID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		for _, e := range secrets {
			if _, err := tx.Exec(ctx, `INSERT INTO edge_function_secrets (project_id, name, value, digest) VALUES ($1, $2, $3, $4)
				ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value, digest = excluded.digest, updated_at = now()`,
				projectID, e.Name, e.Sealed, e.Digest); err != nil {
				return err
			}
		}
		var n, total int64
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(octet_length(value) - $2), 0) FROM edge_function_secrets WHERE project_id = $1`,
			projectID, sealOverhead).Scan(&n, &total); err != nil {
			return err
		}
		switch {
		case n > MaxEdgeSecrets:
			return &EdgeCapError{Code: "too_many_secrets", Msg: fmt.Sprintf("a project may have at most %d secrets (this request would make %d); delete some first", MaxEdgeSecrets, n)}
		case total > MaxEdgeSecretValueBytes:
			return &EdgeCapError{Code: "secrets_too_large", Msg: fmt.Sprintf("a project's secret values may total at most %d bytes (this request would make %d)", MaxEdgeSecretValueBytes, total)}
		}
		return nil
	})
}

// ListEdgeSecretNames lists a project's secrets without their sealed
// values (Sealed is nil): a listing needs names and digests only.
func (s *Store) ListEdgeSecretNames(ctx context.Context, projectID string) ([]EdgeSecret, error) {
	rows, err := s.Pool.Query(ctx, `SELECT name, digest, updated_at FROM edge_function_secrets WHERE project_id = $1 ORDER BY name`, projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (EdgeSecret, error) {
		var e EdgeSecret
		return e, r.Scan(&e.Name, &e.Digest, &e.UpdatedAt)
	})
}

// checkEdgeFunctionCap refuses a new function beyond MaxEdgeFunctions;
// the caller holds the project's lock, so concurrent deploys cannot both
// pass. A new version of an existing function is always allowed.
func (l *Locked) checkEdgeFunctionCap(ctx context.Context, slug string) error {
	var others int
	if err := l.tx.QueryRow(ctx, `SELECT count(*) FROM edge_functions WHERE project_id = $1 AND slug <> $2`, l.ID, slug).Scan(&others); err != nil {
		return err
	}
	var exists bool
	if err := l.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM edge_functions WHERE project_id = $1 AND slug = $2)`, l.ID, slug).Scan(&exists); err != nil {
		return err
	}
	if !exists && others >= MaxEdgeFunctions {
		return &EdgeCapError{Code: "too_many_functions", Msg: fmt.Sprintf("a project may have at most %d functions; delete one first", MaxEdgeFunctions)}
	}
	return nil
}
