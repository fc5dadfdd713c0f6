package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadFleet(t *testing.T) {
	env := valid()
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, Fleet{Interval: 10 * time.Minute, Concurrency: 5, Canary: 2, Rate: 10, LambdaArchitecture: "x86_64"}, c.Fleet)

	env["RECONCILE_INTERVAL"], env["RECONCILE_CONCURRENCY"], env["RECONCILE_CANARY"], env["RECONCILE_RATE"], env["TENANT_LAMBDA_ARCHITECTURE"] = "0", "8", "0", "2.5", "arm64"
	c, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, Fleet{Interval: 0, Concurrency: 8, Canary: 0, Rate: 2.5, LambdaArchitecture: "arm64"}, c.Fleet)

	for name, bad := range map[string]string{
		"RECONCILE_INTERVAL": "30s", "RECONCILE_CONCURRENCY": "0", "RECONCILE_CANARY": "-1",
		"RECONCILE_RATE": "NaN", "TENANT_LAMBDA_ARCHITECTURE": "x86",
	} {
		env := valid()
		env[name] = bad
		_, err := Load(func(k string) string { return env[k] })
		require.ErrorContains(t, err, name)
	}
}
