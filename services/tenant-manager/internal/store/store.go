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
	// JWTKid is the id of the current JWT key (public: JWTs carry it as
	// kid) and JWTVersion the project's key counter, so a caller can tell
	// whether a rotation took effect.
	JWTKid     *string `json:"jwt_kid"`
	JWTVersion int64   `json:"jwt_version"`
}

const projectCols = "id, status, worker_id, function_name, function_url, function_arn, created_at, jwt_version, " +
	"(SELECT k.id::text FROM jwt_keys k WHERE k.project_id = projects.id AND k.status = 'current') AS jwt_kid"

func scanProject(row pgx.Row) (Project, error) {
	var p Project
	err := row.Scan(&p.ID, &p.Status, &p.WorkerID, &p.FunctionName, &p.FunctionURL, &p.FunctionARN, &p.CreatedAt, &p.JWTVersion, &p.JWTKid)
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
	return scanAll(rows, err, scanProject)
}

// scanAll scans every row of a query with scan; an empty result is an
// empty list, never nil (it is answered as JSON).
func scanAll[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
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

// JWTKey is one jwt_keys row, its secret still sealed. Version is the
// project's key counter (set where the row is read with it).
type JWTKey struct {
	ID          string
	Sealed      []byte
	Status      string
	Version     int64
	AcceptUntil *time.Time
}

// ErrRotationInProgress is returned when a project already has a pending key.
var ErrRotationInProgress = errors.New("a JWT secret rotation of this project is in progress")

// InsertJWTKey stores a new project's first secret as current.
func (s *Store) InsertJWTKey(ctx context.Context, projectID string, sealed []byte) (string, error) {
	var id string
	err := s.Pool.QueryRow(ctx, "INSERT INTO jwt_keys (project_id, secret, status) VALUES ($1, $2, 'current') RETURNING id", projectID, sealed).Scan(&id)
	return id, err
}

// InsertPendingJWTKey stores the next secret of a rotation. The partial
// unique index allows one pending key per project, so of two concurrent
// rotations one gets ErrRotationInProgress, whichever task runs it.
func (s *Store) InsertPendingJWTKey(ctx context.Context, projectID string, sealed []byte) (string, error) {
	var id string
	err := s.Pool.QueryRow(ctx, "INSERT INTO jwt_keys (project_id, secret, status) VALUES ($1, $2, 'pending') RETURNING id", projectID, sealed).Scan(&id)
	if isUnique(err) {
		return "", ErrRotationInProgress
	}
	return id, err
}

// DeletePendingJWTKey removes a pending key; false if it is not pending
// (any more).
func (s *Store) DeletePendingJWTKey(ctx context.Context, id string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, "DELETE FROM jwt_keys WHERE id = $1 AND status = 'pending'", id)
	return tag.RowsAffected() == 1, err
}

// ErrNotPending means the key to promote is no longer pending.
var ErrNotPending = errors.New("the new JWT key is no longer pending")

// PromoteJWTKey makes the pending key current and the current one rotated
// (accepted until now + overlap), and counts the project's version up, all
// in one transaction. It returns the new version.
func (s *Store) PromoteJWTKey(ctx context.Context, projectID, id string, overlap time.Duration) (version int64, acceptUntil time.Time, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Lock the project row first so promotions of one project queue up.
		if err := tx.QueryRow(ctx, "SELECT jwt_version FROM projects WHERE id = $1 FOR UPDATE", projectID).Scan(&version); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE jwt_keys SET status = 'rotated', rotated_at = now(), accept_until = now() + make_interval(secs => $2)
			WHERE project_id = $1 AND status = 'current' RETURNING accept_until`, projectID, overlap.Seconds()).Scan(&acceptUntil); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		tag, err := tx.Exec(ctx, "UPDATE jwt_keys SET status = 'current' WHERE id = $1 AND project_id = $2 AND status = 'pending'", id, projectID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return ErrNotPending
		}
		return tx.QueryRow(ctx, "UPDATE projects SET jwt_version = jwt_version + 1, updated_at = now() WHERE id = $1 RETURNING jwt_version", projectID).Scan(&version)
	})
	return version, acceptUntil, err
}

// CurrentJWTKey is the key the gateway signs with, with the project's
// version, read in one statement so the two match.
func (s *Store) CurrentJWTKey(ctx context.Context, projectID string) (JWTKey, error) {
	k := JWTKey{Status: "current"}
	err := s.Pool.QueryRow(ctx, `SELECT k.id, k.secret, p.jwt_version FROM jwt_keys k JOIN projects p ON p.id = k.project_id
		WHERE k.project_id = $1 AND k.status = 'current'`, projectID).Scan(&k.ID, &k.Sealed, &k.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

// AcceptedJWTKeys are the keys PostgREST must accept now: the current one
// first, a pending one, then rotated ones still inside their overlap window
// (newest first).
func (s *Store) AcceptedJWTKeys(ctx context.Context, projectID string) ([]JWTKey, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, secret, status, accept_until FROM jwt_keys
		WHERE project_id = $1 AND (status IN ('current', 'pending') OR (status = 'rotated' AND accept_until > now()))
		ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, rotated_at DESC NULLS FIRST, id`, projectID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JWTKey, error) {
		var k JWTKey
		return k, r.Scan(&k.ID, &k.Sealed, &k.Status, &k.AcceptUntil)
	})
}

