package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

// mountControls serves pause, restore and the per-project limits, on the
// Management API's paths (/v1/projects/{ref}/…, the limits under
// /platform/ since Supabase has no such endpoint) and on /project/{id}/….
func (s *Server) mountControls(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/projects/{ref}/pause", s.handle(s.admin(withPathID("ref", s.pause))))
	mux.HandleFunc("POST /v1/projects/{ref}/restore", s.handle(s.admin(withPathID("ref", s.restore))))
	mux.HandleFunc("GET /v1/projects/{ref}/platform/limits", s.handle(s.admin(withPathID("ref", s.getLimits))))
	mux.HandleFunc("PATCH /v1/projects/{ref}/platform/limits", s.handle(s.admin(withPathID("ref", s.patchLimits))))
	mux.HandleFunc("POST /project/{id}/pause", s.handle(s.admin(withPathID("id", s.pause))))
	mux.HandleFunc("POST /project/{id}/restore", s.handle(s.admin(withPathID("id", s.restore))))
	mux.HandleFunc("GET /project/{id}/limits", s.handle(s.admin(withPathID("id", s.getLimits))))
	mux.HandleFunc("PATCH /project/{id}/limits", s.handle(s.admin(withPathID("id", s.patchLimits))))
}

// withPathID validates the project id in the path segment name.
func withPathID(name string, next func(http.ResponseWriter, *http.Request, string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue(name)
		if err := ValidateID(id); err != nil {
			return badRequest("invalid_project_id", err.Error())
		}
		return next(w, r, id)
	}
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request, id string) error {
	res, err := s.Service.Pause(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request, id string) error {
	res, err := s.Service.Restore(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) getLimits(w http.ResponseWriter, r *http.Request, id string) error {
	res, err := s.Service.GetLimits(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// patchLimits takes {"rate_limit": {"rps", "burst"} | null,
// "reserved_concurrency": n | null}: a field left out stays as it is, null
// removes the override (back to the platform default).
func (s *Server) patchLimits(w http.ResponseWriter, r *http.Request, id string) error {
	var body map[string]json.RawMessage
	if err := decode(w, r, &body); err != nil {
		return err
	}
	ch, err := parseLimits(body)
	if err != nil {
		return err
	}
	res, err := s.Service.SetLimits(r.Context(), id, ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func parseLimits(body map[string]json.RawMessage) (provision.LimitsChange, error) {
	var ch provision.LimitsChange
	if len(body) == 0 {
		return ch, badRequest("invalid_body", `send "rate_limit" and/or "reserved_concurrency"`)
	}
	for k, raw := range body {
		switch k {
		case "rate_limit":
			ch.SetRateLimit = true
			if isNull(raw) {
				continue
			}
			var rl struct {
				RPS   *int `json:"rps"`
				Burst *int `json:"burst"`
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rl); err != nil {
				return ch, badRequest("invalid_rate_limit", `"rate_limit" must be null or {"rps": <integer>, "burst": <integer>}`)
			}
			for name, v := range map[string]*int{"rate_limit.rps": rl.RPS, "rate_limit.burst": rl.Burst} {
				if v == nil || *v < 1 || *v > provision.MaxRateLimit {
					return ch, badRequest("invalid_rate_limit", fmt.Sprintf("%q must be an integer from 1 to %d", name, provision.MaxRateLimit))
				}
			}
			ch.RateLimit = &provision.RateLimit{RPS: *rl.RPS, Burst: *rl.Burst}
		case "reserved_concurrency":
			ch.SetReservedConcurrency = true
			if isNull(raw) {
				continue
			}
			var n int
			if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > provision.MaxReservedConcurrency {
				return ch, badRequest("invalid_reserved_concurrency", fmt.Sprintf(`"reserved_concurrency" must be null (the platform default) or an integer from 1 to %d; pause the project to stop it`, provision.MaxReservedConcurrency))
			}
			ch.ReservedConcurrency = &n
		default:
			return ch, badRequest("invalid_body", fmt.Sprintf("unknown field %q: only \"rate_limit\" and \"reserved_concurrency\"", k))
		}
	}
	return ch, nil
}
