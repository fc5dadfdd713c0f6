package api

import (
	"context"
	"fmt"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"net/http"
	"regexp"
	"time"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

func (s *Server) mountV1Projects(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects", s.handle(s.admin(s.v1ListProjects)))
	mux.HandleFunc("POST /v1/projects", s.handle(s.admin(s.v1CreateProject)))
	mux.HandleFunc("GET /v1/projects/{ref}", s.handle(s.admin(withRef(s.v1GetProject))))
	mux.HandleFunc("PATCH /v1/projects/{ref}", s.handle(s.admin(withRef(s.v1UpdateProject))))
	mux.HandleFunc("DELETE /v1/projects/{ref}", s.handle(s.admin(withRef(s.v1DeleteProject))))
}

// v1Project is Supabase's V1ProjectResponse; Database makes it a
// V1ProjectWithDatabaseResponse, APIKeys (only in the answer to a create)
// carries the project's first two keys, which are never shown again.
type v1Project struct {
	ID               string      `json:"id"`
	Ref              string      `json:"ref"`
	OrganizationID   string      `json:"organization_id"`
	OrganizationSlug string      `json:"organization_slug"`
	Name             string      `json:"name"`
	Region           string      `json:"region"`
	CreatedAt        time.Time   `json:"created_at"`
	Status           string      `json:"status"`
	Database         *v1Database `json:"database,omitempty"`
	APIKeys          []v1APIKey  `json:"api_keys,omitempty"`
}

// v1Database: the tenant-manager does not track the worker's engine
// version, so version and postgres_engine stay empty rather than guessed.
type v1Database struct {
	Host           string `json:"host"`
	Version        string `json:"version"`
	PostgresEngine string `json:"postgres_engine"`
	ReleaseChannel string `json:"release_channel"`
}

// v1ProjectRef is Supabase's V1ProjectRefResponse.
type v1ProjectRef struct {
	ID   int64  `json:"id"`
	Ref  string `json:"ref"`
	Name string `json:"name"`
}

func (s *Server) v1ProjectOf(p store.ManagedProject, withDatabase bool) v1Project {
	out := v1Project{ID: p.ID, Ref: p.ID, OrganizationID: p.OrganizationSlug, OrganizationSlug: p.OrganizationSlug,
		Name: p.ID, Region: s.Region, CreatedAt: p.CreatedAt.UTC(), Status: provision.ManagementStatus(p.Status)}
	if p.Name != nil {
		out.Name = *p.Name
	}
	if p.Region != nil {
		out.Region = *p.Region
	}
	if withDatabase {
		out.Database = &v1Database{ReleaseChannel: "ga"}
		if p.WorkerEndpoint != nil {
			out.Database.Host = *p.WorkerEndpoint
		}
	}
	return out
}

func (s *Server) v1ListProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.Service.Store.ListManagedProjects(r.Context())
	if err != nil {
		return err
	}
	out := make([]v1Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.v1ProjectOf(p, true))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) v1GetProject(w http.ResponseWriter, r *http.Request, ref string) error {
	p, err := s.Service.Store.GetManagedProject(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.v1ProjectOf(p, true))
	return nil
}

var (
	orgSlugRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// Supabase's region codes and smart region groups.
	smartGroups = map[string]bool{"americas": true, "emea": true, "apac": true}
)

// v1CreateProjectBody is Supabase's V1CreateProjectBody. Fields without a
// meaning here are decoded (so their types are checked) and ignored.
type v1CreateProjectBody struct {
	Name             string `json:"name"`
	OrganizationSlug string `json:"organization_slug"`
	OrganizationID   string `json:"organization_id"`
	Region           string `json:"region"`
	RegionSelection  *struct {
		Type string `json:"type"`
		Code string `json:"code"`
	} `json:"region_selection"`
	// Ignored: the platform generates the authenticator's password itself
	// and tenants get no superuser; plans, sizes, templates, channels and
	// engines are the platform's.
	DBPass              *string `json:"db_pass"`
	Plan                *string `json:"plan"`
	KpsEnabled          *bool   `json:"kps_enabled"`
	DesiredInstanceSize *string `json:"desired_instance_size"`
	TemplateURL         *string `json:"template_url"`
	ReleaseChannel      *string `json:"release_channel"`
	PostgresEngine      *string `json:"postgres_engine"`
}

