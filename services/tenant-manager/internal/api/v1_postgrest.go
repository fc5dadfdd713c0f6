package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

func (s *Server) mountV1Postgrest(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{ref}/postgrest", s.handle(s.admin(withRef(s.v1GetPostgrest))))
	mux.HandleFunc("PATCH /v1/projects/{ref}/postgrest", s.handle(s.admin(withRef(s.v1UpdatePostgrest))))
}

// v1PostgrestConfig is Supabase's V1PostgrestConfigResponse (and
// PostgrestConfigWithJWTSecretResponse without jwt_secret, which never
// leaves the platform through this API). max_rows 0 means no limit
// (PostgREST's default); db_pool is null: each instance's pool is the
// function's setting.
type v1PostgrestConfig struct {
	DBSchema          string `json:"db_schema"`
	MaxRows           int32  `json:"max_rows"`
	DBExtraSearchPath string `json:"db_extra_search_path"`
	DBPool            *int   `json:"db_pool"`
}

func v1PostgrestOf(c store.PostgrestConfig) v1PostgrestConfig {
	out := v1PostgrestConfig{DBSchema: c.DBSchemas, DBExtraSearchPath: c.DBExtraSearchPath}
	if c.DBMaxRows != nil {
		out.MaxRows = *c.DBMaxRows
	}
	return out
}

func (s *Server) v1GetPostgrest(w http.ResponseWriter, r *http.Request, ref string) error {
	c, err := s.Service.Store.GetPostgrestConfig(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1PostgrestOf(c))
	return nil
}

var schemaNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)

const maxSchemas = 20

// schemaList checks a comma-separated list of schema names (PostgREST's
// form, spaces around commas allowed) and returns it normalised. Names are
// plain identifiers: PostgREST quotes them, and anything else would only
// reach the database as a name that does not exist. exposed lists may not
// name system schemas.
func schemaList(field, v string, exposed bool) (string, error) {
	parts := strings.Split(v, ",")
	if len(parts) > maxSchemas {
		return "", badRequest("invalid_"+field, fmt.Sprintf("field %q may list at most %d schemas", field, maxSchemas))
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !schemaNameRe.MatchString(p) {
			return "", badRequest("invalid_"+field, fmt.Sprintf("field %q must be a comma-separated list of schema names (a letter or '_', then letters, digits, '_' or '$'; at most 63 characters each)", field))
		}
		if exposed && (strings.HasPrefix(strings.ToLower(p), "pg_") || strings.EqualFold(p, "information_schema")) {
			return "", badRequest("invalid_"+field, fmt.Sprintf("field %q must not expose the system schema %s", field, p))
		}
		if seen[p] {
			return "", badRequest("invalid_"+field, fmt.Sprintf("field %q names schema %s twice", field, p))
		}
		seen[p] = true
		out = append(out, p)
	}
	return strings.Join(out, ","), nil
}

// maxRowsLimit is Supabase's upper bound of max_rows.
const maxRowsLimit = 1000000

func (s *Server) v1UpdatePostgrest(w http.ResponseWriter, r *http.Request, ref string) error {
	var body struct {
		DBSchema          *string `json:"db_schema"`
		DBExtraSearchPath *string `json:"db_extra_search_path"`
		MaxRows           *int64  `json:"max_rows"`
		// Accepted and ignored: each function instance's pool size is the
		// function's setting (PGRST_DB_POOL), not the project's.
		DBPool *int64 `json:"db_pool"`
	}
	if err := decodeV1(w, r, &body); err != nil {
		return err
	}
	var set store.PostgrestSettings
	if body.DBSchema != nil {
		v, err := schemaList("db_schema", *body.DBSchema, true)
		if err != nil {
			return err
		}
		set.DBSchemas = &v
	}
	if body.DBExtraSearchPath != nil {
		v, err := schemaList("db_extra_search_path", *body.DBExtraSearchPath, false)
		if err != nil {
			return err
		}
		set.DBExtraSearchPath = &v
	}
	if body.MaxRows != nil {
		switch n := *body.MaxRows; {
		case n < 0 || n > maxRowsLimit:
			return badRequest("invalid_max_rows", fmt.Sprintf(`field "max_rows" must be 0 (no limit) to %d`, maxRowsLimit))
		case n == 0:
			set.ClearMaxRows = true
		default:
			v := int32(n)
			set.DBMaxRows = &v
		}
	}
	if body.DBPool != nil && (*body.DBPool < 0 || *body.DBPool > 1000) {
		return badRequest("invalid_db_pool", `field "db_pool" must be 0 to 1000`)
	}
	if set.DBSchemas == nil && set.DBExtraSearchPath == nil && body.MaxRows == nil {
		// Nothing PostgREST reads changed: no recycle.
		return s.v1GetPostgrest(w, r, ref)
	}
	c, err := s.Service.UpdatePostgrest(r.Context(), ref, set)
	var rerr *provision.RecycleError
	if errors.As(err, &rerr) {
		return &apiError{Status: http.StatusBadGateway, Code: "recycle_failed", Step: "lambda",
			Msg: "the settings were saved, but recycling the project's function failed: new instances use them, warm instances may keep the previous ones; send the PATCH again to recycle"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1PostgrestOf(c))
	return nil
}
