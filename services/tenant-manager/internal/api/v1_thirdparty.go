package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/thirdparty"
)

// mountV1ThirdPartyAuth serves Supabase's third-party auth endpoints
// (createProjectTpaIntegration, listProjectTpaIntegrations,
// getProjectTpaIntegration, deleteProjectTpaIntegration).
func (s *Server) mountV1ThirdPartyAuth(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/projects/{ref}/config/auth/third-party-auth", s.handle(s.admin(withRef(s.createTPA))))
	mux.HandleFunc("GET /v1/projects/{ref}/config/auth/third-party-auth", s.handle(s.admin(withRef(s.listTPA))))
	mux.HandleFunc("GET /v1/projects/{ref}/config/auth/third-party-auth/{tpa_id}", s.handle(s.admin(withRef(withTPAID(s.getTPA)))))
	mux.HandleFunc("DELETE /v1/projects/{ref}/config/auth/third-party-auth/{tpa_id}", s.handle(s.admin(withRef(withTPAID(s.deleteTPA)))))
}

func withTPAID(next func(http.ResponseWriter, *http.Request, string, string) error) func(http.ResponseWriter, *http.Request, string) error {
	return func(w http.ResponseWriter, r *http.Request, ref string) error {
		id := strings.ToLower(r.PathValue("tpa_id"))
		if !uuidRe.MatchString(id) {
			return badRequest("invalid_tpa_id", "tpa_id must be a UUID")
		}
		return next(w, r, ref, id)
	}
}

// tpaError gives the third-party auth errors their own answers; the rest
// go to the common mapping.
func tpaError(err error) error {
	var te *thirdparty.Error
	switch {
	case errors.As(err, &te):
		return badRequest(te.Code, te.Msg)
	case errors.Is(err, store.ErrTPALimit):
		return badRequest("too_many_third_party_auth", "a project may have at most "+itoa(provision.MaxThirdPartyAuth)+" third-party auth entries: delete one first")
	case errors.Is(err, store.ErrTPAExists):
		return conflict("third_party_auth_exists", "this project has an entry of that issuer already: delete it first to change it")
	case errors.Is(err, store.ErrBusy):
		return err
	case errors.Is(err, store.ErrNotFound):
		return notFound("not_found", "project or third-party auth entry not found")
	}
	return err
}

func (s *Server) createTPA(w http.ResponseWriter, r *http.Request, ref string) error {
	var body thirdparty.Body
	if err := decodeV1(w, r, &body); err != nil {
		return err
	}
	// An unknown project is answered before any DNS lookup.
	if _, err := s.Service.Store.GetProject(r.Context(), ref); err != nil {
		return tpaError(err)
	}
	checker := thirdparty.Checker{Resolver: s.TPAResolver}
	e, err := checker.Check(r.Context(), body)
	if err != nil {
		return tpaError(err)
	}
	res, err := s.Service.AddThirdPartyAuth(r.Context(), ref, store.ThirdPartyAuth{Type: e.Type, OIDCIssuerURL: e.OIDCIssuerURL, JWKSURL: e.JWKSURL,
		CustomJWKS: e.CustomJWKS, Audience: e.Audience, ClientID: e.ClientID, TokenUse: e.TokenUse})
	if err != nil {
		return tpaError(err)
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) listTPA(w http.ResponseWriter, r *http.Request, ref string) error {
	res, err := s.Service.ListThirdPartyAuth(r.Context(), ref)
	if err != nil {
		return tpaError(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) getTPA(w http.ResponseWriter, r *http.Request, ref, id string) error {
	res, err := s.Service.GetThirdPartyAuth(r.Context(), ref, id)
	if err != nil {
		return tpaError(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) deleteTPA(w http.ResponseWriter, r *http.Request, ref, id string) error {
	res, err := s.Service.DeleteThirdPartyAuth(r.Context(), ref, id)
	if err != nil {
		return tpaError(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
