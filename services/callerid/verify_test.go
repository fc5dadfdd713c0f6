package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/blackhole"
)

const testARN = "arn:aws:sts::123456789012:assumed-role/kong-task-role/kong"

var testCreds = aws.Credentials{AccessKeyID: "ASIATESTKEY", SecretAccessKey: "test-secret-key", SessionToken: "test-session-token"}

func newTestSTS(t *testing.T) *fakeSTS {
	s := newFakeSTS(t)
	s.add(testCreds, testARN)
	return s
}

// sign makes an X-Caller-Identity for endpoint, signed at `at` with
// testCreds, with extra signed headers. Unlike Sign it lets a test sign
// what a correct caller never would.
func sign(t *testing.T, endpoint string, at time.Time, extra map[string]string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set(AudienceHeader, Audience)
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	sum := sha256.Sum256([]byte(Body))
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at))
	h := map[string]string{}
	for k := range req.Header {
		h[k] = req.Header.Get(k)
	}
	return encode(t, h)
}

func encode(t *testing.T, h map[string]string) string {
	t.Helper()
	b, err := json.Marshal(Payload{Headers: h})
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func decode(t *testing.T, header string) map[string]string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(header)
	require.NoError(t, err)
	var p Payload
	require.NoError(t, json.Unmarshal(raw, &p))
	return p.Headers
}

func TestCacheNeverOutlivesTheSignedDate(t *testing.T) {
	sts := newTestSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{}
	v := sts.verifier(clk.Now)
	h := sign(t, sts.srv.URL, d, nil)

	clk.Set(d.Add(4*time.Minute + 59*time.Second))
	arn, err := v.Verify(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, testARN, arn)
	require.EqualValues(t, 1, sts.calls.Load())

	clk.Set(d.Add(5*time.Minute + 1*time.Second))
	_, err = v.Verify(context.Background(), h)
	require.ErrorIs(t, err, ErrUnverifiable, "verified 2 s ago and cached, but signed more than 5 minutes ago")
	require.EqualValues(t, 1, sts.calls.Load())
}

func TestCacheLastsAtMostFiveMinutesFromVerification(t *testing.T) {
	sts := newTestSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{t: d}
	v := sts.verifier(clk.Now)
	// Dated 3 minutes ahead (clock skew): valid until d+8m by its date.
	h := sign(t, sts.srv.URL, d.Add(3*time.Minute), nil)
	for _, tc := range []struct {
		at    time.Duration
		calls int32
	}{{0, 1}, {4 * time.Minute, 1}, {5*time.Minute + time.Second, 2}} {
		clk.Set(d.Add(tc.at))
		_, err := v.Verify(context.Background(), h)
		require.NoError(t, err, tc.at)
		require.Equal(t, tc.calls, sts.calls.Load(), "STS calls at +%s", tc.at)
	}
}

func TestCredentialExpirationCapsTheCache(t *testing.T) {
	sts := newTestSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{t: d}
	v := sts.verifier(clk.Now)
	h := sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: d.Add(2 * time.Minute).Format(time.RFC3339)})

	arn, err := v.Verify(context.Background(), h)
	require.NoError(t, err, "the signed expiration header is forwarded, so STS accepts the signature")
	require.Equal(t, testARN, arn)
	clk.Set(d.Add(time.Minute))
	_, err = v.Verify(context.Background(), h)
	require.NoError(t, err)
	require.EqualValues(t, 1, sts.calls.Load(), "cached")

	clk.Set(d.Add(2*time.Minute + time.Second))
	_, err = v.Verify(context.Background(), h)
	require.ErrorIs(t, err, ErrUnverifiable)
	require.ErrorContains(t, err, "expired")
	require.EqualValues(t, 1, sts.calls.Load())
}

func TestExpirationHeaderRules(t *testing.T) {
	sts := newTestSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	v := sts.verifier(func() time.Time { return d })

	_, err := v.Verify(context.Background(), sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: d.Add(-time.Second).Format(time.RFC3339)}))
	require.ErrorIs(t, err, ErrUnverifiable, "credentials already expired")
	_, err = v.Verify(context.Background(), sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: "tomorrow"}))
	require.ErrorIs(t, err, ErrUnverifiable, "not RFC 3339")
	require.EqualValues(t, 0, sts.calls.Load(), "refused without asking STS")

	// An unsigned copy proves nothing: it neither shortens nor extends
	// anything and is not sent to STS.
	p := decode(t, sign(t, sts.srv.URL, d, nil))
	p[ExpirationHeader] = d.Add(-time.Hour).Format(time.RFC3339)
	_, err = v.Verify(context.Background(), encode(t, p))
	require.NoError(t, err)
	require.Empty(t, sts.lastHeaders().Get(ExpirationHeader))

	// Tampering with a signed expiration breaks the signature.
	p = decode(t, sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: d.Add(time.Minute).Format(time.RFC3339)}))
	p[ExpirationHeader] = d.Add(time.Hour).Format(time.RFC3339)
	_, err = v.Verify(context.Background(), encode(t, p))
	require.ErrorIs(t, err, ErrUnverifiable)
	require.ErrorContains(t, err, "HTTP 403")
}

