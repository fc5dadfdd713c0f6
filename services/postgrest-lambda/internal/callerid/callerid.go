// Package callerid proves the Lambda's AWS identity to the tenant-manager
// with the shared services/callerid module (the same protocol the
// tenant-manager verifies with): it signs an STS GetCallerIdentity request
// with the Lambda's own credentials and packs the signed headers into the
// X-Caller-Identity header. Nothing secret leaves the caller (a SigV4
// signature is not a credential).
package callerid

import (
	shared "github.com/supabase-on-aws/supabase-on-aws/services/callerid"
)

const (
	// Header carries the signed identity to the tenant-manager.
	Header           = shared.Header
	AudienceHeader   = shared.AudienceHeader
	Audience         = shared.Audience
	ExpirationHeader = shared.ExpirationHeader
	Body             = shared.Body
	ContentType      = shared.ContentType
)

// Payload is the JSON inside the header (before base64).
type Payload = shared.Payload

// Signer makes X-Caller-Identity values with the Lambda's credentials
// provider.
type Signer = shared.Signer
