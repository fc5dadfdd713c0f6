package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// EdgeFunction is one edge_functions row joined with its active version.
type EdgeFunction struct {
	ProjectID, Slug, ID, Name string
	Version                   int
	VerifyJWT                 bool
	CreatedAt, UpdatedAt      time.Time
	Active                    EdgeFunctionVersion
}

// EdgeFunctionVersion is one stored bundle of a function.
type EdgeFunctionVersion struct {
	Version        int
	BundleKey      string
	SHA256         string
	SizeBytes      int64
	EntrypointPath string
	ImportMapPath  *string
	CreatedAt      time.Time
}

const edgeFunctionCols = `f.project_id, f.slug, f.id::text, f.name, f.version, f.verify_jwt, f.created_at, f.updated_at,
	v.version, v.bundle_key, v.sha256, v.size_bytes, v.entrypoint_path, v.import_map_path, v.created_at`

const edgeFunctionFrom = ` FROM edge_functions f JOIN edge_function_versions v
	ON v.project_id = f.project_id AND v.slug = f.slug AND v.version = f.version`

func scanEdgeFunction(row pgx.Row) (EdgeFunction, error) {
	var f EdgeFunction
	a := &f.Active
	err := row.Scan(&f.ProjectID, &f.Slug, &f.ID, &f.Name, &f.Version, &f.VerifyJWT, &f.CreatedAt, &f.UpdatedAt,
		&a.Version, &a.BundleKey, &a.SHA256, &a.SizeBytes, &a.EntrypointPath, &a.ImportMapPath, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, ErrNotFound
	}
	return f, err
}

// ListEdgeFunctions lists a project's functions by slug.
func (s *Store) ListEdgeFunctions(ctx context.Context, projectID string) ([]EdgeFunction, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+edgeFunctionCols+edgeFunctionFrom+" WHERE f.project_id = $1 ORDER BY f.slug", projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (EdgeFunction, error) { return scanEdgeFunction(r) })
}

// GetEdgeFunction reads one function; ErrNotFound when it does not exist.
func (s *Store) GetEdgeFunction(ctx context.Context, projectID, slug string) (EdgeFunction, error) {
	return scanEdgeFunction(s.Pool.QueryRow(ctx, "SELECT "+edgeFunctionCols+edgeFunctionFrom+" WHERE f.project_id = $1 AND f.slug = $2", projectID, slug))
}

// NewEdgeVersion is a deploy's new bundle and the function's settings.
type NewEdgeVersion struct {
	Slug, Name     string
	VerifyJWT      bool
	BundleKey      string
	SHA256         string
	SizeBytes      int64
	EntrypointPath string
	ImportMapPath  *string
}

// AddEdgeVersion stores a new version of a function (creating the function
// at version 1) and makes it the active one, inside the locked project's
// transaction, so it commits only with the rest of the deploy. It returns
// the bundle keys of versions beyond the newest keep, which it removed.
func (l *Locked) AddEdgeVersion(ctx context.Context, v NewEdgeVersion, keep int) (version int, dropped []string, err error) {
	tx := l.tx
	if err := l.checkEdgeFunctionCap(ctx, v.Slug); err != nil {
		return 0, nil, err
	}
	// The function row's lock orders concurrent deploys of one slug.
	err = tx.QueryRow(ctx, `INSERT INTO edge_functions (project_id, slug, name, version, verify_jwt) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (project_id, slug) DO UPDATE SET name = excluded.name, verify_jwt = excluded.verify_jwt,
			version = edge_functions.version + 1,
			updated_at = now()
		RETURNING version`, l.ID, v.Slug, v.Name, v.VerifyJWT).Scan(&version)
	if err != nil {
		return 0, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO edge_function_versions (project_id, slug, version, bundle_key, sha256, size_bytes, entrypoint_path, import_map_path)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.ID, v.Slug, version, v.BundleKey, v.SHA256, v.SizeBytes, v.EntrypointPath, v.ImportMapPath); err != nil {
		return 0, nil, err
	}
	rows, err := tx.Query(ctx, `DELETE FROM edge_function_versions WHERE project_id = $1 AND slug = $2 AND version <= $3 RETURNING bundle_key`,
		l.ID, v.Slug, version-keep)
	if err != nil {
		return 0, nil, err
	}
	dropped, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return version, dropped, err
}

