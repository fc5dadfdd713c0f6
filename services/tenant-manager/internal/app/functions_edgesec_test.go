package app

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecretNamesSteeringTheRuntimeRefused: a secret named LD_PRELOAD (and
// the like) would run native code from a bundle in the functions Lambda;
// the API refuses it, naming the rule, and still lets one be deleted.
func TestSecretNamesSteeringTheRuntimeRefused(t *testing.T) {
	m := newTM(t, withFunctions(t, nil))
	code, _ := m.create("secld")
	require.Equal(t, http.StatusCreated, code)
	for _, n := range []string{"LD_PRELOAD", "ld_audit", "GLIBC_TUNABLES", "DENO_CERT", "NODE_OPTIONS", "https_proxy", "PATH", "AWS_ACCESS_KEY_ID", "LAMBDA_TASK_ROOT"} {
		code, body := m.call("POST", "/v1/projects/secld/secrets", `[{"name":"OK_ONE","value":"v"},{"name":"`+n+`","value":"/tmp/functions/f/v1/evil.so"}]`)
		require.Equal(t, http.StatusBadRequest, code, n)
		require.Contains(t, string(body), `"code":"reserved_name"`, n)
		require.Contains(t, string(body), n, "the message names the secret")
		require.NotContains(t, string(body), "evil.so", "never the value")
	}
	require.NotContains(t, m.runtimeConfig("secld").Env, "OK_ONE", "a refused request stores nothing")
	code, _ = m.call("DELETE", "/v1/projects/secld/secrets", `["LD_PRELOAD"]`)
	require.Equal(t, http.StatusOK, code, "a name stored before the rule can still be deleted")
}
