package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// tpaResolver stands in for DNS: the tests never reach the network.
type tpaResolver map[string]string

func (r tpaResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ip, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
}

var testResolver = tpaResolver{
	"login.example.com":                   "93.184.215.14",
	"keys.example.com":                    "93.184.215.15",
	"cognito-idp.us-east-1.amazonaws.com": "52.94.0.10",
	"metadata.example.com":                "169.254.169.254",
	"vpc.example.com":                     "10.0.1.20",
}

const cognitoIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Tp4Test01"

func rsaJWKS(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{"keys": []map[string]any{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}}})
	require.NoError(t, err)
	return string(b)
}

// gatewayDoc is the configuration document as the gateway reads it from
// the internal listener.
func (m *tm) gatewayDoc(id string) map[string]any {
	m.t.Helper()
	status, doc := m.do("GET", "/project/"+id+"/config", "", "", "X-Caller-Identity", identity(m.t, env.gatewayRoleARN, "kong-tpa", time.Now()))
	require.Equal(m.t, http.StatusOK, status, doc)
	return doc
}

// list reads a JSON list answer (m.do decodes objects only).
func (m *tm) list(path string) (int, []map[string]any) {
	m.t.Helper()
	req, err := http.NewRequest("GET", m.srv.URL+path, nil)
	require.NoError(m.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	var out []map[string]any
	require.NoError(m.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (m *tm) version(id string) int64 {
	m.t.Helper()
	var v int64
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(context.Background(), "SELECT jwt_version FROM projects WHERE id = $1", id).Scan(&v))
	return v
}

func TestThirdPartyAuthManagement(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.app.Server.TPAResolver = testResolver
	ctx := context.Background()
	rc := redisClient(t)
	m.mustCreate("tpa-admin")
	base := "/v1/projects/tpa-admin/config/auth/third-party-auth"

	t.Run("a project without entries has no third_party_auth in its document", func(t *testing.T) {
		require.NotContains(t, m.gatewayDoc("tpa-admin"), "third_party_auth")
		status, list := m.list(base)
		require.Equal(t, http.StatusOK, status)
		require.NotNil(t, list, "an empty list, not null")
		require.Empty(t, list)
	})

	t.Run("bad configurations are refused before anything is stored", func(t *testing.T) {
		v := m.version("tpa-admin")
		for _, tc := range []struct{ body, code string }{
			{`{"oidc_issuer_url": "http://login.example.com"}`, "invalid_url"},
			{`{"oidc_issuer_url": "https://169.254.169.254/latest"}`, "ip_address_url"},
			{`{"oidc_issuer_url": "https://metadata.example.com"}`, "private_address_url"},
			{`{"oidc_issuer_url": "https://login.example.com", "jwks_url": "https://vpc.example.com/jwks"}`, "private_address_url"},
			{`{"oidc_issuer_url": "https://unknown.example.com"}`, "unresolvable_host"},
			{`{"jwks_url": "https://keys.example.com/jwks"}`, "issuer_required"},
			{`{"oidc_issuer_url": "https://login.example.com", "custom_jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}`, "private_key_in_jwks"},
			{`{"oidc_issuer_url": "https://login.example.com", "token_use": "id"}`, "invalid_token_use"},
			{`{"oidc_issuer_url": "` + cognitoIssuer + `/"}`, "invalid_cognito_issuer"},
			{`{"oidc_issuer_url": "https://login.example.com", "resolved_jwks": {}}`, "unknown_field"},
			{`{"oidc_issuer_url": 5}`, "invalid_field"},
		} {
			status, body := m.do("POST", base, adminToken, tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%s: %v", tc.body, body)
			require.Equal(t, tc.code, body["code"], "%s: %v", tc.body, body)
		}
		status, list := m.list(base)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, list)
		require.Equal(t, v, m.version("tpa-admin"), "nothing changed")
	})

	var cognitoID string
	t.Run("create: stored, version up, document written through", func(t *testing.T) {
		v := m.version("tpa-admin")
		status, body := m.do("POST", base, adminToken, `{"oidc_issuer_url": "`+cognitoIssuer+`", "client_id": "app-client-1", "token_use": "id"}`)
		require.Equal(t, http.StatusCreated, status, body)
		cognitoID, _ = body["id"].(string)
		require.Regexp(t, `^[0-9a-f-]{36}$`, cognitoID)
		require.Equal(t, "oidc", body["type"])
		require.Equal(t, cognitoIssuer, body["oidc_issuer_url"])
		require.Nil(t, body["jwks_url"])
		require.Nil(t, body["custom_jwks"])
		require.Equal(t, "app-client-1", body["client_id"])
		require.Equal(t, "id", body["token_use"])
		require.NotContains(t, body, "warning")
		require.Equal(t, v+1, m.version("tpa-admin"))

		doc := m.gatewayDoc("tpa-admin")
		require.EqualValues(t, v+1, doc["version"])
		require.Equal(t, []any{map[string]any{"id": cognitoID, "issuer": cognitoIssuer, "jwks_url": nil, "custom_jwks": nil,
			"audience": nil, "client_id": "app-client-1", "token_use": "id"}}, doc["third_party_auth"])

		cached, err := rc.Get(ctx, "project:cfg:tpa-admin").Result()
		require.NoError(t, err, "written through to Redis")
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(cached), &c))
		require.EqualValues(t, v+1, c["version"])
		require.Equal(t, doc["third_party_auth"], c["third_party_auth"])
	})

	t.Run("jwks_url and custom_jwks entries reach the document", func(t *testing.T) {
		status, body := m.do("POST", base, adminToken, `{"oidc_issuer_url": "https://login.example.com", "jwks_url": "https://keys.example.com/.well-known/jwks.json", "audience": "api://orders"}`)
		require.Equal(t, http.StatusCreated, status, body)
		require.Equal(t, "jwks", body["type"])
		set := rsaJWKS(t)
		status, body = m.do("POST", base, adminToken, `{"oidc_issuer_url": "https://login.example.com/tenant-b", "custom_jwks": `+set+`}`)
		require.Equal(t, http.StatusCreated, status, body)
		require.Equal(t, "custom", body["type"])
		require.NotNil(t, body["custom_jwks"])
		require.Equal(t, body["custom_jwks"], body["resolved_jwks"])

		entries := m.gatewayDoc("tpa-admin")["third_party_auth"].([]any)
		require.Len(t, entries, 3)
		jwks := entries[1].(map[string]any)
		require.Equal(t, "https://keys.example.com/.well-known/jwks.json", jwks["jwks_url"])
		require.Equal(t, "api://orders", jwks["audience"])
		custom := entries[2].(map[string]any)
		require.Equal(t, "https://login.example.com/tenant-b", custom["issuer"])
		var want, got any
		require.NoError(t, json.Unmarshal([]byte(set), &want))
		got = custom["custom_jwks"]
		require.Equal(t, want, got)
	})

	t.Run("one entry per issuer", func(t *testing.T) {
		status, body := m.do("POST", base, adminToken, `{"oidc_issuer_url": "https://login.example.com"}`)
		require.Equal(t, http.StatusConflict, status, body)
		require.Equal(t, "third_party_auth_exists", body["code"])
	})

	t.Run("at most 10 entries", func(t *testing.T) {
		for i := 3; i < 10; i++ {
			status, body := m.do("POST", base, adminToken, fmt.Sprintf(`{"oidc_issuer_url": "https://login.example.com/t%d"}`, i))
			require.Equal(t, http.StatusCreated, status, body)
		}
		status, body := m.do("POST", base, adminToken, `{"oidc_issuer_url": "https://login.example.com/t10"}`)
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Equal(t, "too_many_third_party_auth", body["code"])
	})

	t.Run("get, delete", func(t *testing.T) {
		status, body := m.do("GET", base+"/"+cognitoID, adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, cognitoIssuer, body["oidc_issuer_url"])
		status, body = m.do("GET", base+"/"+strings.ToUpper(cognitoID), adminToken, "")
		require.Equal(t, http.StatusOK, status, body)

		v := m.version("tpa-admin")
		status, body = m.do("DELETE", base+"/"+cognitoID, adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, cognitoID, body["id"])
		require.Equal(t, v+1, m.version("tpa-admin"))
		for _, e := range m.gatewayDoc("tpa-admin")["third_party_auth"].([]any) {
			require.NotEqual(t, cognitoIssuer, e.(map[string]any)["issuer"])
		}
		cached, err := rc.Get(ctx, "project:cfg:tpa-admin").Result()
		require.NoError(t, err)
		require.NotContains(t, cached, cognitoIssuer, "the cached document lost the entry too")

		for _, c := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"DELETE", base + "/" + cognitoID, 404, "not_found"},
			{"GET", base + "/" + cognitoID, 404, "not_found"},
			{"GET", base + "/not-a-uuid", 400, "invalid_tpa_id"},
			{"DELETE", base + "/1", 400, "invalid_tpa_id"},
			{"GET", "/v1/projects/nosuchproject/config/auth/third-party-auth", 404, "not_found"},
			{"POST", "/v1/projects/nosuchproject/config/auth/third-party-auth", 404, "not_found"},
			{"GET", "/v1/projects/Bad_Ref/config/auth/third-party-auth", 400, "invalid_project_ref"},
		} {
			body := ""
			if c.method == "POST" {
				body = `{"oidc_issuer_url": "https://login.example.com/x"}`
			}
			status, out := m.do(c.method, c.path, adminToken, body)
			require.Equal(t, c.status, status, "%s %s: %v", c.method, c.path, out)
			require.Equal(t, c.code, out["code"], "%s %s", c.method, c.path)
		}
		status, _ = m.do("GET", base, "", "")
		require.Equal(t, http.StatusUnauthorized, status)
	})

	t.Run("a paused project may be changed; its document carries the entries", func(t *testing.T) {
		status, body := m.do("POST", "/v1/projects/tpa-admin/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		status, body = m.do("POST", base, adminToken, `{"oidc_issuer_url": "`+cognitoIssuer+`"}`)
		require.Equal(t, http.StatusCreated, status, body)
		doc := m.gatewayDoc("tpa-admin")
		require.Equal(t, true, doc["paused"])
		require.Len(t, doc["third_party_auth"], 10)
	})

	t.Run("Redis down: stored, answered with a warning", func(t *testing.T) {
		defer m.redisDown()()
		status, body := m.do("DELETE", base+"/"+m.gatewayDoc("tpa-admin")["third_party_auth"].([]any)[0].(map[string]any)["id"].(string), adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body["warning"], "Redis could not be updated")
		require.Len(t, m.gatewayDoc("tpa-admin")["third_party_auth"], 9)
	})
}

