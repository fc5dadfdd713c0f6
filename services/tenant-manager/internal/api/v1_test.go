package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

const v1Token = "v1-test-admin-token-0123456789abcdef0123"

// v1Server has no service behind it: every request here must be answered
// from validation alone (reaching the service would panic and answer 500).
func v1Server(t *testing.T) *httptest.Server {
	s := &Server{AdminToken: v1Token, Region: "us-east-1", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.PublicHandler())
	t.Cleanup(srv.Close)
	return srv
}

func v1Do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader) (int, errorBody) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+v1Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return resp.StatusCode, e
}

// onlyReader hides the length so the body is sent chunked.
type onlyReader struct{ io.Reader }

func TestV1BadInput(t *testing.T) {
	srv := v1Server(t)
	const ref = "/v1/projects/abcdefghijklmnopqrst"
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `","organization_slug":"o"}`
	for _, tc := range []struct {
		name, method, path, body string
		chunked                  bool
		status                   int
		code, contains           string
	}{
		{"unknown field", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","bogus":1}`, false, 400, "unknown_field", `"bogus"`},
		{"wrong type", "POST", "/v1/projects", `{"name":5,"organization_slug":"o"}`, false, 400, "invalid_field", `"name"`},
		{"wrong nested type", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","region_selection":{"type":"specific","code":1}}`, false, 400, "invalid_field", `"region_selection.code"`},
		{"number password is not echoed", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","db_pass":987654321}`, false, 400, "invalid_field", `"db_pass"`},
		{"oversized", "POST", "/v1/projects", big, false, 413, "payload_too_large", ""},
		{"oversized chunked", "POST", "/v1/projects", big, true, 413, "payload_too_large", ""},
		{"empty body", "POST", "/v1/projects", ``, false, 400, "invalid_body", "empty"},
		{"not an object", "POST", "/v1/projects", `[1]`, false, 400, "invalid_body", "object"},
		{"broken JSON", "POST", "/v1/projects", `{"name":`, false, 400, "invalid_json", ""},
		{"two objects", "POST", "/v1/projects", `{"name":"a","organization_slug":"o"}{}`, false, 400, "invalid_body", "exactly one"},
		{"trailing garbage", "POST", "/v1/projects", `{"name":"a","organization_slug":"o"} x`, false, 400, "invalid_body", "exactly one"},
		{"control character in name", "POST", "/v1/projects", `{"name":"a\u0000b","organization_slug":"o"}`, false, 400, "invalid_name", "control"},
		{"newline in name", "POST", "/v1/projects", `{"name":"a\nb","organization_slug":"o"}`, false, 400, "invalid_name", "control"},
		{"padded name", "POST", "/v1/projects", `{"name":" a","organization_slug":"o"}`, false, 400, "invalid_name", "white space"},
		{"long name", "POST", "/v1/projects", `{"name":"` + strings.Repeat("n", 257) + `","organization_slug":"o"}`, false, 400, "invalid_name", "256"},
		{"missing name", "POST", "/v1/projects", `{"organization_slug":"o"}`, false, 400, "invalid_name", "required"},
		{"missing organization", "POST", "/v1/projects", `{"name":"a"}`, false, 400, "invalid_organization_slug", "required"},
		{"bad organization", "POST", "/v1/projects", `{"name":"a","organization_slug":"a b"}`, false, 400, "invalid_organization_slug", ""},
		{"other region", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","region":"eu-west-1"}`, false, 400, "invalid_region", "us-east-1"},
		{"other region selected", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","region_selection":{"type":"specific","code":"eu-west-1"}}`, false, 400, "invalid_region", "region_selection.code"},
		{"region twice", "POST", "/v1/projects", `{"name":"a","organization_slug":"o","region":"us-east-1","region_selection":{"type":"smartGroup","code":"emea"}}`, false, 400, "invalid_region", "only one"},
		{"rename with bad name", "PATCH", ref, `{"name":"a\u0007"}`, false, 400, "invalid_name", ""},
		{"rename unknown field", "PATCH", ref, `{"name":"a","ref":"x"}`, false, 400, "unknown_field", `"ref"`},
		{"malformed ref", "GET", "/v1/projects/Bad_Ref", ``, false, 400, "invalid_project_ref", ""},
		{"key name", "POST", ref + "/api-keys", `{"type":"secret","name":"AB"}`, false, 400, "invalid_key_name", ""},
		{"key type", "POST", ref + "/api-keys", `{"type":"legacy","name":"my_key"}`, false, 400, "invalid_key_type", ""},
		{"key jwt template", "POST", ref + "/api-keys", `{"type":"secret","name":"my_key","secret_jwt_template":{"role":"x"}}`, false, 400, "unsupported_field", ""},
		{"reveal on list", "GET", ref + "/api-keys?reveal=true", ``, false, 400, "key_not_retrievable", "once"},
		{"reveal not a boolean", "GET", ref + "/api-keys?reveal=yes", ``, false, 400, "invalid_query", "reveal"},
		{"key id", "DELETE", ref + "/api-keys/not-a-uuid", ``, false, 400, "invalid_key_id", ""},
		{"health without services", "GET", ref + "/health", ``, false, 400, "invalid_query", "services"},
		{"health unknown service", "GET", ref + "/health?services=rest,bogus", ``, false, 400, "invalid_query", "bogus"},
		{"health timeout", "GET", ref + "/health?services=rest&timeout_ms=99999", ``, false, 400, "invalid_query", "timeout_ms"},
		{"max_rows negative", "PATCH", ref + "/postgrest", `{"max_rows":-1}`, false, 400, "invalid_max_rows", ""},
		{"max_rows too large", "PATCH", ref + "/postgrest", `{"max_rows":1000001}`, false, 400, "invalid_max_rows", ""},
		{"max_rows fraction", "PATCH", ref + "/postgrest", `{"max_rows":1.5}`, false, 400, "invalid_field", `"max_rows"`},
		{"max_rows string", "PATCH", ref + "/postgrest", `{"max_rows":"10"}`, false, 400, "invalid_field", `"max_rows"`},
		{"schema injection", "PATCH", ref + "/postgrest", `{"db_schema":"public; drop table x"}`, false, 400, "invalid_db_schema", ""},
		{"system schema", "PATCH", ref + "/postgrest", `{"db_schema":"public,pg_catalog"}`, false, 400, "invalid_db_schema", "pg_catalog"},
		{"empty schema", "PATCH", ref + "/postgrest", `{"db_schema":""}`, false, 400, "invalid_db_schema", ""},
		{"duplicate schema", "PATCH", ref + "/postgrest", `{"db_schema":"api, api"}`, false, 400, "invalid_db_schema", "twice"},
		{"search path", "PATCH", ref + "/postgrest", `{"db_extra_search_path":"public,\"x\""}`, false, 400, "invalid_db_extra_search_path", ""},
		{"db_pool", "PATCH", ref + "/postgrest", `{"db_pool":5000}`, false, 400, "invalid_db_pool", ""},
		{"jwt_secret is not settable", "PATCH", ref + "/postgrest", `{"jwt_secret":"x"}`, false, 400, "unknown_field", `"jwt_secret"`},
		{"unknown /v1 path", "GET", "/v1/organizations", ``, false, 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					body = onlyReader{body}
				}
			}
			status, e := v1Do(t, srv, tc.method, tc.path, body)
			require.Equal(t, tc.status, status, e)
			require.Equal(t, tc.code, e.Code, e)
			require.Contains(t, e.Error, tc.contains)
			require.NotContains(t, e.Error, "987654321")
		})
	}
}

func TestV1NeedsAdminToken(t *testing.T) {
	srv := v1Server(t)
	for _, path := range []string{"/v1/projects", "/v1/projects/abcdefghijklmnopqrst/api-keys", "/v1/nothing"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
}

func TestNewRef(t *testing.T) {
	seen := map[string]bool{}
	letters := map[rune]bool{}
	for i := 0; i < 2000; i++ {
		ref, err := provision.NewRef()
		require.NoError(t, err)
		require.Regexp(t, `^[a-z]{20}$`, ref)
		require.NoError(t, ValidateID(ref))
		require.False(t, seen[ref])
		seen[ref] = true
		for _, c := range ref {
			letters[c] = true
		}
	}
	require.Len(t, letters, 26, "every letter occurs")
}
