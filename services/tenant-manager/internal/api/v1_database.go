package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/sqlapi"
)

// maxSQLBody bounds a SQL or migration request body.
const maxSQLBody = 1 << 20

// mountV1Database serves the Supabase-compatible SQL, migration and
// catalog endpoints of the management API.
func (s *Server) mountV1Database(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/projects/{ref}/database/query", s.handle(s.admin(withRef(s.v1Query))))
	mux.HandleFunc("POST /v1/projects/{ref}/database/query/read-only", s.handle(s.admin(withRef(s.v1ReadOnlyQuery))))
	mux.HandleFunc("GET /v1/projects/{ref}/database/migrations", s.handle(s.admin(withRef(s.v1ListMigrations))))
	mux.HandleFunc("POST /v1/projects/{ref}/database/migrations", s.handle(s.admin(withRef(s.v1ApplyMigration))))
	mux.HandleFunc("GET /v1/projects/{ref}/database/tables", s.handle(s.admin(withRef(s.v1Tables))))
	mux.HandleFunc("GET /v1/projects/{ref}/database/views", s.handle(s.admin(withRef(s.v1Views))))
	mux.HandleFunc("GET /v1/projects/{ref}/database/extensions", s.handle(s.admin(withRef(s.v1Extensions))))
}

// sqlAPIError keeps sqlapi's answers as they are; everything else goes to
// the shared mapping (logged there, 500 without details).
func sqlAPIError(err error) error {
	var e *sqlapi.Error
	if errors.As(err, &e) {
		return &apiError{Status: e.Status, Code: e.Code, Msg: e.Msg}
	}
	return err
}

type queryBody struct {
	Query      *string           `json:"query"`
	Parameters []json.RawMessage `json:"parameters"`
	ReadOnly   *bool             `json:"read_only"`
}

func (b *queryBody) check() error {
	if b.Query == nil || strings.TrimSpace(*b.Query) == "" {
		return badRequest("invalid_body", `field "query" is required and must not be empty`)
	}
	return nil
}

// logSQL records what was run where and how it went; never the SQL text
// or parameters (they may hold secrets), nor the token.
func (s *Server) logSQL(r *http.Request, ref, op string, start time.Time, rows int, err error) {
	attrs := []any{"project_id", ref, "op", op, "duration_ms", time.Since(start).Milliseconds()}
	var e *sqlapi.Error
	switch {
	case err == nil:
		attrs = append(attrs, "rows", rows)
	case errors.As(err, &e):
		attrs = append(attrs, "status", e.Status, "code", e.Code)
	default:
		attrs = append(attrs, "status", http.StatusInternalServerError)
	}
	s.Log.Info("sql request", attrs...)
}

func (s *Server) v1Query(w http.ResponseWriter, r *http.Request, ref string) error {
	var body queryBody
	if err := decodeV1Limit(w, r, &body, maxSQLBody); err != nil {
		return err
	}
	if err := body.check(); err != nil {
		return err
	}
	start := time.Now()
	readOnly := body.ReadOnly != nil && *body.ReadOnly
	res, err := s.SQL.Query(r.Context(), ref, *body.Query, body.Parameters, readOnly)
	op := "query"
	if readOnly {
		op = "query_read_only"
	}
	s.logSQL(r, ref, op, start, res.Rows, err)
	if err != nil {
		return sqlAPIError(err)
	}
	writeRaw(w, http.StatusCreated, res.JSON)
	return nil
}

func (s *Server) v1ReadOnlyQuery(w http.ResponseWriter, r *http.Request, ref string) error {
	var body struct {
		Query      *string           `json:"query"`
		Parameters []json.RawMessage `json:"parameters"`
	}
	if err := decodeV1Limit(w, r, &body, maxSQLBody); err != nil {
		return err
	}
	qb := queryBody{Query: body.Query, Parameters: body.Parameters}
	if err := qb.check(); err != nil {
		return err
	}
	start := time.Now()
	res, err := s.SQL.ReadOnlyQuery(r.Context(), ref, *body.Query, body.Parameters)
	s.logSQL(r, ref, "query_read_only", start, res.Rows, err)
	if err != nil {
		return sqlAPIError(err)
	}
	writeRaw(w, http.StatusCreated, res.JSON)
	return nil
}

func (s *Server) v1ApplyMigration(w http.ResponseWriter, r *http.Request, ref string) error {
	var body struct {
		Query    *string `json:"query"`
		Name     *string `json:"name"`
		Rollback *string `json:"rollback"`
	}
	if err := decodeV1Limit(w, r, &body, maxSQLBody); err != nil {
		return err
	}
	if body.Query == nil || strings.TrimSpace(*body.Query) == "" {
		return badRequest("invalid_body", `field "query" is required and must not be empty`)
	}
	if body.Rollback != nil && *body.Rollback != "" {
		return badRequest("unsupported_field", `field "rollback" is not supported: apply the reverse as a new migration`)
	}
	name := ""
	if body.Name != nil {
		name = *body.Name
	}
	if len(name) > 255 {
		return badRequest("invalid_body", `field "name" must be at most 255 characters`)
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		return badRequest("invalid_idempotency_key", "Idempotency-Key must be at most 255 characters")
	}
	start := time.Now()
	m, err := s.SQL.ApplyMigration(r.Context(), ref, *body.Query, name, key)
	s.logSQL(r, ref, "migration", start, 0, err)
	if err != nil {
		return sqlAPIError(err)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) v1ListMigrations(w http.ResponseWriter, r *http.Request, ref string) error {
	ms, err := s.SQL.ListMigrations(r.Context(), ref)
	if err != nil {
		return sqlAPIError(err)
	}
	writeJSON(w, http.StatusOK, ms)
	return nil
}

func (s *Server) v1Tables(w http.ResponseWriter, r *http.Request, ref string) error {
	ts, err := s.SQL.Tables(r.Context(), ref)
	if err != nil {
		return sqlAPIError(err)
	}
	writeJSON(w, http.StatusOK, ts)
	return nil
}

func (s *Server) v1Views(w http.ResponseWriter, r *http.Request, ref string) error {
	vs, err := s.SQL.Views(r.Context(), ref)
	if err != nil {
		return sqlAPIError(err)
	}
	writeJSON(w, http.StatusOK, vs)
	return nil
}

func (s *Server) v1Extensions(w http.ResponseWriter, r *http.Request, ref string) error {
	es, err := s.SQL.Extensions(r.Context(), ref)
	if err != nil {
		return sqlAPIError(err)
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

// writeRaw answers with JSON that is already encoded.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
