package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The configuration endpoints live on the internal listener only, and no
// listener accepts a percent-encoded path (the mux would decode it after
// path rules in front of the service had matched the raw form).
func TestListenersAndEscapedPaths(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("split-aa")
	gw := func() string { return identity(t, env.gatewayRoleARN, "kong", time.Now()) }
	fn := func() string { return identity(t, env.tenantRoleARN, "postgrest-split-aa", time.Now()) }

	for _, tc := range []struct {
		name                string
		internal            bool
		method, path, token string
		identity            func() string
		want                int
		code                string
	}{
		{"config on the public listener", false, "GET", "/project/split-aa/config", "", gw, 404, "not_found"},
		{"postgrest-config on the public listener", false, "GET", "/project/split-aa/postgrest-config", "", fn, 404, "not_found"},
		{"config on the public listener, other method", false, "POST", "/project/split-aa/config", adminToken, gw, 404, "not_found"},
		{"encoded config path, public", false, "GET", "/project/split-aa/confi%67", "", gw, 400, "invalid_path"},
		{"encoded postgrest-config path, public", false, "GET", "/project/split-aa/postgrest-confi%67", "", fn, 400, "invalid_path"},
		{"encoded project id, admin API", false, "GET", "/project/split%2Daa", adminToken, nil, 400, "invalid_path"},
		{"encoded slash, admin API", false, "DELETE", "/project/split-aa%2Fapi-keys", adminToken, nil, 400, "invalid_path"},
		{"encoded config path, internal", true, "GET", "/project/split-aa/confi%67", "", gw, 400, "invalid_path"},
		{"encoded project id, internal", true, "GET", "/project/split%2Daa/postgrest-config", "", fn, 400, "invalid_path"},
		{"admin API on the internal listener", true, "GET", "/projects", adminToken, nil, 404, "not_found"},
		{"create on the internal listener", true, "POST", "/project/create-pgrest-lambda", adminToken, nil, 404, "not_found"},
		{"config on the internal listener", true, "GET", "/project/split-aa/config", "", gw, 200, ""},
		{"postgrest-config on the internal listener", true, "GET", "/project/split-aa/postgrest-config", "", fn, 200, ""},
		{"health, public", false, "GET", "/health", "", nil, 200, ""},
		{"health, internal", true, "GET", "/health", "", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := m.srv
			if tc.internal {
				srv = m.isrv
			}
			var headers []string
			if tc.identity != nil {
				headers = []string{"X-Caller-Identity", tc.identity()}
			}
			status, body := m.doOn(srv, tc.method, tc.path, tc.token, "", headers...)
			require.Equal(t, tc.want, status, body)
			if tc.code != "" {
				require.Equal(t, tc.code, body["code"], body)
				require.NotEmpty(t, body["error"])
				require.NotContains(t, body, "jwt_secret")
			}
		})
	}
	s, _ := m.do("GET", "/project/split-aa", adminToken, "")
	require.Equal(t, http.StatusOK, s, "nothing was deleted by the encoded DELETE")
}
