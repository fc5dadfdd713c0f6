package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/callerid"
)

// identityExpiring signs an X-Caller-Identity as a session of roleARN that
// also signs the credentials' expiration header.
func identityExpiring(t *testing.T, roleARN, session string, at, expires time.Time) string {
	t.Helper()
	ctx := context.Background()
	out, err := sts.NewFromConfig(env.aws).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)})
	require.NoError(t, err)
	c := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	req, err := http.NewRequest("POST", env.motoURL, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set(callerid.AudienceHeader, callerid.Audience)
	req.Header.Set(callerid.ExpirationHeader, expires.UTC().Format(time.RFC3339))
	sum := sha256.Sum256([]byte("Action=GetCallerIdentity&Version=2011-06-15"))
	require.NoError(t, v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at))
	require.Contains(t, req.Header.Get("Authorization"), "x-tenant-manager-credential-expiration")
	h := map[string]string{}
	for k := range req.Header {
		h[k] = req.Header.Get(k)
	}
	b, err := json.Marshal(map[string]any{"headers": h})
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// Against moto's STS: a header that signs its credentials' expiration is
// verified like any other while the credentials live, and refused after.
func TestCallerIdentityCredentialExpiration(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	m.mustCreate("expiry-aa")
	now := time.Now()

	status, body := m.do("GET", "/project/expiry-aa/config", "", "", "X-Caller-Identity", identityExpiring(t, env.gatewayRoleARN, "kong", now, now.Add(time.Hour)))
	require.Equal(t, http.StatusOK, status, body)
	status, body = m.do("GET", "/project/expiry-aa/postgrest-config", "", "", "X-Caller-Identity", identityExpiring(t, env.tenantRoleARN, "postgrest-expiry-aa", now, now.Add(time.Minute)))
	require.Equal(t, http.StatusOK, status, body)

	status, body = m.do("GET", "/project/expiry-aa/config", "", "", "X-Caller-Identity", identityExpiring(t, env.gatewayRoleARN, "kong", now, now.Add(-time.Second)))
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Equal(t, "unauthenticated", body["code"])
	require.NotContains(t, body, "jwt_secret")
}