// TestThirdPartyAuthRLS is what PostgREST does with the JWT the gateway
// mints for a verified third-party token: log in as the authenticator,
// SET LOCAL ROLE authenticated and set request.jwt.claims to the minted
// claims. Those are the gateway's (services/kong, thirdparty.internal_claims):
// the token's claims under their own names, role and aud "authenticated",
// ref the project, iat/exp of the minted JWT. A policy using
// (owner = auth.uid()) then gives each user their own rows only.
func TestThirdPartyAuthRLS(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.app.Server.TPAResolver = testResolver
	ctx := context.Background()
	const id = "tpa-rls"
	m.mustCreate(id)
	status, body := m.do("POST", "/v1/projects/"+id+"/config/auth/third-party-auth", adminToken, `{"oidc_issuer_url": "`+cognitoIssuer+`", "token_use": "id"}`)
	require.Equal(t, http.StatusCreated, status, body)
	issuer := m.gatewayDoc(id)["third_party_auth"].([]any)[0].(map[string]any)["issuer"].(string)

	owner := m.superuser(id, worker.DatabaseName(id))
	_, err := owner.Exec(ctx, `SET ROLE "`+id+`_owner";
		CREATE TABLE public.todos (id serial PRIMARY KEY, owner uuid NOT NULL DEFAULT auth.uid(), title text NOT NULL);
		ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
		CREATE POLICY own_todos ON public.todos FOR ALL TO authenticated USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
		CREATE POLICY admins_read ON public.todos FOR SELECT TO authenticated USING (coalesce(auth.jwt() -> 'cognito:groups' ? 'auditors', false));
		INSERT INTO public.todos (owner, title) VALUES
			('11111111-1111-4111-8111-111111111111', 'u1 first'), ('11111111-1111-4111-8111-111111111111', 'u1 second'),
			('22222222-2222-4222-8222-222222222222', 'u2 only');
		RESET ROLE`)
	require.NoError(t, err)
	require.NoError(t, owner.Close(ctx))

	authn, err := pgx.Connect(ctx, m.dbURI(id))
	require.NoError(t, err)
	defer authn.Close(ctx)

	now := time.Now().Unix()
	claims := func(sub, email string, groups ...string) string {
		c := map[string]any{
			"sub": sub, "iss": issuer, "email": email, "email_verified": true, "cognito:username": strings.Split(email, "@")[0],
			"token_use": "id", "auth_time": now - 60, "jti": "j-" + sub[:8], "event_id": "e-1",
			"role": "authenticated", "aud": "authenticated", "ref": id, "iat": now, "exp": now + 300,
		}
		if len(groups) > 0 {
			c["cognito:groups"] = groups
		}
		b, err := json.Marshal(c)
		require.NoError(t, err)
		return string(b)
	}
	// as runs f in a transaction set up as PostgREST sets up a request.
	as := func(role, claims string, f func(tx pgx.Tx)) {
		tx, err := authn.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", role, claims)
		require.NoError(t, err)
		f(tx)
	}
	titles := func(tx pgx.Tx) []string {
		rows, err := tx.Query(ctx, "SELECT title FROM public.todos ORDER BY id")
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	u1, u2 := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"

	as("authenticated", claims(u1, "u1@example.com"), func(tx pgx.Tx) {
		require.Equal(t, []string{"u1 first", "u1 second"}, titles(tx))
		var uid, email, role, ref string
		require.NoError(t, tx.QueryRow(ctx, "SELECT auth.uid()::text, auth.jwt() ->> 'email', auth.role(), auth.jwt() ->> 'ref'").Scan(&uid, &email, &role, &ref))
		require.Equal(t, []string{u1, "u1@example.com", "authenticated", id}, []string{uid, email, role, ref})
		var cur string
		require.NoError(t, tx.QueryRow(ctx, "SELECT current_user").Scan(&cur))
		require.Equal(t, "authenticated", cur)
		// Inserts default to the caller and may not claim another owner.
		_, err := tx.Exec(ctx, "INSERT INTO public.todos (title) VALUES ('u1 third')")
		require.NoError(t, err)
		require.Equal(t, []string{"u1 first", "u1 second", "u1 third"}, titles(tx))
		_, err = tx.Exec(ctx, "SAVEPOINT s; INSERT INTO public.todos (owner, title) VALUES ('"+u2+"', 'forged')")
		require.ErrorContains(t, err, "row-level security")
	})
	as("authenticated", claims(u2, "u2@example.com"), func(tx pgx.Tx) {
		require.Equal(t, []string{"u2 only"}, titles(tx))
		tag, err := tx.Exec(ctx, "UPDATE public.todos SET title = 'taken' WHERE owner = '"+u1+"'")
		require.NoError(t, err)
		require.EqualValues(t, 0, tag.RowsAffected(), "U2 cannot touch U1's rows")
		tag, err = tx.Exec(ctx, "DELETE FROM public.todos")
		require.NoError(t, err)
		require.EqualValues(t, 1, tag.RowsAffected(), "only U2's own row")
	})
	as("authenticated", claims("33333333-3333-4333-8333-333333333333", "audit@example.com", "auditors"), func(tx pgx.Tx) {
		require.Len(t, titles(tx), 3, "cognito:groups reaches auth.jwt()")
	})
	as("anon", `{"role":"anon","ref":"`+id+`"}`, func(tx pgx.Tx) {
		require.Empty(t, titles(tx), "no policy for anon")
	})
}

// TestThirdPartyAuthWithSupabaseManagementJS drives the endpoints with the
// npm client (createProjectTpaIntegration, listProjectTpaIntegrations,
// getProjectTpaIntegration, deleteProjectTpaIntegration).
func TestThirdPartyAuthWithSupabaseManagementJS(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.app.Server.TPAResolver = testResolver
	m.mustCreate("tpa-client")
	out := runNodeClient(t, "tpa_client.mjs", []string{
		"TM_BASE_URL=" + m.srv.URL, "TM_ADMIN_TOKEN=" + adminToken, "TM_REF=tpa-client",
		"TM_ISSUER=https://login.example.com", "TM_COGNITO_ISSUER=" + cognitoIssuer,
		"TM_JWKS_URL=https://keys.example.com/jwks.json", "TM_CUSTOM_JWKS=" + rsaJWKS(t),
		"TM_PRIVATE_URL=https://metadata.example.com",
	})
	var res map[string]callResult
	require.NoError(t, json.Unmarshal(out, &res), string(out))

	type tpa struct {
		ID            string          `json:"id"`
		Type          string          `json:"type"`
		OIDCIssuerURL *string         `json:"oidc_issuer_url"`
		JWKSURL       *string         `json:"jwks_url"`
		CustomJWKS    json.RawMessage `json:"custom_jwks"`
		InsertedAt    time.Time       `json:"inserted_at"`
		UpdatedAt     time.Time       `json:"updated_at"`
	}
	for name, typ := range map[string]string{"createOidc": "oidc", "createJwksUrl": "jwks", "createCustom": "custom", "createCognito": "oidc"} {
		require.Equal(t, http.StatusCreated, res[name].Status, "%s: %+v", name, res[name])
		var e tpa
		res[name].into(t, &e)
		require.Equal(t, typ, e.Type, name)
		require.NotEmpty(t, e.ID)
		require.False(t, e.InsertedAt.IsZero())
	}
	for name, code := range map[string]string{"createPrivate": "private_address_url", "createHttp": "invalid_url", "createDuplicate": "third_party_auth_exists"} {
		require.Equal(t, "SupabaseManagementAPIError", res[name].Error, "%s: %+v", name, res[name])
		var e struct{ Code string }
		res[name].into(t, &e)
		require.Equal(t, code, e.Code, name)
	}
	require.Equal(t, http.StatusBadRequest, res["createPrivate"].Status)
	require.Equal(t, http.StatusConflict, res["createDuplicate"].Status)

	var list []tpa
	require.Equal(t, http.StatusOK, res["list"].Status)
	res["list"].into(t, &list)
	require.Len(t, list, 4)
	var oidc tpa
	res["createOidc"].into(t, &oidc)
	require.Equal(t, oidc.ID, list[0].ID, "oldest first")

	require.Equal(t, http.StatusOK, res["get"].Status, "%+v", res["get"])
	require.Equal(t, http.StatusOK, res["delete"].Status, "%+v", res["delete"])
	require.Equal(t, http.StatusNotFound, res["deleteAgain"].Status, "%+v", res["deleteAgain"])
	res["listAfterDelete"].into(t, &list)
	require.Len(t, list, 3)
	for _, e := range list {
		require.NotEqual(t, oidc.ID, e.ID)
	}
	require.Len(t, m.gatewayDoc("tpa-client")["third_party_auth"], 3)
}
