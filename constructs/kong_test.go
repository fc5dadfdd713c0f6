package platform

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestKong(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	role := taskRole(stack)
	NewKong(stack, "Kong", &KongProps{
		ServicesDir: servicesDir, Sizing: testSizing, Cluster: d.cluster, LogGroup: d.logs,
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000003"), Targets: d.targets(stack, PortKongProxy), TaskRole: role,
		Database: importedInstance(stack, "primary", "primary.example.internal"), Login: importedSecret(stack, "Login", "kong-login"),
		Redis:          RedisEndpoint{Host: jsii.String("redis.example.internal"), Port: jsii.String("6379"), AuthToken: importedSecret(stack, "Auth", "redis-auth")},
		PlatformDomain: "example.com", JwtTTLSeconds: 120, CacheTTLSeconds: 45, RateLimit: config.RateLimit{RPS: 7, Burst: 11}, FunctionsTimeoutSeconds: 90,
	})
	x := synth(t, stack)
	kong := x.container(t, "kong")

	t.Run("database, cache and peers from the environment", func(t *testing.T) {
		env := envOf(kong)
		for k, v := range map[string]string{
			"KONG_PG_HOST": "primary.example.internal", "KONG_PG_PORT": "5432", "KONG_PG_DATABASE": "kong",
			"TENANT_MANAGER_URL": "http://tenant-manager.kong.local:8081",
			"KONG_REDIS_HOST":    "redis.example.internal", "KONG_REDIS_PORT": "6379", "PLATFORM_DOMAIN": "example.com",
			"JWT_TTL_SECONDS": "120", "CACHE_TTL_SECONDS": "45", "KONG_DB_CACHE_TTL": "300", "RATE_LIMIT_RPS": "7", "RATE_LIMIT_BURST": "11", "FUNCTIONS_TIMEOUT_SECONDS": "90",
		} {
			require.Equal(t, v, env[k], k)
		}
		require.Equal(t, "https://sts.{Ref:AWS::Region}.{Ref:AWS::URLSuffix}", joined(env["STS_ENDPOINT"]))
		require.NotContains(t, env, "FUNCTIONS_URL", "edge functions run in each project's Lambda, not a shared service")
	})
	t.Run("credentials only from Secrets Manager", func(t *testing.T) {
		require.Equal(t, map[string]any{
			"KONG_PG_USER":        secretArn("kong-login") + ":username::",
			"KONG_PG_PASSWORD":    secretArn("kong-login") + ":password::",
			"KONG_REDIS_PASSWORD": secretArn("redis-auth"),
		}, secretsOf(kong))
		for name := range envOf(kong) {
			require.NotRegexp(t, `PASSWORD|USER$|TOKEN`, name, "secret-like variable in the environment")
		}
	})
	t.Run("proxy behind the load balancer, admin API in kong.local", func(t *testing.T) {
		require.JSONEq(t, `[{"ContainerPort":8000,"Protocol":"tcp"},{"ContainerPort":8001,"Protocol":"tcp"}]`, toJSON(kong["PortMappings"]))
		x.has(t, "AWS::ECS::Service", map[string]any{"LoadBalancers": []any{like(map[string]any{"ContainerName": "kong", "ContainerPort": PortKongProxy})}})
		x.has(t, "AWS::ServiceDiscovery::Service", map[string]any{"Name": "kong-gateway"})
		require.Equal(t, []any{"CMD", "kong", "health"}, kong["HealthCheck"].(map[string]any)["Command"])
	})
	t.Run("the task role may invoke tenant Function URLs and nothing else", func(t *testing.T) {
		statements := capture()
		x.has(t, "AWS::IAM::Policy", map[string]any{
			"PolicyDocument": like(map[string]any{"Statement": statements}),
			"Roles":          []any{ref(logicalID(stack, role))},
		})
		st := toMap(t, map[string]any{"s": statements.AsArray()})["s"].([]any)
		require.Len(t, st, 1)
		s := st[0].(map[string]any)
		require.Equal(t, "InvokeTenantFunctionUrls", s["Sid"])
		require.Equal(t, "Allow", s["Effect"])
		require.Equal(t, []any{"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}, s["Action"])
		res := s["Resource"].([]any)
		require.Len(t, res, 2)
		require.Equal(t, tenantFunctionsArnText, joined(res[0]))
		require.Equal(t, "arn:{Ref:AWS::Partition}:lambda:{Ref:AWS::Region}:{Ref:AWS::AccountId}:function:functions-*", joined(res[1]),
			"and each project's functions Lambda, nothing else")
	})
}
