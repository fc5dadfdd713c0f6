package app

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
)

// v1 sends a request to the public listener with the admin token and
// decodes the JSON answer into out (when not nil).
func (m *tm) v1(method, path, body string, out any) int {
	m.t.Helper()
	status, data := m.raw(method, path, body)
	if out != nil {
		require.NoError(m.t, json.Unmarshal(data, out), string(data))
	}
	return status
}

type health []struct {
	Name, Status, Error string
	Healthy             bool
}

// Projects made through /project/create-pgrest-lambda are /v1 projects
// too: the id is the ref, the name defaults to it, the region is the
// platform's.
func TestV1SharesProjectsWithLegacyAPI(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("legacy-one")

	var p map[string]any
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/legacy-one", "", &p))
	require.Equal(t, "legacy-one", p["ref"])
	require.Equal(t, "legacy-one", p["name"])
	require.Equal(t, "us-east-1", p["region"])
	require.Equal(t, "default", p["organization_slug"])
	require.Equal(t, "ACTIVE_HEALTHY", p["status"])

	var ref map[string]any
	require.Equal(t, http.StatusOK, m.v1("PATCH", "/v1/projects/legacy-one", `{"name":"Renamed"}`, &ref))
	require.Equal(t, "legacy-one", ref["ref"])
	require.Equal(t, "Renamed", ref["name"])
	require.IsType(t, float64(0), ref["id"])
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/legacy-one", "", &p))
	require.Equal(t, "Renamed", p["name"])

	var e map[string]any
	for _, path := range []string{"/v1/projects/nosuchproject", "/v1/projects/nosuchproject/api-keys", "/v1/projects/nosuchproject/postgrest",
		"/v1/projects/nosuchproject/health?services=db"} {
		require.Equal(t, http.StatusNotFound, m.v1("GET", path, "", &e), path)
		require.Equal(t, "not_found", e["code"], path)
	}
	require.Equal(t, http.StatusNotFound, m.v1("PATCH", "/v1/projects/nosuchproject", `{"name":"x"}`, &e))
	require.Equal(t, http.StatusNotFound, m.v1("DELETE", "/v1/projects/nosuchproject/api-keys/00000000-0000-4000-8000-000000000000", "", &e))

	// The legacy surface sees the key the /v1 one made, and the other way round.
	var k map[string]any
	require.Equal(t, http.StatusCreated, m.v1("POST", "/v1/projects/legacy-one/api-keys", `{"type":"publishable","name":"web_app"}`, &k))
	status, keys := m.do("GET", "/project/legacy-one/api-keys", adminToken, "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, keys["api_keys"], 3)
	status, _ = m.do("DELETE", "/project/legacy-one/api-keys/"+k["id"].(string), adminToken, "")
	require.Equal(t, http.StatusNoContent, status)
	var list []map[string]any
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/legacy-one/api-keys", "", &list))
	require.Len(t, list, 2, "a revoked key is not listed")
}

// db health is a real login: a broken authenticator password shows, and
// rest health follows the function.
func TestV1HealthChecksForReal(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("health-one")

	var h health
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/health-one/health?services=db&services=rest,storage", "", &h))
	require.Len(t, h, 3)
	require.Equal(t, "db", h[0].Name)
	require.Equal(t, "ACTIVE_HEALTHY", h[0].Status)
	require.Equal(t, "rest", h[1].Name)
	require.Equal(t, "ACTIVE_HEALTHY", h[1].Status)
	require.Equal(t, "UNHEALTHY", h[2].Status)

	// Change the authenticator's password behind the platform's back.
	worker := env.pg1
	var workerID string
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT worker_id FROM projects WHERE id = 'health-one'").Scan(&workerID))
	if workerID == "worker-2" {
		worker = env.pg2
	}
	conn, err := worker.Connect(ctx, "postgres", worker.SuperPassword, "postgres")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ALTER ROLE "health-one_authenticator" PASSWORD 'something-else-entirely'`)
	conn.Close(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/health-one/health?services=db", "", &h))
	require.Equal(t, "UNHEALTHY", h[0].Status)
	require.False(t, h[0].Healthy)
	require.Contains(t, h[0].Error, "could not log in")

	_, err = m.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("postgrest-health-one")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/health-one/health?services=rest", "", &h))
	require.Equal(t, "UNHEALTHY", h[0].Status)
	require.Contains(t, h[0].Error, "does not exist")
}

// A PostgREST settings change recycles the function (a new
// CONFIG_GENERATION); a body without PostgREST settings does not.
func TestV1PostgrestRecycles(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	ctx := context.Background()
	m.mustCreate("rest-one")
	generation := func() string {
		fn, err := m.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("postgrest-rest-one")})
		require.NoError(t, err)
		return fn.Environment.Variables["CONFIG_GENERATION"]
	}
	var c map[string]any
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/rest-one/postgrest", "", &c))
	require.Equal(t, map[string]any{"db_schema": "public", "max_rows": float64(0), "db_extra_search_path": "public", "db_pool": nil}, c)
	require.Empty(t, generation())

	require.Equal(t, http.StatusOK, m.v1("PATCH", "/v1/projects/rest-one/postgrest", `{"db_pool":10}`, &c))
	require.Empty(t, generation(), "db_pool is ignored: nothing to recycle")

	require.Equal(t, http.StatusOK, m.v1("PATCH", "/v1/projects/rest-one/postgrest", `{"max_rows":250}`, &c))
	require.Equal(t, float64(250), c["max_rows"])
	first := generation()
	require.NotEmpty(t, first)

	require.Equal(t, http.StatusOK, m.v1("PATCH", "/v1/projects/rest-one/postgrest", `{"max_rows":0}`, &c))
	require.Equal(t, float64(0), c["max_rows"], "0 is no limit")
	require.NotEqual(t, first, generation())
	var stored *int32
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT db_max_rows FROM postgrest_config WHERE project_id = 'rest-one'").Scan(&stored))
	require.Nil(t, stored)

	// A project being deleted refuses the change.
	_, err := m.app.Service.Store.Pool.Exec(ctx, "UPDATE projects SET status = 'deprovisioning' WHERE id = 'rest-one'")
	require.NoError(t, err)
	var e map[string]any
	require.Equal(t, http.StatusConflict, m.v1("PATCH", "/v1/projects/rest-one/postgrest", `{"max_rows":5}`, &e))
	require.Equal(t, "not_active", e["code"])
	var p map[string]any
	require.Equal(t, http.StatusOK, m.v1("GET", "/v1/projects/rest-one", "", &p))
	require.Equal(t, "GOING_DOWN", p["status"])
}
