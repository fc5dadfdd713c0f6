package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
)

func (s *Server) mountV1Health(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{ref}/health", s.handle(s.admin(withRef(s.v1Health))))
}

// v1ServiceHealth is Supabase's V1ServiceHealthResponse.
type v1ServiceHealth struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	Status  string `json:"status"`
	Info    any    `json:"info,omitempty"`
	Error   string `json:"error,omitempty"`
}

// v1Services are the names Supabase's health endpoint takes; only rest and
// db run on this platform, the others are answered UNHEALTHY with an error
// saying so (the shape a client expects, and true).
var v1Services = map[string]bool{"auth": false, "db": true, "db_postgres_user": false, "pooler": false,
	"realtime": false, "rest": true, "storage": false, "pg_bouncer": false}

const defaultHealthTimeout = 5 * time.Second

func (s *Server) v1Health(w http.ResponseWriter, r *http.Request, ref string) error {
	q := r.URL.Query()
	var services []string
	seen := map[string]bool{}
	for _, v := range q["services"] {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if _, ok := v1Services[name]; !ok {
				return badRequest("invalid_query", fmt.Sprintf(`query parameter "services": unknown service %q (one of auth, db, db_postgres_user, pooler, realtime, rest, storage, pg_bouncer)`, name))
			}
			if !seen[name] {
				seen[name] = true
				services = append(services, name)
			}
		}
	}
	if len(services) == 0 {
		return badRequest("invalid_query", `query parameter "services" is required, e.g. services=rest,db`)
	}
	timeout := defaultHealthTimeout
	if v := q.Get("timeout_ms"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 || ms > 10000 {
			return badRequest("invalid_query", `query parameter "timeout_ms" must be a whole number 0..10000`)
		}
		if ms > 0 {
			timeout = time.Duration(ms) * time.Millisecond
		}
	}
	p, err := s.Service.Store.GetProject(r.Context(), ref)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	out := make([]v1ServiceHealth, len(services))
	var wg sync.WaitGroup
	for i, name := range services {
		switch {
		case !v1Services[name]:
			out[i] = v1ServiceHealth{Name: name, Status: "UNHEALTHY", Error: name + " is not offered by this platform: it runs PostgREST (rest) and the database (db) only"}
		case p.Status == "provisioning":
			out[i] = v1ServiceHealth{Name: name, Status: "COMING_UP"}
		case p.Status != "active":
			out[i] = v1ServiceHealth{Name: name, Status: "UNHEALTHY", Error: "the project is " + p.Status}
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				if name == "db" {
					out[i] = s.dbHealth(ctx, ref)
				} else {
					out[i] = s.restHealth(ctx, ref, p.FunctionURL)
				}
			}()
		}
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dbHealth is a real login as the project's authenticator.
func (s *Server) dbHealth(ctx context.Context, ref string) v1ServiceHealth {
	if err := s.Service.CheckDatabaseLogin(ctx, ref); err != nil {
		h := v1ServiceHealth{Name: "db", Status: "UNHEALTHY", Error: "the project's authenticator could not log in to its database"}
		if ctx.Err() != nil {
			h.Error += " within the timeout"
		}
		return h
	}
	return v1ServiceHealth{Name: "db", Healthy: true, Status: "ACTIVE_HEALTHY"}
}

// restHealth judges PostgREST by its Lambda: Active, last update not
// failed, and an AWS_IAM Function URL that is the one the gateway routes to.
func (s *Server) restHealth(ctx context.Context, ref string, wantURL *string) v1ServiceHealth {
	bad := func(msg string) v1ServiceHealth {
		return v1ServiceHealth{Name: "rest", Status: "UNHEALTHY", Error: msg}
	}
	st, err := s.Service.InspectFunction(ctx, ref)
	switch {
	case lambdas.IsNotFound(err):
		return bad("the project's function " + lambdas.FunctionName(ref) + " does not exist")
	case err != nil:
		s.Log.Warn("health: reading the function failed", "project_id", ref, "error", err.Error())
		return bad("the function's state could not be read")
	case st.State == string(types.StatePending) || st.LastUpdate == string(types.LastUpdateStatusInProgress):
		return v1ServiceHealth{Name: "rest", Status: "COMING_UP"}
	case st.State != string(types.StateActive):
		return bad(fmt.Sprintf("the function is %s", st.State))
	case st.LastUpdate == string(types.LastUpdateStatusFailed):
		return bad("the function's last update failed")
	case st.URL == "":
		return bad("the function has no Function URL")
	case st.URLAuthType != string(types.FunctionUrlAuthTypeAwsIam):
		return bad("the function's URL does not require AWS_IAM authentication")
	case wantURL == nil || *wantURL != st.URL:
		return bad("the function's URL is not the one the gateway routes to")
	}
	h := v1ServiceHealth{Name: "rest", Healthy: true, Status: "ACTIVE_HEALTHY"}
	if c, err := s.Service.Store.GetPostgrestConfig(ctx, ref); err == nil {
		h.Info = map[string]string{"db_schema": c.DBSchemas}
	}
	return h
}
