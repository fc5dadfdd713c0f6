package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors the API maps to statuses.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	ErrNoWorker  = errors.New("no worker instance has room for another tenant")
)

// Store runs the platform database's queries.
type Store struct{ Pool *pgxpool.Pool }

// WorkerRow is one rds_instances row.
type WorkerRow struct {
	ID         string `json:"id"`
	Endpoint   string `json:"endpoint"`
	Port       int    `json:"port"`
	MaxTenants int    `json:"max_tenants"`
	Status     string `json:"status"`
	Tenants    int    `json:"tenants"`
}

// SyncWorkers upserts the configured workers; workers no longer configured
// are marked draining (their tenants stay, no new ones go there).
func (s *Store) SyncWorkers(ctx context.Context, workers []WorkerRow) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(workers))
		for _, w := range workers {
			ids = append(ids, w.ID)
			if _, err := tx.Exec(ctx, `INSERT INTO rds_instances (id, endpoint, port, max_tenants, status) VALUES ($1, $2, $3, $4, 'active')
				ON CONFLICT (id) DO UPDATE SET endpoint = excluded.endpoint, port = excluded.port, max_tenants = excluded.max_tenants, status = 'active'`,
				w.ID, w.Endpoint, w.Port, w.MaxTenants); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE rds_instances SET status = 'draining' WHERE NOT (id = ANY($1))`, ids)
		return err
	})
}

// Project is one projects row.
type Project struct {
	ID           string    `json:"project_id"`
	Status       string    `json:"status"`
	WorkerID     *string   `json:"worker_id"`
	FunctionName *string   `json:"function_name"`
	FunctionURL  *string   `json:"function_url"`
	FunctionARN  *string   `json:"function_arn"`
	CreatedAt    time.Time `json:"created_at"`
}

const projectCols = "id, status, worker_id, function_name, function_url, function_arn, created_at"

func scanProject(row pgx.Row) (Project, error) {
	var p Project
	err := row.Scan(&p.ID, &p.Status, &p.WorkerID, &p.FunctionName, &p.FunctionURL, &p.FunctionARN, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// InsertProject records a project as provisioning; ErrDuplicate if the id
// is taken (the primary key makes concurrent creates of one id safe).
func (s *Store) InsertProject(ctx context.Context, id string) error {
	_, err := s.Pool.Exec(ctx, "INSERT INTO projects (id, status) VALUES ($1, 'provisioning')", id)
	if isUnique(err) {
		return ErrDuplicate
	}
	return err
}

// AssignWorker picks the worker with the fewest tenants that has room
// (ties by id) and assigns it, serialized so concurrent creates balance.
func (s *Store) AssignWorker(ctx context.Context, projectID string) (WorkerRow, error) {
	var w WorkerRow
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('supabase:assign-worker'))"); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
			SELECT r.id, r.endpoint, r.port, r.max_tenants, r.status, count(p.id)
			FROM rds_instances r LEFT JOIN projects p ON p.worker_id = r.id
			WHERE r.status = 'active'
			GROUP BY r.id
			HAVING count(p.id) < r.max_tenants
			ORDER BY count(p.id), r.id
			LIMIT 1`).Scan(&w.ID, &w.Endpoint, &w.Port, &w.MaxTenants, &w.Status, &w.Tenants)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoWorker
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE projects SET worker_id = $2, updated_at = now() WHERE id = $1", projectID, w.ID)
		return err
	})
	return w, err
}

func (s *Store) SetFunction(ctx context.Context, id, name, arn, url string) error {
	_, err := s.Pool.Exec(ctx, "UPDATE projects SET function_name = $2, function_arn = $3, function_url = $4, updated_at = now() WHERE id = $1", id, name, arn, url)
	return err
}

func (s *Store) SetStatus(ctx context.Context, id, status string) error {
	tag, err := s.Pool.Exec(ctx, "UPDATE projects SET status = $2, updated_at = now() WHERE id = $1", id, status)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// DeleteProject removes the row and, by cascade, its keys and secrets.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	_, err := s.Pool.Exec(ctx, "DELETE FROM projects WHERE id = $1", id)
	return err
}

