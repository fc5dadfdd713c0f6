package config

import (
	"fmt"
	"strings"
)

// Functions is how the projects' functions Lambdas (functions-{id}) are
// made. Edge functions are enabled when FUNCTIONS_BUCKET is set; the image
// and the role are then required.
type Functions struct {
	Bucket              string
	ImageURI            string
	RoleARN             string
	MemoryMiB           int
	TimeoutSeconds      int
	ReservedConcurrency int
	// SecurityGroupIDs are the functions Lambdas' groups; empty: the
	// PostgREST functions' (TENANT_LAMBDA_SECURITY_GROUP_IDS).
	SecurityGroupIDs []string
	// Env is the feature's remaining variables (FUNCTIONS_KEEP_VERSIONS and
	// the like), read by the provision package.
	Env func(string) string
}

// Enabled says whether edge functions are served.
func (f Functions) Enabled() bool { return f.Bucket != "" }

// loadFunctions reads FUNCTIONS_BUCKET, FUNCTIONS_IMAGE_URI,
// FUNCTIONS_LAMBDA_ROLE_ARN, FUNCTIONS_LAMBDA_MEMORY_MIB (default 512),
// FUNCTIONS_LAMBDA_TIMEOUT_SECONDS (default 150, Supabase's wall-clock
// limit), FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY (default 0: none) and
// FUNCTIONS_LAMBDA_SECURITY_GROUP_IDS (default: the PostgREST functions'
// groups; tenant code is better kept in a group of its own).
func loadFunctions(getenv func(string) string) (Functions, error) {
	f := Functions{Bucket: getenv("FUNCTIONS_BUCKET"), ImageURI: getenv("FUNCTIONS_IMAGE_URI"), RoleARN: getenv("FUNCTIONS_LAMBDA_ROLE_ARN"),
		MemoryMiB: 512, TimeoutSeconds: 150, Env: getenv}
	num := func(name string, def, lo, hi int) (int, error) { return IntFromEnv(getenv, name, def, lo, hi) }
	for _, id := range strings.Split(getenv("FUNCTIONS_LAMBDA_SECURITY_GROUP_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			f.SecurityGroupIDs = append(f.SecurityGroupIDs, id)
		}
	}
	var err error
	if f.MemoryMiB, err = num("FUNCTIONS_LAMBDA_MEMORY_MIB", 512, 128, 10240); err != nil {
		return f, err
	}
	if f.TimeoutSeconds, err = num("FUNCTIONS_LAMBDA_TIMEOUT_SECONDS", 150, 1, 900); err != nil {
		return f, err
	}
	if f.ReservedConcurrency, err = num("FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY", 0, 0, 10000); err != nil {
		return f, err
	}
	if !f.Enabled() {
		return f, nil
	}
	switch {
	case f.ImageURI == "":
		return f, fmt.Errorf("FUNCTIONS_IMAGE_URI: must be set when FUNCTIONS_BUCKET is")
	case !roleARNRe.MatchString(f.RoleARN):
		return f, fmt.Errorf("FUNCTIONS_LAMBDA_ROLE_ARN: must be an IAM role ARN when FUNCTIONS_BUCKET is set")
	}
	return f, nil
}
