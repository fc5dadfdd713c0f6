package callerid

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Signer makes X-Caller-Identity values with a credentials provider, as a
// Lambda bootstrap does with its own role.
type Signer struct {
	Credentials aws.CredentialsProvider
	// STSEndpoint is the endpoint the tenant-manager verifies against,
	// e.g. https://sts.us-east-1.amazonaws.com.
	STSEndpoint string
	Region      string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
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
	return Sign(ctx, creds, s.STSEndpoint, s.Region, now())
}
