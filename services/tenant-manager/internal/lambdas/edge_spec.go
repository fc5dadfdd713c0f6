package lambdas

// Spec is the desired state of the project's functions Lambda under s.
// The first deploy and the reconciler both build their requests from it,
// so a functions Lambda the reconciler calls up to date is one a first
// deploy would have made. Its reserved concurrency is not part of it: it
// follows from the project's status (0 while paused).
//
// It is the PostgREST function's spec under the functions Lambda's own
// name, description and log group (Lambda's default group, which a
// function made without a logging configuration has), and without
// CONFIG_SOURCE, which only PostgREST's bootstrap reads.
func (s EdgeSettings) Spec(projectID string) Spec {
	sp := Settings{ImageURI: s.ImageURI, RoleARN: s.RoleARN, SubnetIDs: s.SubnetIDs, SecurityGroupIDs: s.SecurityGroupIDs,
		MemoryMiB: s.MemoryMiB, TimeoutSeconds: s.TimeoutSeconds, ConfigServiceURL: s.ConfigServiceURL, STSEndpoint: s.STSEndpoint,
	}.Spec(projectID)
	name := EdgeFunctionName(projectID)
	sp.Name, sp.Description = name, "Edge functions of project "+projectID
	sp.LogGroup = "/aws/lambda/" + name
	delete(sp.Environment, "CONFIG_SOURCE")
	return sp
}
