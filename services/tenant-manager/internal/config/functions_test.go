package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadFunctionsSecurityGroups(t *testing.T) {
	env := map[string]string{
		"FUNCTIONS_BUCKET": "bundles", "FUNCTIONS_IMAGE_URI": "111111111111.dkr.ecr.us-east-1.amazonaws.com/r:t",
		"FUNCTIONS_LAMBDA_ROLE_ARN": "arn:aws:iam::111111111111:role/edge",
	}
	get := func(k string) string { return env[k] }
	f, err := loadFunctions(get)
	require.NoError(t, err)
	require.Empty(t, f.SecurityGroupIDs, "unset: the PostgREST functions' groups are used")

	env["FUNCTIONS_LAMBDA_SECURITY_GROUP_IDS"] = " sg-0a, sg-0b ,"
	f, err = loadFunctions(get)
	require.NoError(t, err)
	require.Equal(t, []string{"sg-0a", "sg-0b"}, f.SecurityGroupIDs)

	env["FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY"] = "-1"
	_, err = loadFunctions(get)
	require.ErrorContains(t, err, "FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY")
}
