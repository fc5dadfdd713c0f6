package provision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestControlSettingsFromEnv(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	c, err := ControlSettingsFromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, ControlSettings{ConnectionLimit: 20, AnonStatementTimeout: 3 * time.Second, AuthenticatedStatementTimeout: 8 * time.Second, ServiceRoleStatementTimeout: time.Minute, LogRetentionDays: 30}, c)

	c, err = ControlSettingsFromEnv(env(map[string]string{
		"TENANT_LAMBDA_RESERVED_CONCURRENCY": "10", "TENANT_DB_CONNECTION_LIMIT": "-1",
		"TENANT_ANON_STATEMENT_TIMEOUT": "0", "TENANT_AUTHENTICATED_STATEMENT_TIMEOUT": "1m", "TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT": "0",
		"TENANT_LOG_RETENTION_DAYS": "365", "TENANT_LOG_GROUP_ON_DELETE": "retain",
	}))
	require.NoError(t, err)
	require.Equal(t, ControlSettings{ReservedConcurrency: 10, ConnectionLimit: -1, AuthenticatedStatementTimeout: time.Minute, LogRetentionDays: 365, RetainLogGroups: true}, c)

	for name, v := range map[string]string{
		"TENANT_LAMBDA_RESERVED_CONCURRENCY":     "-1",
		"TENANT_DB_CONNECTION_LIMIT":             "0",
		"TENANT_ANON_STATEMENT_TIMEOUT":          "3",
		"TENANT_AUTHENTICATED_STATEMENT_TIMEOUT": "-1s",
		"TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT":  "forever",
		"TENANT_LOG_RETENTION_DAYS":              "31",
		"TENANT_LOG_GROUP_ON_DELETE":             "keep",
	} {
		_, err := ControlSettingsFromEnv(env(map[string]string{name: v}))
		require.ErrorContains(t, err, name+":", "%s=%s", name, v)
	}
}

func TestManagementStatus(t *testing.T) {
	for in, want := range map[string]string{"provisioning": "COMING_UP", "active": "ACTIVE_HEALTHY", "paused": "INACTIVE",
		"pausing": "PAUSING", "restoring": "RESTORING", "deprovisioning": "GOING_DOWN", "deleting": "GOING_DOWN",
		"deleted": "REMOVED", "failed": "INIT_FAILED"} {
		require.Equal(t, want, ManagementStatus(in), in)
	}
}
