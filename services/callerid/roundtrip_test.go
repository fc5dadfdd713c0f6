package callerid

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
)

var (
	userCreds    = aws.Credentials{AccessKeyID: "AKIAUSEREXAMPLE", SecretAccessKey: "user-secret"}
	sessionCreds = aws.Credentials{AccessKeyID: "ASIASESSIONEXAMPLE", SecretAccessKey: "session-secret", SessionToken: "session-token"}
	userARN      = "arn:aws:iam::123456789012:user/ops"
	sessionARN   = "arn:aws:sts::123456789012:assumed-role/postgrest-role/postgrest-demo1"
)

func roundTripSTS(t *testing.T) *fakeSTS {
	s := newFakeSTS(t)
	s.add(userCreds, userARN)
	s.add(sessionCreds, sessionARN)
	return s
}

// What Sign makes, Verify accepts: long-lived keys, session credentials,
// and expiring session credentials (whose signed expiration must reach STS
// for the signature to hold).
func TestSignedHeaderVerifies(t *testing.T) {
	sts := roundTripSTS(t)
	now := time.Now().UTC().Truncate(time.Second)
	expiring := sessionCreds
	expiring.CanExpire, expiring.Expires = true, now.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		creds  aws.Credentials
		arn    string
		signed string
	}{
		{"long-lived", userCreds, userARN, "content-type;host;x-amz-date;x-tenant-manager-audience"},
		{"session", sessionCreds, sessionARN, "content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience"},
		{"expiring session", expiring, sessionARN, "content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience;x-tenant-manager-credential-expiration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Sign(context.Background(), tc.creds, sts.srv.URL, "us-east-1", now)
			require.NoError(t, err)
			require.Contains(t, decode(t, h)["Authorization"], "SignedHeaders="+tc.signed+",")
			arn, err := sts.verifier(func() time.Time { return now }).Verify(context.Background(), h)
			require.NoError(t, err)
			require.Equal(t, tc.arn, arn)
		})
	}
}

func TestSignedExpirationIsUTC(t *testing.T) {
	c := sessionCreds
	c.CanExpire, c.Expires = true, time.Date(2026, 11, 23, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	h, err := Sign(context.Background(), c, "https://sts.us-east-1.amazonaws.com", "us-east-1", time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC))
	require.NoError(t, err)
	p := decode(t, h)
	require.Equal(t, "2026-11-23T10:00:00Z", p[ExpirationHeader])
	require.Equal(t, "20261123T093000Z", p["X-Amz-Date"])
	require.ElementsMatch(t, []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", AudienceHeader, "Content-Type", ExpirationHeader}, keys(p))
}

func TestSignRefusesABadEndpoint(t *testing.T) {
	_, err := Sign(context.Background(), userCreds, "http://[::1", "us-east-1", time.Now())
	require.ErrorContains(t, err, "caller identity: STS endpoint")
}

// A signed header is good for one verification window and one STS
// endpoint; any change to what was signed is refused by STS, and refusals
// are identity errors (401), not outages.
func TestSignedHeaderNegatives(t *testing.T) {
	sts := roundTripSTS(t)
	now := time.Now().UTC().Truncate(time.Second)
	ctx := context.Background()
	fresh := func(c aws.Credentials, endpoint string, at time.Time) string {
		h, err := Sign(ctx, c, endpoint, "us-east-1", at)
		require.NoError(t, err)
		return h
	}
	tamper := func(h, key string, change func(string) string) string {
		p := decode(t, h)
		p[key] = change(p[key])
		return encode(t, p)
	}
	expired := sessionCreds
	expired.CanExpire, expired.Expires = true, now.Add(-time.Second)
	flipLast := func(s string) string {
		last := s[len(s)-1]
		if last == '0' {
			return s[:len(s)-1] + "1"
		}
		return s[:len(s)-1] + "0"
	}
	for _, tc := range []struct {
		name, header, reason string
		stsCalled            bool
	}{
		{"signature changed", tamper(fresh(sessionCreds, sts.srv.URL, now), "Authorization", flipLast), "HTTP 403", true},
		{"date changed within the window", tamper(fresh(sessionCreds, sts.srv.URL, now), "X-Amz-Date", func(string) string {
			return now.Add(-time.Second).Format(amzDateFormat)
		}), "HTTP 403", true},
		{"session token changed", tamper(fresh(sessionCreds, sts.srv.URL, now), "X-Amz-Security-Token", strings.ToUpper), "HTTP 403", true},
		{"signed for another endpoint", fresh(sessionCreds, "https://sts.us-east-1.amazonaws.com", now), "HTTP 403", true},
		{"unknown key", fresh(aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}, sts.srv.URL, now), "HTTP 403", true},
		{"signed too long ago", fresh(sessionCreds, sts.srv.URL, now.Add(-MaxSkew-time.Second)), "more than 5 minutes away", false},
		{"credentials expired", fresh(expired, sts.srv.URL, now), "expired at", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := sts.calls.Load()
			_, err := sts.verifier(func() time.Time { return now }).Verify(ctx, tc.header)
			require.ErrorIs(t, err, ErrUnverifiable)
			require.ErrorContains(t, err, tc.reason)
			require.Equal(t, tc.stsCalled, sts.calls.Load() > before)
		})
	}
}

// The verifier sends its own request: its endpoint, the fixed body, and of
// the caller's headers only the signature's; whatever else the payload
// carries (a Host, a URL, a different content type) goes nowhere.
func TestVerifierRebuildsTheRequest(t *testing.T) {
	sts := roundTripSTS(t)
	now := time.Now().UTC().Truncate(time.Second)
	h, err := Sign(context.Background(), sessionCreds, sts.srv.URL, "us-east-1", now)
	require.NoError(t, err)
	p := decode(t, h)
	p["Host"] = "attacker.example"
	p["X-Forwarded-Host"] = "attacker.example"
	p["Url"] = "https://attacker.example/"
	p["X-Extra"] = "x"
	arn, err := sts.verifier(func() time.Time { return now }).Verify(context.Background(), encode(t, p))
	require.NoError(t, err)
	require.Equal(t, sessionARN, arn)
	got := sts.lastHeaders()
	for _, k := range []string{"X-Forwarded-Host", "Url", "X-Extra"} {
		require.Empty(t, got.Get(k), k)
	}
	require.Equal(t, ContentType, got.Get("Content-Type"))
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