// Everything that can be refused without STS is, with a reason, before
// any call (and before the cache, which the stale cases prove by having
// been verified once when they were fresh).
func TestMalformedHeadersAreRefusedWithoutSTS(t *testing.T) {
	sts := newTestSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	v := sts.verifier(func() time.Time { return d })
	good := decode(t, sign(t, sts.srv.URL, d, nil))
	with := func(k, val string) string {
		h := map[string]string{}
		for k, v := range good {
			h[k] = v
		}
		if val == "" {
			delete(h, k)
		} else {
			h[k] = val
		}
		return encode(t, h)
	}
	for _, tc := range []struct{ name, header, reason string }{
		{"empty", "", "no X-Caller-Identity header"},
		{"not base64", "%%%", "not base64"},
		{"not the JSON shape", base64.StdEncoding.EncodeToString([]byte(`{"headers": "x"}`)), `is not {"headers": {...}}`},
		{"no headers key", base64.StdEncoding.EncodeToString([]byte(`{}`)), `is not {"headers": {...}}`},
		{"no Authorization", with("Authorization", ""), "no SigV4 Authorization header"},
		{"not SigV4", with("Authorization", "Basic dXNlcjpwYXNz"), "no SigV4 Authorization header"},
		{"no audience", with(AudienceHeader, ""), "the audience header must be"},
		{"other audience", with(AudienceHeader, "another-service"), "the audience header must be"},
		{"unsigned audience", func() string {
			h := decode(t, sign(t, sts.srv.URL, d, map[string]string{AudienceHeader: ""}))
			h[AudienceHeader] = Audience
			return encode(t, h)
		}(), "must be signed"},
		{"date not signed", with("Authorization", "AWS4-HMAC-SHA256 Credential=ASIATESTKEY/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-tenant-manager-audience, Signature=00"), "must be signed"},
		{"no SignedHeaders", with("Authorization", "AWS4-HMAC-SHA256 Credential=x"), "no SignedHeaders"},
		{"bad date", with("X-Amz-Date", "yesterday"), "not a SigV4 date"},
		{"old date", sign(t, sts.srv.URL, d.Add(-5*time.Minute-time.Second), nil), "more than 5 minutes away"},
		{"future date", sign(t, sts.srv.URL, d.Add(5*time.Minute+time.Second), nil), "more than 5 minutes away"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.header)
			require.ErrorIs(t, err, ErrUnverifiable)
			require.ErrorContains(t, err, tc.reason)
		})
	}
	require.EqualValues(t, 0, sts.calls.Load())
}

func TestSTSOutageIsNotAnIdentityError(t *testing.T) {
	d := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"5xx", http.StatusServiceUnavailable, "", "STS answered 503"},
		{"no ARN", http.StatusOK, "<GetCallerIdentityResponse/>", "STS answer has no ARN"},
		{"not XML", http.StatusOK, "{}", "STS answer has no ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httpServer(t, tc.status, tc.body)
			v := &Verifier{STSEndpoint: srv, Now: func() time.Time { return d }}
			_, err := v.Verify(context.Background(), sign(t, srv, d, nil))
			require.ErrorContains(t, err, tc.want)
			require.False(t, errors.Is(err, ErrUnverifiable))
		})
	}
}

func TestSilentSTSFailsWithinTheClientTimeout(t *testing.T) {
	hole := blackHole(t)
	d := time.Now().UTC()
	v := &Verifier{STSEndpoint: hole, HTTP: &http.Client{Timeout: 300 * time.Millisecond}}
	start := time.Now()
	_, err := v.Verify(context.Background(), sign(t, hole, d, nil))
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrUnverifiable), "a silent STS is an outage (503), not a bad identity")
	require.Less(t, time.Since(start), 3*time.Second)
}

// httpServer answers every request with status and body.
func httpServer(t *testing.T, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// blackHole is a server that accepts connections and never answers.
func blackHole(t *testing.T) string { return "http://" + blackhole.Listen(t) }
