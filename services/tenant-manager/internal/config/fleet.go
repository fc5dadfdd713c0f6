package config

import (
	"fmt"
	"strconv"
	"time"
)

// Fleet configures the tenant function reconciler.
type Fleet struct {
	// Interval between periodic runs; 0 turns automatic runs off (neither
	// at start nor periodic; the platform endpoint still starts one).
	Interval time.Duration
	// Concurrency is how many projects are updated at once.
	Concurrency int
	// Canary is how many projects are updated and checked before the rest.
	Canary int
	// Rate caps the reconciler's Lambda control-plane calls per second
	// (0: no cap).
	Rate float64
	// LambdaArchitecture is the tenant functions' architecture, x86_64 or
	// arm64 (the image must be built for it).
	LambdaArchitecture string
}

// loadFleet reads RECONCILE_INTERVAL (Go duration, default 10m, 0 = off,
// else 1m..24h), RECONCILE_CONCURRENCY (1..50, default 5),
// RECONCILE_CANARY (0..100, default 2), RECONCILE_RATE (calls per second,
// 0..100, default 10; 0 = no cap) and TENANT_LAMBDA_ARCHITECTURE
// (x86_64 | arm64, default x86_64).
func loadFleet(getenv func(string) string) (Fleet, error) {
	f := Fleet{Interval: 10 * time.Minute, Concurrency: 5, Canary: 2, Rate: 10, LambdaArchitecture: "x86_64"}
	if v := getenv("RECONCILE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || (d != 0 && (d < time.Minute || d > 24*time.Hour)) {
			return f, fmt.Errorf("RECONCILE_INTERVAL: must be 0 (off) or a duration from 1m to 24h (e.g. \"10m\"), got %q", v)
		}
		f.Interval = d
	}
	var err error
	if f.Concurrency, err = IntFromEnv(getenv, "RECONCILE_CONCURRENCY", f.Concurrency, 1, 50); err != nil {
		return f, err
	}
	if f.Canary, err = IntFromEnv(getenv, "RECONCILE_CANARY", f.Canary, 0, 100); err != nil {
		return f, err
	}
	if v := getenv("RECONCILE_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 100 || r != r {
			return f, fmt.Errorf("RECONCILE_RATE: must be a number of calls per second 0..100 (0: no cap), got %q", v)
		}
		f.Rate = r
	}
	switch v := getenv("TENANT_LAMBDA_ARCHITECTURE"); v {
	case "":
	case "x86_64", "arm64":
		f.LambdaArchitecture = v
	default:
		return f, fmt.Errorf(`TENANT_LAMBDA_ARCHITECTURE: must be "x86_64" or "arm64", got %q`, v)
	}
	return f, nil
}
