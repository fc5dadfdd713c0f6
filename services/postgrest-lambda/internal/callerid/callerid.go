// Package callerid proves the caller's AWS identity to the tenant-manager:
// it signs an STS GetCallerIdentity request with the caller's
// own credentials and packs the signed headers into the X-Caller-Identity
// header. The tenant-manager replays the request to STS and reads the ARN;
// nothing secret leaves the caller (a SigV4 signature is not a credential).
package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	// Header carries the signed identity to the tenant-manager.
	Header = "X-Caller-Identity"
	// AudienceHeader is signed with the request so that a signature made
	// for the tenant-manager cannot be replayed against another service.
	AudienceHeader = "X-Tenant-Manager-Audience"
	Audience       = "tenant-manager"
	// ExpirationHeader is signed along when the credentials expire (RFC 3339,
	// UTC), so the tenant-manager never trusts a verification of this
	// header past the credentials' own lifetime.
	ExpirationHeader = "X-Tenant-Manager-Credential-Expiration"
	// Body is the fixed STS request body.
	Body        = "Action=GetCallerIdentity&Version=2011-06-15"
	ContentType = "application/x-www-form-urlencoded; charset=utf-8"
)

// Payload is the JSON inside the header (before base64).
type Payload struct {
	Headers map[string]string `json:"headers"`
}

// Signer makes X-Caller-Identity values.
type Signer struct {
	Credentials aws.CredentialsProvider
	// STSEndpoint is the endpoint the tenant-manager verifies against,
	// e.g. https://sts.us-east-1.amazonaws.com.
	STSEndpoint string
	Region      string
	Now         func() time.Time
}

// Sign returns the header value for a request made now.
func (s *Signer) Sign(ctx context.Context) (string, error) {
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("caller identity: retrieving AWS credentials: %w", err)
	}
	// The request is only signed, never sent: the body is passed as its
	// hash, and without a body no Content-Length is signed, so the signed
	// headers are exactly those put in the payload, plus host.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.STSEndpoint, nil)
	if err != nil {
		return "", fmt.Errorf("caller identity: STS endpoint %q: %w", s.STSEndpoint, err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set(AudienceHeader, Audience)
	if creds.CanExpire && !creds.Expires.IsZero() {
		req.Header.Set(ExpirationHeader, creds.Expires.UTC().Format(time.RFC3339))
	}
	sum := sha256.Sum256([]byte(Body))
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", s.Region, now().UTC()); err != nil {
		return "", fmt.Errorf("caller identity: signing: %w", err)
	}
	p := Payload{Headers: map[string]string{
		"Authorization": req.Header.Get("Authorization"),
		"X-Amz-Date":    req.Header.Get("X-Amz-Date"),
		AudienceHeader:  Audience,
		"Content-Type":  ContentType,
	}}
	if exp := req.Header.Get(ExpirationHeader); exp != "" {
		p.Headers[ExpirationHeader] = exp
	}
	if tok := req.Header.Get("X-Amz-Security-Token"); tok != "" {
		p.Headers["X-Amz-Security-Token"] = tok
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
