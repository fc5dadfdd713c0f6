package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIntFromEnv(t *testing.T) {
	env := map[string]string{"N": "7", "LOW": "-1", "WORD": "seven", "EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	for name, tc := range map[string]struct {
		want int
		err  string
	}{
		"N":     {want: 7},
		"UNSET": {want: 3},
		"EMPTY": {want: 3},
		"LOW":   {err: `LOW: must be a whole number 0..9, got "-1"`},
		"WORD":  {err: `WORD: must be a whole number 0..9, got "seven"`},
	} {
		n, err := IntFromEnv(getenv, name, 3, 0, 9)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, tc.want, n, name)
	}
}

// The variables read through IntFromEnv keep their defaults and bounds.
func TestWholeNumberVariables(t *testing.T) {
	env := valid()
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, [5]int{5, 2, 512, 150, 0}, [5]int{c.Fleet.Concurrency, c.Fleet.Canary, c.Functions.MemoryMiB, c.Functions.TimeoutSeconds, c.Functions.ReservedConcurrency})

	env["RECONCILE_CONCURRENCY"], env["RECONCILE_CANARY"] = "9", "0"
	env["FUNCTIONS_LAMBDA_MEMORY_MIB"], env["FUNCTIONS_LAMBDA_TIMEOUT_SECONDS"], env["FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY"] = "1024", "900", "10"
	c, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, [5]int{9, 0, 1024, 900, 10}, [5]int{c.Fleet.Concurrency, c.Fleet.Canary, c.Functions.MemoryMiB, c.Functions.TimeoutSeconds, c.Functions.ReservedConcurrency})

	for key, bad := range map[string]string{
		"RECONCILE_CONCURRENCY": "51", "RECONCILE_CANARY": "-1", "FUNCTIONS_LAMBDA_MEMORY_MIB": "127",
		"FUNCTIONS_LAMBDA_TIMEOUT_SECONDS": "901", "FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY": "x",
	} {
		env := valid()
		env[key] = bad
		_, err := Load(func(k string) string { return env[k] })
		require.ErrorContains(t, err, key+": must be a whole number", key)
	}
}
