package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
)

// captureLogs sends the tenant-manager's log to a buffer.
func (m *tm) captureLogs() *syncBuffer {
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m.app.Server.Log, m.app.Service.Log = log, log
	// The requests that read it come from a node process, which the race
	// detector cannot see through; a request of this process after the
	// swap orders it before them (socket I/O is a synchronisation point
	// for the detector).
	status, _ := m.do("GET", "/health", "", "")
	require.Equal(m.t, http.StatusOK, status)
	return buf
}

// callResult is what the node script records per client call.
type callResult struct {
	Status  int             `json:"status"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func nodeClient(t *testing.T, m *tm, extra ...string) map[string]callResult {
	t.Helper()
	env := append([]string{"TM_BASE_URL=" + m.srv.URL, "TM_ADMIN_TOKEN=" + adminToken, "TM_REGION=" + m.cfg.Region}, extra...)
	out := runNodeClient(t, "v1_client.mjs", env)
	var res map[string]callResult
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	return res
}

func (c callResult) into(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(c.Data, v), string(c.Data))
}

// TestV1WithSupabaseManagementJS drives the /v1 API with the npm client
// supabase-management-js 2.0.2 and checks both what the client got and
// what the platform holds afterwards.
func TestV1WithSupabaseManagementJS(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	logs := m.captureLogs()
	ctx := context.Background()
	res := nodeClient(t, m)

	create := res["createAProject"]
	require.Equal(t, http.StatusCreated, create.Status, "%+v", create)
	var p struct {
		ID, Ref, Name, Region, Status string
		OrganizationSlug              string    `json:"organization_slug"`
		OrganizationID                string    `json:"organization_id"`
		CreatedAt                     time.Time `json:"created_at"`
		APIKeys                       []struct {
			APIKey *string `json:"api_key"`
			Type   string
		} `json:"api_keys"`
	}
	create.into(t, &p)
	ref := p.Ref
	require.Regexp(t, `^[a-z]{20}$`, ref)
	require.Equal(t, ref, p.ID)
	require.Equal(t, "Client Test", p.Name)
	require.Equal(t, "acme-org", p.OrganizationSlug)
	require.Equal(t, "acme-org", p.OrganizationID)
	require.Equal(t, "us-east-1", p.Region)
	require.Equal(t, "ACTIVE_HEALTHY", p.Status)
	require.WithinDuration(t, time.Now(), p.CreatedAt, time.Minute)
	require.Len(t, p.APIKeys, 2)
	var defaultSecret string
	for _, k := range p.APIKeys {
		require.NotNil(t, k.APIKey)
		if k.Type == "secret" {
			defaultSecret = *k.APIKey
		}
	}

	t.Run("the project is provisioned like create-pgrest-lambda", func(t *testing.T) {
		var name, org, region, status string
		require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT name, organization_slug, region, status FROM projects WHERE id = $1", ref).Scan(&name, &org, &region, &status))
		require.Equal(t, []string{"Client Test", "acme-org", "us-east-1", "active"}, []string{name, org, region, status})
		fn, err := m.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("postgrest-" + ref)})
		require.NoError(t, err)
		require.Equal(t, ref, fn.Configuration.Environment.Variables["PROJECT_ID"])
		require.NotNil(t, m.kong.Consumer(ref+"--anon"))
		require.Equal(t, []string{defaultSecret}, m.kong.Consumer(ref+"--service_role").Keys, "the revoked key is gone from Kong, the default one stays")
	})

	t.Run("list and get", func(t *testing.T) {
		var list []map[string]any
		res["listAllProjects"].into(t, &list)
		require.Len(t, list, 1)
		require.Equal(t, ref, list[0]["ref"])
		require.Equal(t, "127.0.0.1", list[0]["database"].(map[string]any)["host"])
		var got map[string]any
		res["getProject"].into(t, &got)
		require.Equal(t, "Client Test", got["name"])
		require.Equal(t, "ACTIVE_HEALTHY", got["status"])
		require.Equal(t, http.StatusNotFound, res["getUnknownProject"].Status)
		require.Equal(t, "SupabaseManagementAPIError", res["getUnknownProject"].Error)
	})

	t.Run("API keys: listed without secrets, created once, revoked at the gateway", func(t *testing.T) {
		var keys []map[string]any
		res["getProjectApiKeys"].into(t, &keys)
		require.Len(t, keys, 2)
		for _, k := range keys {
			require.Nil(t, k["api_key"])
			require.Regexp(t, `^sb_(publishable|secret)_`, k["prefix"])
			require.NotEmpty(t, k["inserted_at"])
		}
		created := res["createProjectApiKey"]
		require.Equal(t, http.StatusCreated, created.Status, "%+v", created)
		var k struct {
			APIKey      string `json:"api_key"`
			ID, Name    string
			Type        string
			Description string
		}
		created.into(t, &k)
		require.Regexp(t, `^sb_secret_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$`, k.APIKey)
		require.Equal(t, "ci_key", k.Name)
		require.Equal(t, "made by the client test", k.Description)
		res["getProjectApiKeysAfterCreate"].into(t, &keys)
		require.Len(t, keys, 3)

		reveal := res["revealProjectApiKeys"]
		require.Equal(t, http.StatusBadRequest, reveal.Status)
		require.Contains(t, string(reveal.Data), "key_not_retrievable")

		require.Equal(t, http.StatusOK, res["deleteProjectApiKey"].Status, "%+v", res["deleteProjectApiKey"])
		require.Equal(t, http.StatusNotFound, res["deleteProjectApiKeyAgain"].Status)
		var revoked bool
		require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", k.ID).Scan(&revoked))
		require.True(t, revoked)
		require.NotContains(t, m.kong.Consumer(ref+"--service_role").Keys, k.APIKey)
	})

	t.Run("health", func(t *testing.T) {
		var h []map[string]any
		res["getServicesHealth"].into(t, &h)
		require.Len(t, h, 3)
		require.Equal(t, "rest", h[0]["name"])
		require.Equal(t, "ACTIVE_HEALTHY", h[0]["status"], h[0])
		require.Equal(t, true, h[0]["healthy"])
		require.Equal(t, "db", h[1]["name"])
		require.Equal(t, "ACTIVE_HEALTHY", h[1]["status"], h[1])
		require.Equal(t, "auth", h[2]["name"])
		require.Equal(t, "UNHEALTHY", h[2]["status"])
		require.Equal(t, false, h[2]["healthy"])
		require.Contains(t, h[2]["error"], "not offered")
	})

	t.Run("PostgREST settings are stored, reach the function's config and recycle it", func(t *testing.T) {
		upd := res["updatePostgrestServiceConfig"]
		require.Equal(t, http.StatusOK, upd.Status, "%+v", upd)
		require.JSONEq(t, `{"db_schema":"public,api","max_rows":500,"db_extra_search_path":"public,extensions","db_pool":null}`, string(upd.Data))
		require.JSONEq(t, string(upd.Data), string(res["getPostgrestServiceConfig"].Data))
		require.NotContains(t, string(res["getPostgrestServiceConfig"].Data), "jwt_secret")
		bad := res["badPostgrestServiceConfig"]
		require.Equal(t, http.StatusBadRequest, bad.Status)
		require.Contains(t, string(bad.Data), "max_rows")

		status, cfg := m.do("GET", "/project/"+ref+"/postgrest-config", "", "", "X-Caller-Identity", identity(t, env.tenantRoleARN, "postgrest-"+ref, time.Now()))
		require.Equal(t, http.StatusOK, status, cfg)
		require.Equal(t, "public,api", cfg["db_schemas"])
		require.Equal(t, float64(500), cfg["db_max_rows"])
		require.Equal(t, "public,extensions", cfg["db_extra_search_path"])
		fn, err := m.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("postgrest-" + ref)})
		require.NoError(t, err)
		require.NotEmpty(t, fn.Configuration.Environment.Variables["CONFIG_GENERATION"], "the function was recycled")
	})

	t.Run("delete", func(t *testing.T) {
		del := nodeClient(t, m, "TM_DELETE_REF="+ref)
		require.Equal(t, http.StatusOK, del["deleteAProject"].Status, "%+v", del["deleteAProject"])
		var out map[string]any
		del["deleteAProject"].into(t, &out)
		require.Equal(t, ref, out["ref"])
		require.Equal(t, "Client Test", out["name"])
		require.IsType(t, float64(0), out["id"])
		require.Equal(t, http.StatusNotFound, del["getDeletedProject"].Status)
		require.Empty(t, m.leftovers(ref))
	})

	t.Run("nothing secret is logged", func(t *testing.T) {
		l := logs.String()
		require.Contains(t, l, "project provisioned", "the log was captured")
		for _, secret := range []string{adminToken, "client-db-pass-never-logged", defaultSecret} {
			require.NotContains(t, l, secret)
		}
	})
}
