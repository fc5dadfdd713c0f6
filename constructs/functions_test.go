package platform

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestFunctions(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	NewFunctions(stack, "Functions", &FunctionsProps{
		ServicesDir: servicesDir, Sizing: testSizing, Cluster: d.cluster, LogGroup: d.logs,
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000002"), SupabaseURL: jsii.String("https://api.example.com"),
	})
	x := synth(t, stack)
	fn := x.container(t, "functions")
	require.Equal(t, map[string]any{"SUPABASE_URL": "https://api.example.com"}, envOf(fn))
	require.Nil(t, fn["Secrets"], "the functions hold no secret")
	require.JSONEq(t, `[{"ContainerPort":8080,"Protocol":"tcp"}]`, toJSON(fn["PortMappings"]))
	require.Contains(t, toJSON(fn["HealthCheck"]), "http://127.0.0.1:8080/health")
	x.has(t, "AWS::ServiceDiscovery::Service", map[string]any{"Name": "functions-service"})
	// Reached through Kong only: no load balancer registers it.
	x.has(t, "AWS::ECS::Service", map[string]any{"LoadBalancers": absent(), "NetworkConfiguration": like(map[string]any{
		"AwsvpcConfiguration": like(map[string]any{"SecurityGroups": []any{"sg-00000000000000002"}}),
	})})
}
