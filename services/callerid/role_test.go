package callerid

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAssumedRole(t *testing.T) {
	r, ok := AssumedRole("arn:aws:sts::123456789012:assumed-role/kong-task-role/kong")
	require.True(t, ok)
	require.Equal(t, Role{Account: "123456789012", Name: "kong-task-role", Session: "kong"}, r)
	r, ok = AssumedRole("arn:aws-cn:sts::123456789012:assumed-role/r/postgrest-a/b")
	require.True(t, ok)
	require.Equal(t, Role{Account: "123456789012", Name: "r", Session: "postgrest-a/b"}, r)
	for _, arn := range []string{
		"arn:aws:iam::123456789012:user/ops",
		"arn:aws:iam::123456789012:role/kong-task-role",
		"arn:aws:sts::12345678901:assumed-role/r/s",
		"arn:aws:sts::123456789012:assumed-role/r/",
		"arn:aws:sts::123456789012:federated-user/x",
		"",
	} {
		_, ok := AssumedRole(arn)
		require.False(t, ok, arn)
	}
}

func TestIAMRole(t *testing.T) {
	r, ok := IAMRole("arn:aws:iam::123456789012:role/service-role/team/kong-task-role")
	require.True(t, ok)
	require.Equal(t, Role{Account: "123456789012", Name: "kong-task-role"}, r, "an assumed-role ARN names the role without its path")
	for _, arn := range []string{
		"arn:aws:sts::123456789012:assumed-role/r/s",
		"arn:aws:iam::123456789012:role/",
		"arn:aws:iam::123456789012:user/ops",
	} {
		_, ok := IAMRole(arn)
		require.False(t, ok, arn)
	}
}
