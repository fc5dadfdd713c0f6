package provision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRotationSettingsFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	r, err := RotationSettingsFromEnv(env())
	require.NoError(t, err)
	require.Equal(t, 1000*time.Second, r.Overlap)
	require.Equal(t, 60*time.Second, r.RetireInterval)
	require.Equal(t, 300*time.Second, r.GatewayCacheTTL)
	require.Equal(t, 600*time.Second, r.RetirePassTimeout, "two projects at a rotation's timeout each")

	r, err = RotationSettingsFromEnv(env("JWT_RETIRE_PASS_TIMEOUT_SECONDS", "120"))
	require.NoError(t, err)
	require.Equal(t, 120*time.Second, r.RetirePassTimeout)

	r, err = RotationSettingsFromEnv(env("JWT_ROTATION_OVERLAP_SECONDS", "630", "JWT_RETIRE_INTERVAL_SECONDS", "5"))
	require.NoError(t, err)
	require.Equal(t, 630*time.Second, r.Overlap)
	require.Equal(t, 5*time.Second, r.RetireInterval)

	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{env("JWT_ROTATION_OVERLAP_SECONDS", "300"), "JWT_ROTATION_OVERLAP_SECONDS: must be a whole number of seconds 630..604800"},
		{env("JWT_ROTATION_OVERLAP_SECONDS", "soon"), "JWT_ROTATION_OVERLAP_SECONDS"},
		{env("GATEWAY_CACHE_TTL_SECONDS", "600", "JWT_ROTATION_OVERLAP_SECONDS", "900"), "seconds 930..604800"},
		{env("GATEWAY_CACHE_TTL_SECONDS", "900"), "JWT_ROTATION_OVERLAP_SECONDS: the default 1000 is below 1230"},
		{env("JWT_RETIRE_INTERVAL_SECONDS", "0"), "JWT_RETIRE_INTERVAL_SECONDS: must be a whole number of seconds 1..3600"},
		{env("GATEWAY_CACHE_TTL_SECONDS", "-1"), "GATEWAY_CACHE_TTL_SECONDS"},
		{env("JWT_RETIRE_PASS_TIMEOUT_SECONDS", "30"), "JWT_RETIRE_PASS_TIMEOUT_SECONDS: must be a whole number of seconds 60..3600"},
		{env("JWT_RETIRE_PASS_TIMEOUT_SECONDS", "10m"), "JWT_RETIRE_PASS_TIMEOUT_SECONDS"},
	} {
		_, err := RotationSettingsFromEnv(tc.env)
		require.ErrorContains(t, err, tc.want)
	}
}
