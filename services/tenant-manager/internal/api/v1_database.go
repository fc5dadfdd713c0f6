package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// withRef validates the path's project ref (a project id) first.
func withRef(next func(http.ResponseWriter, *http.Request, string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref := r.PathValue("ref")
		if err := ValidateID(ref); err != nil {
			return badRequest("invalid_project_ref", err.Error())
		}
		return next(w, r, ref)
	}
}

// decodeSQLBody reads one JSON object into v: a body over maxSQLBody is
// 413, an unknown field or a value of the wrong type is 400 naming it.
func decodeSQLBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Msg: "send a JSON body with Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSQLBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return badRequest("invalid_body", "request body must hold exactly one JSON object")
	}
	var (
		tooLarge *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
		synErr   *json.SyntaxError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Msg: fmt.Sprintf("request body exceeds %d bytes", maxSQLBody)}
	case errors.Is(err, io.EOF):
		return badRequest("invalid_body", "request body is empty: send a JSON object")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest("invalid_body", fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case errors.As(err, &typeErr):
		return badRequest("invalid_body", "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("invalid_body", strings.TrimPrefix(err.Error(), "json: ")+" in the request body")
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid_body", "request body is not valid JSON: "+err.Error())
	default:
		return badRequest("invalid_body", "request body must be a JSON object: "+err.Error())
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "ptr", "struct", "map":
		return "an object"
	}
	return "a " + goKind
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
	if err := decodeSQLBody(w, r, &body); err != nil {
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
	if err := decodeSQLBody(w, r, &body); err != nil {
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
	if err := decodeSQLBody(w, r, &body); err != nil {
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
