package api

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProcessEnvSecretNamesRefused(t *testing.T) {
	for _, n := range []string{"LD_PRELOAD", "ld_audit", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "GLIBC_TUNABLES", "MALLOC_CONF",
		"DENO_CERT", "deno_dir", "NODE_OPTIONS", "V8_FLAGS", "RUST_LOG", "SSL_CERT_FILE", "OPENSSL_CONF", "HTTP_PROXY", "https_proxy",
		"NO_PROXY", "ALL_PROXY", "PATH", "HOME", "TMPDIR", "TZDIR", "LANG", "LC_ALL", "AWS_SECRET_ACCESS_KEY", "_HANDLER", "LAMBDA_TASK_ROOT"} {
		err := checkProcessEnvName(n)
		var ae *apiError
		require.True(t, errors.As(err, &ae), n)
		require.Equal(t, 400, ae.Status, n)
		require.Equal(t, "reserved_name", ae.Code, n)
	}
	for _, n := range []string{"MY_SECRET", "STRIPE_KEY", "PATHS", "LDAP_URL", "HOMEPAGE", "_X", "NODEJS"} {
		require.NoError(t, checkProcessEnvName(n), n)
	}
}
