package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ProjectMeta is what the management API (/v1) records about a project
// beside its id; empty fields stay unset.
type ProjectMeta struct {
	Name             string
	OrganizationSlug string
	Region           string
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertProjectWithMeta is InsertProject with the project's name,
// organization and region.
func (s *Store) InsertProjectWithMeta(ctx context.Context, id string, meta ProjectMeta) error {
	org := meta.OrganizationSlug
	if org == "" {
		org = "default"
	}
	_, err := s.Pool.Exec(ctx, "INSERT INTO projects (id, status, name, organization_slug, region) VALUES ($1, 'provisioning', $2, $3, $4)",
		id, nullIfEmpty(meta.Name), org, nullIfEmpty(meta.Region))
	if isUnique(err) {
		return ErrDuplicate
	}
	return err
}

// ManagedProject is a project as the management API reports it.
type ManagedProject struct {
	ID               string
	Seq              int64
	Status           string
	Name             *string
	OrganizationSlug string
	Region           *string
	CreatedAt        time.Time
	// WorkerEndpoint is the host of the worker holding the tenant database.
	WorkerEndpoint *string
}

const managedCols = `p.id, p.seq, p.status, p.name, p.organization_slug, p.region, p.created_at, r.endpoint
	FROM projects p LEFT JOIN rds_instances r ON r.id = p.worker_id`

func scanManaged(row pgx.Row) (ManagedProject, error) {
	var p ManagedProject
	err := row.Scan(&p.ID, &p.Seq, &p.Status, &p.Name, &p.OrganizationSlug, &p.Region, &p.CreatedAt, &p.WorkerEndpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

func (s *Store) GetManagedProject(ctx context.Context, id string) (ManagedProject, error) {
	return scanManaged(s.Pool.QueryRow(ctx, "SELECT "+managedCols+" WHERE p.id = $1", id))
}

func (s *Store) ListManagedProjects(ctx context.Context) ([]ManagedProject, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+managedCols+" ORDER BY p.created_at, p.id")
	return scanAll(rows, err, scanManaged)
}

// RenameProject sets a project's name.
func (s *Store) RenameProject(ctx context.Context, id, name string) error {
	tag, err := s.Pool.Exec(ctx, "UPDATE projects SET name = $2, updated_at = now() WHERE id = $1", id, name)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// ListActiveAPIKeys lists a project's keys that are not revoked.
func (s *Store) ListActiveAPIKeys(ctx context.Context, projectID string) ([]APIKey, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+keyCols+" FROM api_keys WHERE project_id = $1 AND revoked_at IS NULL ORDER BY created_at, id", projectID)
	return scanAll(rows, err, scanKey)
}

// PostgrestSettings are the PostgREST settings a caller may change; nil
// fields stay as they are. ClearMaxRows sets db_max_rows back to
// PostgREST's default (no limit).
type PostgrestSettings struct {
	DBSchemas         *string
	DBExtraSearchPath *string
	DBMaxRows         *int32
	ClearMaxRows      bool
}

// UpdatePostgrestSettings changes the given settings and returns the row
// before and after, read and written under a row lock so concurrent
// updates cannot interleave.
func (s *Store) UpdatePostgrestSettings(ctx context.Context, projectID string, set PostgrestSettings) (before, after PostgrestConfig, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		const cols = "db_uri, db_schemas, db_anon_role, db_use_legacy_gucs, db_max_rows, db_extra_search_path"
		scan := func(row pgx.Row, c *PostgrestConfig) error {
			err := row.Scan(&c.DBURI, &c.DBSchemas, &c.DBAnonRole, &c.DBUseLegacyGucs, &c.DBMaxRows, &c.DBExtraSearchPath)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if err := scan(tx.QueryRow(ctx, "SELECT "+cols+" FROM postgrest_config WHERE project_id = $1 FOR UPDATE", projectID), &before); err != nil {
			return err
		}
		maxRows := before.DBMaxRows
		if set.ClearMaxRows {
			maxRows = nil
		} else if set.DBMaxRows != nil {
			maxRows = set.DBMaxRows
		}
		return scan(tx.QueryRow(ctx, `UPDATE postgrest_config SET db_schemas = coalesce($2, db_schemas), db_extra_search_path = coalesce($3, db_extra_search_path),
			db_max_rows = $4 WHERE project_id = $1 RETURNING `+cols, projectID, set.DBSchemas, set.DBExtraSearchPath, maxRows), &after)
	})
	return before, after, err
}
