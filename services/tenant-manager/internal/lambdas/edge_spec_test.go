package lambdas

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The functions Lambda is made like the PostgREST function but under its own
// name, description and log group, and without CONFIG_SOURCE (its runtime
// knows only the service).
func TestEdgeSpec(t *testing.T) {
	s := testSettings()
	es := EdgeSettings{ImageURI: "fn:1", RoleARN: s.RoleARN, SubnetIDs: s.SubnetIDs, SecurityGroupIDs: s.SecurityGroupIDs,
		MemoryMiB: 256, TimeoutSeconds: 150, ReservedConcurrency: 7, ConfigServiceURL: s.ConfigServiceURL, STSEndpoint: s.STSEndpoint}
	require.Equal(t, Spec{
		Name: "functions-p1", Description: "Edge functions of project p1",
		ImageURI: "fn:1", Architecture: "x86_64", MemoryMiB: 256, TimeoutSeconds: 150, RoleARN: s.RoleARN,
		SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
		Environment: map[string]string{"PROJECT_ID": "p1", "CONFIG_SERVICE_URL": "http://tm:8081", "STS_ENDPOINT": "https://sts"},
		LogGroup:    "/aws/lambda/functions-p1", LogFormat: "Text", URLAuthType: "AWS_IAM", InvokeMode: "BUFFERED",
	}, es.Spec("p1"))
	require.Equal(t, []string{"subnet-b", "subnet-a"}, es.SubnetIDs, "the settings are not sorted in place")

	spec := es.Spec("p1")
	fn := asCreated(spec.CreateInput("p1"))
	require.Empty(t, spec.CodeDrift(fn))
	require.Empty(t, spec.ConfigDrift(fn.Configuration))
	require.Equal(t, "functions-p1", spec.FunctionName("p1"))
}
