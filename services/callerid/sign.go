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

// Sign returns the X-Caller-Identity value for creds, signed at now for the
// STS endpoint the verifier replays to (e.g.
// https://sts.us-east-1.amazonaws.com) in region. Expiring credentials sign
// their expiration along, so the verifier never trusts the header past the
// credentials' lifetime.
func Sign(ctx context.Context, creds aws.Credentials, stsEndpoint, region string, now time.Time) (string, error) {
	// The request is only signed, never sent: the body is passed as its
	// hash, and without a body no Content-Length is signed, so the signed
	// headers are exactly those put in the payload, plus host.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stsEndpoint, nil)
	if err != nil {
		return "", fmt.Errorf("caller identity: STS endpoint %q: %w", stsEndpoint, err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set(AudienceHeader, Audience)
	if creds.CanExpire && !creds.Expires.IsZero() {
		req.Header.Set(ExpirationHeader, creds.Expires.UTC().Format(time.RFC3339))
	}
	sum := sha256.Sum256([]byte(Body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", region, now.UTC()); err != nil {
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
