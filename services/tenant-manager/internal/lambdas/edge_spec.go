package lambdas

import (
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Spec is the desired state of the project's functions Lambda under s.
// The first deploy and the reconciler both build their requests from it,
// so a functions Lambda the reconciler calls up to date is one a first
// deploy would have made. Its reserved concurrency is not part of it: it
// follows from the project's status (0 while paused).
func (s EdgeSettings) Spec(projectID string) Spec {
	name := EdgeFunctionName(projectID)
	return Spec{
		Name:             name,
		Description:      "Edge functions of project " + projectID,
		ImageURI:         s.ImageURI,
		Architecture:     string(types.ArchitectureX8664),
		MemoryMiB:        s.MemoryMiB,
		TimeoutSeconds:   s.TimeoutSeconds,
		RoleARN:          s.RoleARN,
		SubnetIDs:        sortedCopy(s.SubnetIDs),
		SecurityGroupIDs: sortedCopy(s.SecurityGroupIDs),
		Environment: map[string]string{
			"PROJECT_ID":         projectID,
			"CONFIG_SERVICE_URL": s.ConfigServiceURL,
			"STS_ENDPOINT":       s.STSEndpoint,
		},
		// Lambda's default group and format, which a function made
		// without a logging configuration has.
		LogGroup:    "/aws/lambda/" + name,
		LogFormat:   string(types.LogFormatText),
		URLAuthType: string(types.FunctionUrlAuthTypeAwsIam),
		InvokeMode:  string(types.InvokeModeBuffered),
	}
}
