package config

import (
	"fmt"
	"strconv"
	"time"
)

// SQL bounds the management API's SQL endpoints (database/query and
// database/query/read-only): how long one request's SQL may run and how
// large an answer may grow before it is refused.
type SQL struct {
	StatementTimeout time.Duration
	MaxRows          int
	MaxBytes         int64
	// MaxConcurrent bounds the SQL requests one task runs at once (0: the
	// default, 8).
	MaxConcurrent int
}

// SQL defaults: a minute of SQL, 10 000 rows, 10 MiB of JSON.
const (
	defaultSQLTimeout  = 60 * time.Second
	defaultSQLMaxRows  = 10000
	defaultSQLMaxBytes = 10 << 20
	// Each running request may hold about three times SQL_MAX_BYTES (the
	// wire message, the JSON and its growth): 8 x 30 MiB at the defaults.
	defaultSQLConcurrent = 8
)

// loadSQL reads SQL_STATEMENT_TIMEOUT (Go duration, 1s..1h),
// SQL_MAX_ROWS (1..1 000 000), SQL_MAX_BYTES (1 KiB..1 GiB) and
// SQL_MAX_CONCURRENT_REQUESTS (1..1000). The
// timeout must end before the HTTP write timeout, so the caller always
// gets the answer that says so.
func loadSQL(getenv func(string) string, write time.Duration) (SQL, error) {
	s := SQL{StatementTimeout: defaultSQLTimeout, MaxRows: defaultSQLMaxRows, MaxBytes: defaultSQLMaxBytes, MaxConcurrent: defaultSQLConcurrent}
	if v := getenv("SQL_STATEMENT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return s, fmt.Errorf("SQL_STATEMENT_TIMEOUT: must be a duration from 1s to 1h (e.g. \"60s\"), got %q", v)
		}
		s.StatementTimeout = d
	}
	if write > 0 && s.StatementTimeout+10*time.Second > write {
		return s, fmt.Errorf("SQL_STATEMENT_TIMEOUT: must be at least 10s shorter than HTTP_WRITE_TIMEOUT (%s), so a timed-out query is still answered", write)
	}
	var err error
	if s.MaxRows, err = IntFromEnv(getenv, "SQL_MAX_ROWS", s.MaxRows, 1, 1_000_000); err != nil {
		return s, err
	}
	if v := getenv("SQL_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return s, fmt.Errorf("SQL_MAX_BYTES: must be a whole number of bytes 1024..1073741824, got %q", v)
		}
		s.MaxBytes = n
	}
	if s.MaxConcurrent, err = IntFromEnv(getenv, "SQL_MAX_CONCURRENT_REQUESTS", s.MaxConcurrent, 1, 1000); err != nil {
		return s, err
	}
	return s, nil
}
