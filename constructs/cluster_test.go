package platform

import "testing"

func TestCluster(t *testing.T) {
	stack := newStack(t)
	NewCluster(stack, "Cluster", &ClusterProps{Vpc: importedVpc(stack)})
	x := synth(t, stack)
	x.has(t, "AWS::ECS::Cluster", map[string]any{
		"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enabled"}},
	})
	x.has(t, "AWS::ServiceDiscovery::PrivateDnsNamespace", map[string]any{"Name": "kong.local", "Vpc": testVpcID})
	x.count(t, "AWS::ServiceDiscovery::PrivateDnsNamespace", 1)
}
