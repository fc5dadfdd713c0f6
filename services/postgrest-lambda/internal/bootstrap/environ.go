package bootstrap

import (
	"strconv"
	"strings"
)

// pgrstOwned are the variables the bootstrap sets; inherited values of them
// are dropped so the configuration service is the only source.
var pgrstOwned = []string{
	"PGRST_DB_URI", "PGRST_DB_SCHEMAS", "PGRST_DB_ANON_ROLE", "PGRST_JWT_SECRET", "PGRST_JWT_SECRET_IS_BASE64",
	"PGRST_DB_USE_LEGACY_GUCS", "PGRST_SERVER_PORT", "PGRST_ADMIN_SERVER_PORT", "PGRST_DB_POOL",
	"PGRST_SERVER_HOST", "PGRST_DB_MAX_ROWS", "PGRST_DB_EXTRA_SEARCH_PATH",
}

// Environ returns PostgREST's environment: the inherited one minus the
// variables above, plus the tenant's configuration.
func Environ(inherited []string, s Settings, c Config) []string {
	out := make([]string, 0, len(inherited)+len(pgrstOwned))
	for _, kv := range inherited {
		name, _, _ := strings.Cut(kv, "=")
		if contains(pgrstOwned, name) {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"PGRST_DB_URI="+c.DBURI,
		"PGRST_DB_SCHEMAS="+c.DBSchemas,
		"PGRST_DB_ANON_ROLE="+c.DBAnonRole,
		// Unchanged: PostgREST takes a JWKS here (v12 tries each key of the
		// set, later versions pick the one with the token's kid); an
		// inherited IS_BASE64=true would garble it.
		"PGRST_JWT_SECRET="+c.JWTSecret,
		"PGRST_JWT_SECRET_IS_BASE64=false",
		"PGRST_DB_USE_LEGACY_GUCS="+strconv.FormatBool(*c.DBUseLegacyGucs),
		"PGRST_SERVER_HOST=127.0.0.1",
		"PGRST_SERVER_PORT="+strconv.Itoa(s.ServerPort),
		"PGRST_ADMIN_SERVER_PORT="+strconv.Itoa(s.AdminPort),
		"PGRST_DB_POOL="+strconv.Itoa(s.DBPool),
	)
	// Only when the configuration sets them: absent means PostgREST's own
	// default, never an inherited value.
	if c.DBMaxRows != nil {
		out = append(out, "PGRST_DB_MAX_ROWS="+strconv.FormatInt(*c.DBMaxRows, 10))
	}
	if c.DBExtraSearchPath != "" {
		out = append(out, "PGRST_DB_EXTRA_SEARCH_PATH="+c.DBExtraSearchPath)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
