package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
)

const endpoint = "https://sts.us-east-1.amazonaws.com"

func payload(t *testing.T, h string) map[string]string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(h)
	require.NoError(t, err)
	var p Payload
	require.NoError(t, json.Unmarshal(raw, &p))
	return p.Headers
}

var signedRe = regexp.MustCompile(`SignedHeaders=([a-z0-9;-]+)`)

// requireValidSignature re-signs what STS would receive (the payload's
// signed headers, the fixed body) and compares signatures.
func requireValidSignature(t *testing.T, creds aws.Credentials, h map[string]string) {
	t.Helper()
	m := signedRe.FindStringSubmatch(h["Authorization"])
	require.NotNil(t, m)
	date, err := time.Parse("20060102T150405Z", h["X-Amz-Date"])
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, endpoint, nil)
	require.NoError(t, err)
	for _, name := range strings.Split(m[1], ";") {
		if name != "host" {
			v := h[http.CanonicalHeaderKey(name)]
			require.NotEmpty(t, v, "signed header %s is in the payload", name)
			req.Header.Set(name, v)
		}
	}
	sum := sha256.Sum256([]byte(Body))
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", date))
	require.Equal(t, req.Header.Get("Authorization"), h["Authorization"])
}

func TestExpiringCredentialsSignTheirExpiration(t *testing.T) {
	exp := time.Date(2026, 11, 23, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	creds := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token", CanExpire: true, Expires: exp}
	s := &Signer{
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		STSEndpoint: endpoint, Region: "us-east-1",
		Now: func() time.Time { return time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC) },
	}
	v, err := s.Sign(context.Background())
	require.NoError(t, err)
	h := payload(t, v)
	require.Equal(t, "2026-11-23T10:00:00Z", h[ExpirationHeader], "RFC 3339 in UTC")
	require.Contains(t, h["Authorization"], "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience;x-tenant-manager-credential-expiration,")
	requireValidSignature(t, creds, h)
}

func TestLongLivedCredentialsSignNoExpiration(t *testing.T) {
	s := &Signer{
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		STSEndpoint: endpoint, Region: "us-east-1",
	}
	v, err := s.Sign(context.Background())
	require.NoError(t, err)
	h := payload(t, v)
	require.NotContains(t, h, ExpirationHeader)
	require.Contains(t, h["Authorization"], "SignedHeaders=content-type;host;x-amz-date;x-tenant-manager-audience,")
	requireValidSignature(t, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, h)
}
