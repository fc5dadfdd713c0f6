package sqlapi

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Table is one row of GET …/database/tables.
type Table struct {
	ID               uint32  `json:"id"`
	Schema           string  `json:"schema"`
	Name             string  `json:"name"`
	RLSEnabled       bool    `json:"rls_enabled"`
	RLSForced        bool    `json:"rls_forced"`
	LiveRowsEstimate int64   `json:"live_rows_estimate"`
	Bytes            int64   `json:"bytes"`
	Comment          *string `json:"comment"`
}

// View is one row of GET …/database/views.
type View struct {
	ID           uint32  `json:"id"`
	Schema       string  `json:"schema"`
	Name         string  `json:"name"`
	Materialized bool    `json:"materialized"`
	IsUpdatable  bool    `json:"is_updatable"`
	Comment      *string `json:"comment"`
}

// Extension is one row of GET …/database/extensions: every extension the
// server offers, installed_version null where it is not installed.
type Extension struct {
	Name             string  `json:"name"`
	Schema           *string `json:"schema"`
	DefaultVersion   *string `json:"default_version"`
	InstalledVersion *string `json:"installed_version"`
	Comment          *string `json:"comment"`
}

// Listings are bounded whatever the tenant made: at most catalogMaxRows
// entries (the first in their order) and comments cut to
// catalogMaxComment characters (COMMENT ON takes any length).
const (
	catalogMaxRows    = 10000
	catalogMaxComment = 1024
)

var catalogLimit = " LIMIT " + strconv.Itoa(catalogMaxRows)

func commentOf(expr string) string {
	return "left(" + expr + ", " + strconv.Itoa(catalogMaxComment) + ")"
}

// userSchemas leaves out the system's own schemas.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'`

// catalog runs one listing query as the owner and collects its rows.
func catalog[T any](ctx context.Context, s *Service, projectID, sql string, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	ctx, sess, done, err := s.open(ctx, projectID)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := sess.c.Conn().Query(ctx, sql)
	if err == nil {
		var out []T
		out, err = pgx.CollectRows(rows, scan)
		if err == nil {
			if out == nil {
				out = []T{}
			}
			return out, nil
		}
	}
	sess.broken = ctx.Err() != nil
	return nil, s.sqlError(ctx, sess, err)
}

// Tables lists ordinary and partitioned tables outside the system schemas.
// The row estimate is the statistics collector's live row count.
func (s *Service) Tables(ctx context.Context, projectID string) ([]Table, error) {
	return catalog(ctx, s, projectID, `SELECT c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
			pg_stat_get_live_tuples(c.oid), pg_total_relation_size(c.oid), `+commentOf("obj_description(c.oid, 'pg_class')")+`
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userSchemas+`
		ORDER BY n.nspname, c.relname`+catalogLimit,
		func(r pgx.CollectableRow) (Table, error) {
			var t Table
			return t, r.Scan(&t.ID, &t.Schema, &t.Name, &t.RLSEnabled, &t.RLSForced, &t.LiveRowsEstimate, &t.Bytes, &t.Comment)
		})
}

// Views lists views and materialized views outside the system schemas.
func (s *Service) Views(ctx context.Context, projectID string) ([]View, error) {
	return catalog(ctx, s, projectID, `SELECT c.oid, n.nspname, c.relname, c.relkind = 'm',
			c.relkind = 'v' AND (pg_relation_is_updatable(c.oid, false) & 20) = 20, `+commentOf("obj_description(c.oid, 'pg_class')")+`
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('v', 'm') AND `+userSchemas+`
		ORDER BY n.nspname, c.relname`+catalogLimit,
		func(r pgx.CollectableRow) (View, error) {
			var v View
			return v, r.Scan(&v.ID, &v.Schema, &v.Name, &v.Materialized, &v.IsUpdatable, &v.Comment)
		})
}

// Extensions lists the available extensions with their installed version.
func (s *Service) Extensions(ctx context.Context, projectID string) ([]Extension, error) {
	return catalog(ctx, s, projectID, `SELECT a.name, n.nspname, a.default_version, e.extversion, `+commentOf("a.comment")+`
		FROM pg_available_extensions a
		LEFT JOIN pg_extension e ON e.extname = a.name
		LEFT JOIN pg_namespace n ON n.oid = e.extnamespace
		ORDER BY a.name`+catalogLimit,
		func(r pgx.CollectableRow) (Extension, error) {
			var e Extension
			return e, r.Scan(&e.Name, &e.Schema, &e.DefaultVersion, &e.InstalledVersion, &e.Comment)
		})
}
