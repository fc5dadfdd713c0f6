package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadSQL(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	s, err := loadSQL(env(nil), 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, SQL{StatementTimeout: time.Minute, MaxRows: 10000, MaxBytes: 10 << 20, MaxConcurrent: 8}, s)
	s, err = loadSQL(env(map[string]string{"SQL_STATEMENT_TIMEOUT": "5s", "SQL_MAX_ROWS": "5", "SQL_MAX_BYTES": "2048", "SQL_MAX_CONCURRENT_REQUESTS": "3"}), 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, SQL{StatementTimeout: 5 * time.Second, MaxRows: 5, MaxBytes: 2048, MaxConcurrent: 3}, s)
	for k, v := range map[string]string{"SQL_STATEMENT_TIMEOUT": "0s", "SQL_MAX_ROWS": "0", "SQL_MAX_BYTES": "12", "SQL_MAX_CONCURRENT_REQUESTS": "0"} {
		_, err := loadSQL(env(map[string]string{k: v}), 10*time.Minute)
		require.ErrorContains(t, err, k)
	}
	_, err = loadSQL(env(map[string]string{"SQL_STATEMENT_TIMEOUT": "55s"}), time.Minute)
	require.ErrorContains(t, err, "HTTP_WRITE_TIMEOUT")
}
