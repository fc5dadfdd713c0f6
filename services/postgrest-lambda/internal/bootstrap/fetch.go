package bootstrap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"
)

// Config is what PostgREST needs for one tenant; the JSON shape of the
// tenant-manager's /project/{id}/postgrest-config and of the secret
// postgrest/{id}/config.
type Config struct {
	DBURI           string `json:"db_uri"`
	DBSchemas       string `json:"db_schemas"`
	DBAnonRole      string `json:"db_anon_role"`
	JWTSecret       string `json:"jwt_secret"`
	DBUseLegacyGucs *bool  `json:"db_use_legacy_gucs"`
	// Optional: absent (or null) leaves PostgREST's default (no row limit;
	// extra search path "public").
	DBMaxRows         *int64 `json:"db_max_rows"`
	DBExtraSearchPath string `json:"db_extra_search_path"`
}

// extraSearchPathRe: empty, or schema names separated by commas (and
// spaces); it goes into an environment variable, so nothing else may.
var extraSearchPathRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_$]*( *, *[A-Za-z_][A-Za-z0-9_$]*)*)?$`)

func (c Config) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"db_uri", c.DBURI}, {"db_schemas", c.DBSchemas}, {"db_anon_role", c.DBAnonRole}, {"jwt_secret", c.JWTSecret},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if c.DBUseLegacyGucs == nil {
		missing = append(missing, "db_use_legacy_gucs")
	}
	if len(missing) > 0 {
		return fmt.Errorf("configuration is missing %s", strings.Join(missing, ", "))
	}
	if c.DBMaxRows != nil && *c.DBMaxRows < 1 {
		return fmt.Errorf("db_max_rows must be a positive whole number or null, got %d", *c.DBMaxRows)
	}
	if !extraSearchPathRe.MatchString(c.DBExtraSearchPath) {
		return errors.New("db_extra_search_path must be a comma-separated list of schema names")
	}
	return checkJWTSecret(c.JWTSecret)
}

// checkJWTSecret accepts what PostgREST's jwt-secret is given here: a JWKS
// (the tenant-manager lists the current key and, around a rotation, the
// pending or previous one) with at least one HS256 "oct" key, or a plain
// secret of at least 32 characters. PostgREST gets it unchanged. Messages
// never quote the value.
func checkJWTSecret(v string) error {
	if !strings.HasPrefix(strings.TrimSpace(v), "{") {
		if len(v) < 32 {
			return fmt.Errorf("jwt_secret must be a JWKS or a secret of at least 32 characters, got %d characters", len(v))
		}
		return nil
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(v), &set); err != nil {
		return fmt.Errorf("jwt_secret is neither a JWKS nor a plain secret (invalid JSON, %d bytes)", len(v))
	}
	if set.Keys == nil {
		return errors.New(`jwt_secret is JSON but not a JWKS: it needs a "keys" list`)
	}
	oct := 0
	for i, k := range set.Keys {
		if kty, _ := k["kty"].(string); kty != "oct" {
			continue
		}
		raw, _ := k["k"].(string)
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || raw == "" {
			return fmt.Errorf(`jwt_secret: key %d: "k" must be the secret in base64url without padding`, i)
		}
		if len(b) < 32 {
			return fmt.Errorf("jwt_secret: key %d is %d bytes, at least 32 are needed", i, len(b))
		}
		if alg, ok := k["alg"].(string); ok && alg != "HS256" {
			return fmt.Errorf(`jwt_secret: key %d: "alg" must be HS256, got %q`, i, alg)
		}
		oct++
	}
	if oct == 0 {
		return errors.New(`jwt_secret: the JWKS has no "oct" (HS256) key`)
	}
	return nil
}

// decode parses a configuration without ever echoing it: it holds secrets.
func decode(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("configuration is not valid JSON (%d bytes)", len(data))
	}
	return c, c.validate()
}

// Fetcher gets a tenant's configuration once.
type Fetcher interface {
	Fetch(ctx context.Context) (Config, error)
}

// maxConfigBytes caps the service's answer, a handful of settings.
const maxConfigBytes = 1 << 20

// ServiceFetcher calls the tenant-manager with the Lambda's AWS identity.
type ServiceFetcher struct{ fetch.Project }

func (f *ServiceFetcher) Fetch(ctx context.Context) (Config, error) {
	body, err := f.Get(ctx, "postgrest-config", maxConfigBytes)
	if err != nil {
		return Config{}, fmt.Errorf("config service %w", err)
	}
	c, err := decode(body)
	if err != nil {
		return Config{}, fetch.Permanent(fmt.Errorf("config service: %w", err))
	}
	return c, nil
}

// SecretsFetcher reads the secret postgrest/{id}/config.
type SecretsFetcher struct {
	Client    *secretsmanager.Client
	ProjectID string
}

func (f *SecretsFetcher) Fetch(ctx context.Context) (Config, error) {
	name := "postgrest/" + f.ProjectID + "/config"
	out, err := f.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &name})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Config{}, fetch.Permanent(fmt.Errorf("secret %s does not exist", name))
		}
		return Config{}, fmt.Errorf("reading secret %s: %w", name, err)
	}
	if out.SecretString == nil {
		return Config{}, fetch.Permanent(fmt.Errorf("secret %s has no SecretString", name))
	}
	c, err := decode([]byte(*out.SecretString))
	if err != nil {
		return Config{}, fetch.Permanent(fmt.Errorf("secret %s: %w", name, err))
	}
	return c, nil
}

// FetchWithRetry retries transient failures with capped exponential backoff
// until budget is spent; permanent failures end it at once.
func FetchWithRetry(ctx context.Context, f Fetcher, budget time.Duration) (Config, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return fetch.Retry(ctx, f.Fetch)
}
