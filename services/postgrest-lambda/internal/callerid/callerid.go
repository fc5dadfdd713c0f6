// Package callerid proves the Lambda's AWS identity to the tenant-manager
// with the shared services/callerid module (the same protocol the
// tenant-manager verifies with): it signs an STS GetCallerIdentity request
// with the Lambda's own credentials and packs the signed headers into the
// X-Caller-Identity header. Nothing secret leaves the caller (a SigV4
// signature is not a credential).
package callerid

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// Signer makes X-Caller-Identity values.
type Signer struct {
	Credentials aws.CredentialsProvider
	// STSEndpoint is the endpoint the tenant-manager verifies against,
	// e.g. https://sts.us-east-1.amazonaws.com.
	STSEndpoint string
	Region      string
	Now         func() time.Time
}

// Sign returns the header value for a request made now. Credentials are
// retrieved on every call: the provider caches them and refreshes expiring
// ones, so a warm Lambda never signs with credentials that have expired.
func (s *Signer) Sign(ctx context.Context) (string, error) {
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("caller identity: retrieving AWS credentials: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return shared.Sign(ctx, creds, s.STSEndpoint, s.Region, now())
}
