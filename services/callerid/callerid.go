// Package callerid is the caller-identity protocol between the platform's
// services and the tenant-manager, in one place for both sides.
//
// A caller proves its AWS identity without sending a secret: it SigV4-signs
// an STS GetCallerIdentity request (fixed endpoint, fixed body) with its own
// credentials, signing along an audience header so the signature is good for
// the tenant-manager only, and sends the signed headers as the
// X-Caller-Identity header (standard base64 of {"headers": {...}}). The
// verifier rebuilds the request itself, replays it to STS, and reads the ARN
// STS answers with. Sign makes the header; Verifier checks it.
package callerid

import "time"

const (
	// Header carries the signed identity to the tenant-manager.
	Header = "X-Caller-Identity"
	// AudienceHeader is signed with the request so that a signature made
	// for the tenant-manager cannot be replayed against another service
	// that also accepts GetCallerIdentity proofs.
	AudienceHeader = "X-Tenant-Manager-Audience"
	Audience       = "tenant-manager"
	// ExpirationHeader, when signed, is the expiry of the credentials the
	// caller signed with (RFC 3339, UTC): the signature is worth nothing
	// after it, so neither is a cached verification.
	ExpirationHeader = "X-Tenant-Manager-Credential-Expiration"
	// Body is the fixed STS request body; the verifier never takes one from
	// the caller.
	Body        = "Action=GetCallerIdentity&Version=2011-06-15"
	ContentType = "application/x-www-form-urlencoded; charset=utf-8"
	// MaxSkew is how far X-Amz-Date may be from the verifier's clock, and
	// how long after X-Amz-Date a header is still accepted.
	MaxSkew = 5 * time.Minute
	// CacheFor bounds how long a verification is reused after the STS call.
	CacheFor = 5 * time.Minute

	amzDateFormat = "20060102T150405Z"
)

// Payload is the JSON inside the header (before base64).
type Payload struct {
	Headers map[string]string `json:"headers"`
}