func (s *Store) GetProject(ctx context.Context, id string) (Project, error) {
	return scanProject(s.Pool.QueryRow(ctx, "SELECT "+projectCols+" FROM projects WHERE id = $1", id))
}

func (s *Store) ListProjects(ctx context.Context) ([]Project, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+projectCols+" FROM projects ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) Workers(ctx context.Context) ([]WorkerRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.endpoint, r.port, r.max_tenants, r.status, count(p.id)
		FROM rds_instances r LEFT JOIN projects p ON p.worker_id = r.id GROUP BY r.id ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkerRow, error) {
		var w WorkerRow
		return w, r.Scan(&w.ID, &w.Endpoint, &w.Port, &w.MaxTenants, &w.Status, &w.Tenants)
	})
}

// InsertJWTKey stores a sealed secret as the project's current one,
// marking the previous current one rotated.
func (s *Store) InsertJWTKey(ctx context.Context, projectID string, sealed []byte) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE jwt_keys SET status = 'rotated', rotated_at = now() WHERE project_id = $1 AND status = 'current'", projectID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO jwt_keys (project_id, secret, status) VALUES ($1, $2, 'current')", projectID, sealed)
		return err
	})
}

func (s *Store) CurrentJWTKey(ctx context.Context, projectID string) ([]byte, error) {
	var sealed []byte
	err := s.Pool.QueryRow(ctx, "SELECT secret FROM jwt_keys WHERE project_id = $1 AND status = 'current'", projectID).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return sealed, err
}

// PostgrestConfig is one postgrest_config row, db_uri still sealed.
type PostgrestConfig struct {
	DBURI           []byte
	DBSchemas       string
	DBAnonRole      string
	DBUseLegacyGucs bool
}

func (s *Store) InsertPostgrestConfig(ctx context.Context, projectID string, sealedURI []byte) error {
	_, err := s.Pool.Exec(ctx, "INSERT INTO postgrest_config (project_id, db_uri) VALUES ($1, $2)", projectID, sealedURI)
	return err
}

func (s *Store) GetPostgrestConfig(ctx context.Context, projectID string) (PostgrestConfig, error) {
	var c PostgrestConfig
	err := s.Pool.QueryRow(ctx, "SELECT db_uri, db_schemas, db_anon_role, db_use_legacy_gucs FROM postgrest_config WHERE project_id = $1", projectID).
		Scan(&c.DBURI, &c.DBSchemas, &c.DBAnonRole, &c.DBUseLegacyGucs)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// APIKey is one api_keys row (never the full key).
type APIKey struct {
	ID               string     `json:"id"`
	ProjectID        string     `json:"project_id"`
	Name             string     `json:"name"`
	Type             string     `json:"type"`
	Role             string     `json:"role"`
	Prefix           string     `json:"prefix"`
	KongCredentialID string     `json:"-"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at"`
}

func (s *Store) InsertAPIKey(ctx context.Context, k APIKey, hash string) (APIKey, error) {
	err := s.Pool.QueryRow(ctx, `INSERT INTO api_keys (project_id, name, key_type, role, prefix, hashed_secret, kong_credential_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
		k.ProjectID, k.Name, k.Type, k.Role, k.Prefix, hash, k.KongCredentialID).Scan(&k.ID, &k.CreatedAt)
	return k, err
}

const keyCols = "id, project_id, name, key_type, role, prefix, coalesce(kong_credential_id, ''), created_at, revoked_at"

func scanKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Type, &k.Role, &k.Prefix, &k.KongCredentialID, &k.CreatedAt, &k.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]APIKey, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+keyCols+" FROM api_keys WHERE project_id = $1 ORDER BY created_at, id", projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// FindAPIKey finds a key of the project by id or by the hash of the full key.
func (s *Store) FindAPIKey(ctx context.Context, projectID, id, hash string) (APIKey, error) {
	if hash != "" {
		return scanKey(s.Pool.QueryRow(ctx, "SELECT "+keyCols+" FROM api_keys WHERE project_id = $1 AND hashed_secret = $2", projectID, hash))
	}
	return scanKey(s.Pool.QueryRow(ctx, "SELECT "+keyCols+" FROM api_keys WHERE project_id = $1 AND id = $2::uuid", projectID, id))
}

func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	_, err := s.Pool.Exec(ctx, "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", id)
	return err
}