// ExpiredRotatedKeys lists, per project, the rotated keys whose overlap
// window has ended.
func (s *Store) ExpiredRotatedKeys(ctx context.Context) (map[string][]string, error) {
	rows, err := s.Pool.Query(ctx, "SELECT project_id, id FROM jwt_keys WHERE status = 'rotated' AND accept_until <= now() ORDER BY project_id, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var p, id string
		if err := rows.Scan(&p, &id); err != nil {
			return nil, err
		}
		out[p] = append(out[p], id)
	}
	return out, rows.Err()
}

// RetireJWTKeys marks rotated keys retired.
func (s *Store) RetireJWTKeys(ctx context.Context, ids []string) error {
	_, err := s.Pool.Exec(ctx, "UPDATE jwt_keys SET status = 'retired', retired_at = now() WHERE id = ANY($1::uuid[]) AND status = 'rotated'", ids)
	return err
}

// DeleteStalePendingKeys removes pending keys older than maxAge: left by a
// rotation whose process died, they would block every later rotation.
func (s *Store) DeleteStalePendingKeys(ctx context.Context, maxAge time.Duration) (int64, error) {
	tag, err := s.Pool.Exec(ctx, "DELETE FROM jwt_keys WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)", maxAge.Seconds())
	return tag.RowsAffected(), err
}

// PostgrestConfig is one postgrest_config row, db_uri still sealed.
type PostgrestConfig struct {
	DBURI           []byte
	DBSchemas       string
	DBAnonRole      string
	DBUseLegacyGucs bool
	// DBMaxRows nil: PostgREST's default (no limit).
	DBMaxRows         *int32
	DBExtraSearchPath string
}

func (s *Store) InsertPostgrestConfig(ctx context.Context, projectID string, sealedURI []byte) error {
	_, err := s.Pool.Exec(ctx, "INSERT INTO postgrest_config (project_id, db_uri) VALUES ($1, $2)", projectID, sealedURI)
	return err
}

func (s *Store) GetPostgrestConfig(ctx context.Context, projectID string) (PostgrestConfig, error) {
	var c PostgrestConfig
	err := s.Pool.QueryRow(ctx, "SELECT db_uri, db_schemas, db_anon_role, db_use_legacy_gucs, db_max_rows, db_extra_search_path FROM postgrest_config WHERE project_id = $1", projectID).
		Scan(&c.DBURI, &c.DBSchemas, &c.DBAnonRole, &c.DBUseLegacyGucs, &c.DBMaxRows, &c.DBExtraSearchPath)
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
	Description      *string    `json:"description"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at"`
}

func (s *Store) InsertAPIKey(ctx context.Context, k APIKey, hash string) (APIKey, error) {
	err := s.Pool.QueryRow(ctx, `INSERT INTO api_keys (project_id, name, key_type, role, prefix, hashed_secret, kong_credential_id, description)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
		k.ProjectID, k.Name, k.Type, k.Role, k.Prefix, hash, k.KongCredentialID, k.Description).Scan(&k.ID, &k.CreatedAt)
	return k, err
}

const keyCols = "id, project_id, name, key_type, role, prefix, coalesce(kong_credential_id, ''), created_at, revoked_at, description"

func scanKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Type, &k.Role, &k.Prefix, &k.KongCredentialID, &k.CreatedAt, &k.RevokedAt, &k.Description)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]APIKey, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+keyCols+" FROM api_keys WHERE project_id = $1 ORDER BY created_at, id", projectID)
	return scanAll(rows, err, scanKey)
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
