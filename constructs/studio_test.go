package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestStudio(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	key := awskms.Key_FromKeyArn(stack, jsii.String("Key"), jsii.String("arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
	auth := NewStudioAuth(stack, "Auth", &StudioAuthProps{Key: key})
	NewStudio(stack, "Studio", &StudioProps{
		ServicesDir: servicesDir, Sizing: testSizing, Cluster: d.cluster, LogGroup: d.logs,
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000007"), Targets: d.targets(stack, PortStudio), Auth: auth, ProjectName: "Acme",
	})
	x := synth(t, stack)
	studio := x.container(t, "studio")

	t.Run("settings and the authentication mode in the environment", func(t *testing.T) {
		require.Equal(t, map[string]any{
			"PORT": "8000", "STUDIO_PG_META_URL": "http://postgres-meta.kong.local:8080",
			"DEFAULT_ORGANIZATION_NAME": "Supabase on AWS", "DEFAULT_PROJECT_NAME": "Acme",
			"STUDIO_AUTH": "basic", "STUDIO_USERNAME": "supabase",
		}, envOf(studio))
	})
	t.Run("the password from the auth secret", func(t *testing.T) {
		password := capture()
		x.has(t, "AWS::ECS::TaskDefinition", map[string]any{"ContainerDefinitions": []any{like(map[string]any{
			"Secrets": []any{map[string]any{"Name": "STUDIO_PASSWORD", "ValueFrom": password}},
		})}})
		require.Equal(t, logicalID(stack, auth.Password), refOf(t, password))
	})
	t.Run("healthy through the proxy's unauthenticated health path", func(t *testing.T) {
		require.Contains(t, toJSON(studio["HealthCheck"]), "http://127.0.0.1:8000"+StudioHealthPath)
		x.has(t, "AWS::ECS::Service", map[string]any{
			"LoadBalancers":     []any{like(map[string]any{"ContainerName": "studio", "ContainerPort": PortStudio})},
			"ServiceRegistries": absent(),
		})
	})
}
