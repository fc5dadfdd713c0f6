package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// handlerFunc is a handler that leaves error responses to handle: it writes
// only its success answer and returns nil, or writes nothing and returns
// the error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// apiError is an answer the client is meant to see as it is: its status,
// code and message go out unchanged.
type apiError struct {
	Status int
	Code   string
	Msg    string
	Step   string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func badRequest(code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Msg: msg}
}

func unauthorized(code, msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: code, Msg: msg}
}

func forbidden(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "forbidden", Msg: msg}
}

func notFound(code, msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: code, Msg: msg}
}

func conflict(code, msg string) *apiError {
	return &apiError{Status: http.StatusConflict, Code: code, Msg: msg}
}

func unavailable(code, msg string) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: code, Msg: msg}
}

// errInternal is all a client learns of an unexpected failure; the cause
// goes to the log only.
var errInternal = &apiError{Status: http.StatusInternalServerError, Code: "internal", Msg: "internal error"}

// errorBody is the wire form of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Step  string `json:"step,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, errorBody{Error: e.Msg, Code: e.Code, Step: e.Step})
}

// handle is the one place where a handler's error becomes a response.
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, s.toAPIError(r, err))
		}
	}
}

// toAPIError maps an error to what the client sees. Errors the client can
// act on keep their specific code; everything else is logged with the
// path and answered with a bare 500, so no internal detail (SQL, AWS or
// Kong messages) reaches the response.
func (s *Server) toAPIError(r *http.Request, err error) *apiError {
	var (
		ae   *apiError
		rerr *provision.RotationError
		step *provision.StepError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	// A rotation failure is checked before the sentinels it may wrap: its
	// message states what the database holds now, rolled back or not.
	case errors.As(err, &rerr):
		s.Log.Error("request failed", "path", r.URL.Path, "step", rerr.Step, "rolled_back", rerr.RolledBack, "error", err.Error())
		return &apiError{Status: http.StatusBadGateway, Code: "rotation_failed", Msg: rerr.Message(), Step: rerr.Step}
	// Before ErrNotFound: the message names the state that blocked it.
	case errors.Is(err, store.ErrBusy):
		return conflict("project_busy", err.Error())
	case errors.Is(err, store.ErrNotFound):
		return notFound("not_found", "project or key not found")
	case errors.Is(err, store.ErrDuplicate):
		return conflict("conflict", "a project with this id exists already")
	case errors.Is(err, provision.ErrNotActive):
		return conflict("not_active", err.Error())
	case errors.Is(err, provision.ErrRotationInProgress):
		return conflict("rotation_in_progress", "a JWT secret rotation of this project is in progress; retry when it has finished")
	case errors.Is(err, store.ErrNoWorker):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "no_capacity", Msg: "no worker instance has room for another tenant: add a worker to database.workers", Step: "pick_worker"}
	case errors.As(err, &step):
		s.Log.Error("request failed", "path", r.URL.Path, "step", step.Step, "error", err.Error())
		return &apiError{Status: http.StatusBadGateway, Code: "step_failed", Msg: fmt.Sprintf("step %s failed; everything done before it was undone, so the request can be retried", step.Step), Step: step.Step}
	default:
		s.Log.Error("request failed", "path", r.URL.Path, "error", err.Error())
		return errInternal
	}
}