// checkRegion accepts the platform's region only: every tenant runs where
// the platform runs, so another region would be reported but not true.
func (s *Server) checkRegion(field, region string) error {
	if s.Region != "" && region != s.Region {
		return badRequest("invalid_region", fmt.Sprintf("field %q: region %q is not offered: this platform runs in %s only", field, region, s.Region))
	}
	return nil
}

func (s *Server) v1CreateProject(w http.ResponseWriter, r *http.Request) error {
	var body v1CreateProjectBody
	if err := decodeV1(w, r, &body); err != nil {
		return err
	}
	if err := checkName("name", body.Name, 256); err != nil {
		return err
	}
	org := body.OrganizationSlug
	field := "organization_slug"
	if org == "" {
		org, field = body.OrganizationID, "organization_id"
	}
	if org == "" {
		return badRequest("invalid_organization_slug", `field "organization_slug" is required`)
	}
	if !orgSlugRe.MatchString(org) {
		return badRequest("invalid_organization_slug", fmt.Sprintf("field %q must be 1 to 64 letters, digits, '_' or '-'", field))
	}
	if body.Region != "" && body.RegionSelection != nil {
		return badRequest("invalid_region", `only one of "region" and "region_selection" may be given`)
	}
	if body.Region != "" {
		if err := s.checkRegion("region", body.Region); err != nil {
			return err
		}
	}
	if rs := body.RegionSelection; rs != nil {
		switch rs.Type {
		case "specific":
			if err := s.checkRegion("region_selection.code", rs.Code); err != nil {
				return err
			}
		case "smartGroup":
			// Any group is answered with the one region there is.
			if !smartGroups[rs.Code] {
				return badRequest("invalid_region", `field "region_selection.code" must be americas, emea or apac for type smartGroup`)
			}
		default:
			return badRequest("invalid_region", `field "region_selection.type" must be "specific" or "smartGroup"`)
		}
	}
	ctx := r.Context()
	if s.ProvisionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ProvisionTimeout)
		defer cancel()
	}
	created, err := s.Service.CreateManaged(ctx, store.ProjectMeta{Name: body.Name, OrganizationSlug: org, Region: s.Region})
	if err != nil {
		return err
	}
	p, err := s.Service.Store.GetManagedProject(ctx, created.ID)
	if err != nil {
		return err
	}
	out := s.v1ProjectOf(p, false)
	for _, k := range created.APIKeys {
		full := k.Key
		key := v1KeyOf(k.APIKey)
		key.APIKey = &full
		out.APIKeys = append(out.APIKeys, key)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) v1UpdateProject(w http.ResponseWriter, r *http.Request, ref string) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeV1(w, r, &body); err != nil {
		return err
	}
	if err := checkName("name", body.Name, 256); err != nil {
		return err
	}
	if err := s.Service.Store.RenameProject(r.Context(), ref, body.Name); err != nil {
		return err
	}
	p, err := s.Service.Store.GetManagedProject(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1ProjectRef{ID: p.Seq, Ref: p.ID, Name: *p.Name})
	return nil
}

func (s *Server) v1DeleteProject(w http.ResponseWriter, r *http.Request, ref string) error {
	p, err := s.Service.Store.GetManagedProject(r.Context(), ref)
	if err != nil {
		return err
	}
	if err := s.Service.Delete(r.Context(), ref); err != nil {
		return err
	}
	out := v1ProjectRef{ID: p.Seq, Ref: p.ID, Name: p.ID}
	if p.Name != nil {
		out.Name = *p.Name
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
