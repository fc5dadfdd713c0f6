package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The Supabase-compatible management API (/v1): the paths, methods, bodies
// and answers of Supabase's Management API v1 for the operations this
// platform offers, behind the same admin token as /project/...; both
// surfaces run the same provision.Service methods.

// v1BodyLimit caps a /v1 request body; larger ones are answered 413.
const v1BodyLimit = 64 << 10

// mountV1Core registers the project, API key, health and PostgREST
// endpoints of /v1.
func (s *Server) mountV1Core(mux *http.ServeMux) {
	s.mountV1Projects(mux)
	s.mountV1APIKeys(mux)
	s.mountV1Health(mux)
	s.mountV1Postgrest(mux)
	// Unknown /v1 paths answer JSON like every other error here.
	mux.HandleFunc("/v1/", s.handle(s.admin(noV1Route)))
}

func noV1Route(w http.ResponseWriter, r *http.Request) error {
	return notFound("not_found", "no such endpoint: this platform serves a subset of the Supabase Management API v1 (see the tenant-manager README)")
}

// withRef validates the path's project ref (a project id) before the
// handler sees it.
func withRef(next func(http.ResponseWriter, *http.Request, string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref := r.PathValue("ref")
		if err := ValidateID(ref); err != nil {
			return badRequest("invalid_project_ref", err.Error())
		}
		return next(w, r, ref)
	}
}

// decodeV1 reads one JSON object of at most v1BodyLimit bytes into v.
func decodeV1(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeV1Limit(w, r, v, v1BodyLimit)
}

// decodeV1Limit reads one JSON object into v. Unknown fields and wrong
// types are refused with 400 naming the field, a body over limit with 413.
// Messages never quote the body's values (it may hold a password or SQL).
func decodeV1Limit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Msg: "send a JSON body with Content-Type: application/json"}
	}
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Msg: fmt.Sprintf("the request body must be at most %d bytes", limit)}
	if r.ContentLength > limit {
		return tooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case err == nil:
	case errors.As(err, &maxErr):
		return tooLarge
	case errors.Is(err, io.EOF):
		return badRequest("invalid_body", "the request body is empty: send a JSON object")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("invalid_body", "the request body must be a JSON object")
		}
		// Value is "number 123" for numbers: only its kind is named, since
		// the field may be a password.
		kind, _, _ := strings.Cut(typeErr.Value, " ")
		return badRequest("invalid_field", fmt.Sprintf("field %q must be %s, not a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), kind))
	case errors.As(err, &syntaxErr):
		return badRequest("invalid_json", fmt.Sprintf("the request body is not valid JSON (at byte %d)", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid_json", "the request body is not valid JSON (it ends early)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one; the field name is
		// the only part of the body it quotes.
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return badRequest("unknown_field", "unknown field "+field+": this endpoint takes only the fields of Supabase's request body")
	default:
		return badRequest("invalid_body", "the request body must be one JSON object")
	}
	if dec.More() {
		return badRequest("invalid_body", "the request body must hold exactly one JSON object")
	}
	// Trailing bytes that are not JSON (More is false for them).
	if _, err := dec.Token(); err != io.EOF {
		if errors.As(err, &maxErr) {
			return tooLarge
		}
		return badRequest("invalid_body", "the request body must hold exactly one JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number in range"
	case "float32", "float64":
		return "a number"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return "of another type"
}

// boolParam reads an optional "true"/"false" query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, badRequest("invalid_query", fmt.Sprintf("query parameter %q must be true or false", name))
}

// checkName refuses names that are empty, too long, not UTF-8, padded
// with spaces or hold control characters (they would garble logs and
// listings).
func checkName(field, name string, maxRunes int) error {
	switch {
	case name == "":
		return badRequest("invalid_"+field, fmt.Sprintf("field %q is required", field))
	case !utf8.ValidString(name):
		return badRequest("invalid_"+field, fmt.Sprintf("field %q must be valid UTF-8", field))
	case utf8.RuneCountInString(name) > maxRunes:
		return badRequest("invalid_"+field, fmt.Sprintf("field %q must be at most %d characters", field, maxRunes))
	case strings.TrimSpace(name) != name:
		return badRequest("invalid_"+field, fmt.Sprintf("field %q must not start or end with white space", field))
	}
	for _, c := range name {
		if unicode.IsControl(c) || c == unicode.ReplacementChar || unicode.Is(unicode.Cf, c) {
			return badRequest("invalid_"+field, fmt.Sprintf("field %q must not contain control or format characters (found U+%04X)", field, c))
		}
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
