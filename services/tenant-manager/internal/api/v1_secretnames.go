package api

import (
	"fmt"
	"strings"
)

// processEnvPrefixes and processEnvNames are environment variables that
// steer a process rather than inform it: the dynamic loader (LD_PRELOAD,
// LD_AUDIT), libc (GLIBC_TUNABLES, MALLOC_*), Deno, Node and V8 flags,
// TLS trust, proxies, the search path, the locale, Lambda's own and AWS
// credentials. A function secret with such a name could run native code
// from its bundle or redirect the runtime before Deno's permission checks
// apply, so such names are refused (in any case).
var processEnvPrefixes = []string{"LD_", "DYLD_", "GLIBC_", "MALLOC_", "DENO_", "NODE_", "V8_", "RUST_", "SSL_", "OPENSSL_",
	"LC_", "AWS_", "LAMBDA_"}

var processEnvNames = map[string]bool{"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"PATH": true, "HOME": true, "TMPDIR": true, "TZDIR": true, "LANG": true, "_HANDLER": true}

// checkProcessEnvName refuses a secret name that steers the process (see
// processEnvPrefixes); name has passed secretNameRe.
func checkProcessEnvName(name string) error {
	u := strings.ToUpper(name)
	rule := ""
	if processEnvNames[u] {
		rule = u
	}
	for _, p := range processEnvPrefixes {
		if rule == "" && strings.HasPrefix(u, p) {
			rule = p + "*"
		}
	}
	if rule == "" {
		return nil
	}
	return badRequest("reserved_name", fmt.Sprintf("secret %s cannot be set: names matching %s steer the functions runtime process "+
		"(loader, libc, Deno, TLS, proxies, locale, AWS and Lambda variables are reserved)", truncate(name, 64), rule))
}
