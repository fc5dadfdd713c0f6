package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func valid() map[string]string {
	return map[string]string{
		"PLATFORM_DATABASE_URL":            "postgres://tm:pw@primary:5432/supabase_platform?sslmode=require",
		"WORKERS":                          `[{"id":"supabase-worker-01","host":"w1","user":"admin","secretArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:w1","maxTenants":50}]`,
		"KONG_ADMIN_URL":                   "http://kong-gateway.kong.local:8001",
		"REDIS_URL":                        "rediss://:token@redis:6379/0",
		"ADMIN_TOKEN":                      "0123456789abcdef0123456789abcdef",
		"ENCRYPTION_KEY":                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"POSTGREST_IMAGE_URI":              "123456789012.dkr.ecr.us-east-1.amazonaws.com/pg:1",
		"TENANT_LAMBDA_ROLE_ARN":           "arn:aws:iam::123456789012:role/tenant",
		"TENANT_LAMBDA_SUBNET_IDS":         "subnet-1, subnet-2",
		"TENANT_LAMBDA_SECURITY_GROUP_IDS": "sg-1",
		"TENANT_LAMBDA_MEMORY_MIB":         "512",
		"TENANT_LAMBDA_TIMEOUT_SECONDS":    "30",
		"CONFIG_SERVICE_URL":               "http://tenant-manager.kong.local:8080",
		"GATEWAY_ROLE_ARN":                 "arn:aws:iam::123456789012:role/kong",
		"STS_ENDPOINT":                     "https://sts.us-east-1.amazonaws.com",
		"AWS_REGION":                       "us-east-1",
	}
}

func TestLoad(t *testing.T) {
	env := valid()
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, ":8080", c.ListenAddr)
	require.Equal(t, []string{"subnet-1", "subnet-2"}, c.SubnetIDs)
	require.Equal(t, 5432, c.Workers[0].Port)
	require.Equal(t, "require", c.Workers[0].SSLMode)

	env["PLATFORM_DATABASE_URL"] = "postgres://tenant_manager@primary:5432/supabase_platform?sslmode=require"
	env["PLATFORM_DATABASE_PASSWORD"] = "p@ss/word"
	env["PLATFORM_DATABASE_USER"] = "tenant_manager_clone"
	env["REDIS_URL"] = "rediss://redis:6379/0"
	env["REDIS_PASSWORD"] = "auth token"
	c, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "postgres://tenant_manager_clone:p%40ss%2Fword@primary:5432/supabase_platform?sslmode=require", c.PlatformDatabaseURL)
	require.Equal(t, "rediss://:auth%20token@redis:6379/0", c.RedisURL)
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	for name, tc := range map[string]struct{ key, value, want string }{
		"missing":       {"KONG_ADMIN_URL", "", "KONG_ADMIN_URL: must be set"},
		"not a URL":     {"REDIS_URL", "localhost:6379", "REDIS_URL: must be a redis or rediss URL"},
		"workers json":  {"WORKERS", "[", "WORKERS: must be a JSON list"},
		"worker secret": {"WORKERS", `[{"id":"w1","host":"h","maxTenants":1}]`, "WORKERS[0]: needs password or secretArn"},
		"worker id":     {"WORKERS", `[{"id":"W 1","host":"h","password":"p","maxTenants":1}]`, `WORKERS[0].id: "W 1" must be a unique DNS label`},
		"memory":        {"TENANT_LAMBDA_MEMORY_MIB", "64", "TENANT_LAMBDA_MEMORY_MIB: must be a whole number 128..10240"},
		"role":          {"GATEWAY_ROLE_ARN", "kong", "GATEWAY_ROLE_ARN: must be an IAM role ARN"},
		"short token":   {"ADMIN_TOKEN", "short", "ADMIN_TOKEN: must be at least 32 characters"},
		"subnets":       {"TENANT_LAMBDA_SUBNET_IDS", " , ", "TENANT_LAMBDA_SUBNET_IDS: must be a comma-separated list"},
	} {
		t.Run(name, func(t *testing.T) {
			env := valid()
			env[tc.key] = tc.value
			_, err := Load(func(k string) string { return env[k] })
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestListenersAndTimeouts(t *testing.T) {
	env := valid()
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, ":8081", c.InternalListenAddr)
	require.Equal(t, Timeouts{
		ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 10 * time.Minute, Idle: 2 * time.Minute,
		Provision: 7 * time.Minute, LambdaActive: 5 * time.Minute,
		Kong: 10 * time.Second, STS: 10 * time.Second, AWS: 30 * time.Second,
		RedisDial: 5 * time.Second, RedisIO: 3 * time.Second,
	}, c.Timeouts)

	env["INTERNAL_LISTEN_ADDR"] = "127.0.0.1:9001"
	env["KONG_ADMIN_TIMEOUT"] = "1500ms"
	env["HTTP_WRITE_TIMEOUT"] = "20m"
	env["PROVISION_TIMEOUT"] = "15m"
	c, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9001", c.InternalListenAddr)
	require.Equal(t, 1500*time.Millisecond, c.Timeouts.Kong)
	require.Equal(t, 15*time.Minute, c.Timeouts.Provision)

	for name, tc := range map[string]struct {
		vars map[string]string
		want string
	}{
		"same listener":      {map[string]string{"LISTEN_ADDR": ":9000", "INTERNAL_LISTEN_ADDR": ":9000"}, "INTERNAL_LISTEN_ADDR: must differ from LISTEN_ADDR"},
		"default collision":  {map[string]string{"INTERNAL_LISTEN_ADDR": ":8080"}, "INTERNAL_LISTEN_ADDR: must differ"},
		"not a duration":     {map[string]string{"STS_TIMEOUT": "10"}, `STS_TIMEOUT: must be a duration`},
		"zero":               {map[string]string{"REDIS_IO_TIMEOUT": "0s"}, `REDIS_IO_TIMEOUT: must be a duration`},
		"too long":           {map[string]string{"KONG_ADMIN_TIMEOUT": "1h"}, `KONG_ADMIN_TIMEOUT: must be a duration`},
		"provision < active": {map[string]string{"PROVISION_TIMEOUT": "4m"}, "PROVISION_TIMEOUT: must be longer than LAMBDA_ACTIVE_TIMEOUT"},
		"write < provision":  {map[string]string{"HTTP_WRITE_TIMEOUT": "8m"}, "HTTP_WRITE_TIMEOUT: must be at least PROVISION_TIMEOUT"},
	} {
		t.Run(name, func(t *testing.T) {
			env := valid()
			for k, v := range tc.vars {
				env[k] = v
			}
			_, err := Load(func(k string) string { return env[k] })
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
