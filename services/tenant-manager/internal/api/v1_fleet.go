package api

import (
	"context"
	"net/http"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/reconcile"
)

// FleetReconciler runs the tenant function reconciler on demand and
// reports its progress.
type FleetReconciler interface {
	Request(ctx context.Context) error
	Status(ctx context.Context) (*reconcile.Status, error)
}

// mountFleet registers the platform endpoints of the function reconciler.
func (s *Server) mountFleet(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/platform/reconcile", s.handle(s.admin(s.fleetRun)))
	mux.HandleFunc("GET /v1/platform/reconcile", s.handle(s.admin(s.fleetStatus)))
}

func (s *Server) fleetRun(w http.ResponseWriter, r *http.Request) error {
	if s.Fleet == nil {
		return unavailable("reconciler_unavailable", "the function reconciler is not configured")
	}
	// No options today; an empty object is accepted, anything else named.
	if r.ContentLength > 0 {
		var body struct{}
		if err := decodeV1(w, r, &body); err != nil {
			return err
		}
	}
	if err := s.Fleet.Request(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted",
		"message": "a reconcile run starts now, or right after the one in progress; follow it with GET /v1/platform/reconcile"})
	return nil
}

func (s *Server) fleetStatus(w http.ResponseWriter, r *http.Request) error {
	if s.Fleet == nil {
		return unavailable("reconciler_unavailable", "the function reconciler is not configured")
	}
	st, err := s.Fleet.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
