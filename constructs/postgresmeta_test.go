package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestPostgresMeta(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	login := awssecretsmanager.NewSecret(stack, jsii.String("Login"), nil)
	NewPostgresMeta(stack, "PostgresMeta", &PostgresMetaProps{
		ServicesDir: servicesDir, Sizing: testSizing, Cluster: d.cluster, LogGroup: d.logs,
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000004"),
		Database:      importedInstance(stack, "worker", "worker.example.internal"), Login: login,
	})
	x := synth(t, stack)
	meta := x.container(t, "postgres-meta")

	t.Run("the worker over TLS", func(t *testing.T) {
		require.Equal(t, map[string]any{
			"PG_META_PORT": "8080", "PG_META_DB_HOST": "worker.example.internal", "PG_META_DB_PORT": "5432",
			"PG_META_DB_NAME": "postgres", "PG_META_DB_SSL_MODE": "require",
		}, envOf(meta))
	})
	t.Run("its own login, user and password from the login secret", func(t *testing.T) {
		user, password := capture(), capture()
		x.has(t, "AWS::ECS::TaskDefinition", map[string]any{"ContainerDefinitions": []any{like(map[string]any{
			"Secrets": []any{
				map[string]any{"Name": "PG_META_DB_PASSWORD", "ValueFrom": password},
				map[string]any{"Name": "PG_META_DB_USER", "ValueFrom": user},
			},
		})}})
		id := logicalID(stack, login)
		require.Equal(t, "{Ref:"+id+"}:username::", joined(toMap(t, user.AsObject())))
		require.Equal(t, "{Ref:"+id+"}:password::", joined(toMap(t, password.AsObject())))
	})
	t.Run("in kong.local for Studio, behind no load balancer", func(t *testing.T) {
		x.has(t, "AWS::ServiceDiscovery::Service", map[string]any{"Name": "postgres-meta"})
		x.has(t, "AWS::ECS::Service", map[string]any{"LoadBalancers": absent()})
	})
}