// UpdateEdgeFunction changes a function's name and verify_jwt (nil: kept).
func (s *Store) UpdateEdgeFunction(ctx context.Context, projectID, slug string, name *string, verifyJWT *bool) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE edge_functions SET name = coalesce($3, name), verify_jwt = coalesce($4, verify_jwt), updated_at = now()
		WHERE project_id = $1 AND slug = $2`, projectID, slug, name, verifyJWT)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// DeleteEdgeFunction removes a function and its versions, returning the
// bundle keys to delete from S3.
func (s *Store) DeleteEdgeFunction(ctx context.Context, projectID, slug string) ([]string, error) {
	var keys []string
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		rows, err := tx.Query(ctx, `SELECT bundle_key FROM edge_function_versions WHERE project_id = $1 AND slug = $2`, projectID, slug)
		if err != nil {
			return err
		}
		if keys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM edge_functions WHERE project_id = $1 AND slug = $2`, projectID, slug)
		if err == nil && tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return err
	})
	return keys, err
}

// EdgeSecret is one stored secret: its sealed value and the value's digest.
type EdgeSecret struct {
	Name, Digest string
	Sealed       []byte
	UpdatedAt    time.Time
}

// ListEdgeSecrets lists a project's secrets by name.
func (s *Store) ListEdgeSecrets(ctx context.Context, projectID string) ([]EdgeSecret, error) {
	rows, err := s.Pool.Query(ctx, `SELECT name, digest, value, updated_at FROM edge_function_secrets WHERE project_id = $1 ORDER BY name`, projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (EdgeSecret, error) {
		var e EdgeSecret
		return e, r.Scan(&e.Name, &e.Digest, &e.Sealed, &e.UpdatedAt)
	})
}

// PutEdgeSecrets creates or replaces secrets, all or none.
func (s *Store) PutEdgeSecrets(ctx context.Context, projectID string, secrets []EdgeSecret) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, e := range secrets {
			if _, err := tx.Exec(ctx, `INSERT INTO edge_function_secrets (project_id, name, value, digest) VALUES ($1, $2, $3, $4)
				ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value, digest = excluded.digest, updated_at = now()`,
				projectID, e.Name, e.Sealed, e.Digest); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteEdgeSecrets removes the named secrets (missing names are fine) and
// says how many existed.
func (s *Store) DeleteEdgeSecrets(ctx context.Context, projectID string, names []string) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM edge_function_secrets WHERE project_id = $1 AND name = ANY($2)`, projectID, names)
	return tag.RowsAffected(), err
}

// EdgeRuntime is a project's functions Lambda and its sealed runtime keys.
type EdgeRuntime struct {
	FunctionName, FunctionARN, FunctionURL string
	AnonKey, ServiceKey                    []byte
}

// GetEdgeRuntime reads the project's functions Lambda; ErrNotFound before
// the first deploy.
func (s *Store) GetEdgeRuntime(ctx context.Context, projectID string) (EdgeRuntime, error) {
	var r EdgeRuntime
	err := s.Pool.QueryRow(ctx, `SELECT function_name, function_arn, function_url, anon_key, service_key FROM edge_runtime WHERE project_id = $1`, projectID).
		Scan(&r.FunctionName, &r.FunctionARN, &r.FunctionURL, &r.AnonKey, &r.ServiceKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// EdgeRuntime reads the project's functions Lambda inside the lock.
func (l *Locked) EdgeRuntime(ctx context.Context) (EdgeRuntime, error) {
	var r EdgeRuntime
	err := l.tx.QueryRow(ctx, `SELECT function_name, function_arn, function_url, anon_key, service_key FROM edge_runtime WHERE project_id = $1`, l.ID).
		Scan(&r.FunctionName, &r.FunctionARN, &r.FunctionURL, &r.AnonKey, &r.ServiceKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// SetEdgeRuntime records the project's functions Lambda inside the lock.
func (l *Locked) SetEdgeRuntime(ctx context.Context, r EdgeRuntime) error {
	_, err := l.tx.Exec(ctx, `INSERT INTO edge_runtime (project_id, function_name, function_arn, function_url, anon_key, service_key) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (project_id) DO UPDATE SET function_name = excluded.function_name, function_arn = excluded.function_arn,
			function_url = excluded.function_url, anon_key = excluded.anon_key, service_key = excluded.service_key`,
		l.ID, r.FunctionName, r.FunctionARN, r.FunctionURL, r.AnonKey, r.ServiceKey)
	return err
}

// SetEdgeRuntimeKeys stores the runtime's sealed keys unless it has keys
// already (a concurrent deploy minted them first): false then.
func (s *Store) SetEdgeRuntimeKeys(ctx context.Context, projectID string, anon, service []byte) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE edge_runtime SET anon_key = $2, service_key = $3 WHERE project_id = $1 AND anon_key IS NULL AND service_key IS NULL`,
		projectID, anon, service)
	return tag.RowsAffected() == 1, err
}

// EdgeBundleKeys lists every stored bundle of a project (for its deletion).
func (s *Store) EdgeBundleKeys(ctx context.Context, projectID string) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT bundle_key FROM edge_function_versions WHERE project_id = $1`, projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
