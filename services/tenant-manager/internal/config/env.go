package config

import (
	"fmt"
	"strconv"
)

// IntFromEnv is the whole number lo..hi the variable name holds, def when
// it is unset or empty; anything else is an error naming the variable.
func IntFromEnv(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: must be a whole number %d..%d, got %q", name, lo, hi, v)
	}
	return n, nil
}
