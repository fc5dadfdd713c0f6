// Package callerid is the tenant-manager's view of the caller-identity
// protocol: it verifies the X-Caller-Identity header with the shared
// services/callerid module (the same code the callers sign with) and
// re-exports the names the API and app packages use.
package callerid

import shared "github.com/supabase-on-aws/supabase-on-aws/services/callerid"

const (
	Header           = shared.Header
	AudienceHeader   = shared.AudienceHeader
	Audience         = shared.Audience
	ExpirationHeader = shared.ExpirationHeader
)

// ErrUnverifiable is returned (wrapped with the reason) for anything that
// does not prove an identity: the API answers 401.
var ErrUnverifiable = shared.ErrUnverifiable

// Verifier checks identities against one STS endpoint; see the module for
// what it checks and how long it caches.
type Verifier = shared.Verifier

// Role is what an ARN says: account, role name and session name.
type Role = shared.Role

// AssumedRole parses an STS assumed-role ARN.
func AssumedRole(arn string) (Role, bool) { return shared.AssumedRole(arn) }

// IAMRole parses an IAM role ARN (the configured GATEWAY_ROLE_ARN and
// TENANT_LAMBDA_ROLE_ARN) into account and name.
func IAMRole(arn string) (Role, bool) { return shared.IAMRole(arn) }
