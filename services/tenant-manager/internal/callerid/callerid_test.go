package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"
)

const testARN = "arn:aws:sts::123456789012:assumed-role/kong-task-role/kong"

var testCreds = aws.Credentials{AccessKeyID: "ASIATESTKEY", SecretAccessKey: "test-secret-key", SessionToken: "test-session-token"}

// strictSTS answers GetCallerIdentity only when the SigV4 signature of the
// request it receives is right: it re-signs the signed headers it got with
// the caller's key and compares. A signed header the verifier failed to
// forward therefore makes it refuse, as AWS STS does.
type strictSTS struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newStrictSTS(t *testing.T) *strictSTS {
	s := &strictSTS{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		data, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		m := signedHeadersRe.FindStringSubmatch(auth)
		date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if m == nil || err != nil || string(data) != body {
			http.Error(w, "<Error><Code>InvalidRequest</Code></Error>", http.StatusBadRequest)
			return
		}
		again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
		for _, h := range strings.Split(m[1], ";") {
			if h != "host" {
				again.Header.Set(h, r.Header.Get(h))
			}
		}
		sum := sha256.Sum256(data)
		require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, again, hex.EncodeToString(sum[:]), "sts", "us-east-1", date))
		if again.Header.Get("Authorization") != auth {
			http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>%s</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`, testARN)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// sign makes an X-Caller-Identity for endpoint, signed at `at`, with extra
// signed headers.
func sign(t *testing.T, endpoint string, at time.Time, extra map[string]string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(AudienceHeader, Audience)
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", at))
	h := map[string]string{}
	for k := range req.Header {
		h[k] = req.Header.Get(k)
	}
	b, err := json.Marshal(map[string]any{"headers": h})
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestCacheNeverOutlivesTheSignedDate(t *testing.T) {
	sts := newStrictSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{}
	v := &Verifier{STSEndpoint: sts.srv.URL, HTTP: sts.srv.Client(), Now: clk.Now}
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
	sts := newStrictSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{t: d}
	v := &Verifier{STSEndpoint: sts.srv.URL, HTTP: sts.srv.Client(), Now: clk.Now}
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
	sts := newStrictSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	clk := &clock{t: d}
	v := &Verifier{STSEndpoint: sts.srv.URL, HTTP: sts.srv.Client(), Now: clk.Now}
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
	sts := newStrictSTS(t)
	d := time.Now().UTC().Truncate(time.Second)
	v := &Verifier{STSEndpoint: sts.srv.URL, HTTP: sts.srv.Client(), Now: func() time.Time { return d }}

	_, err := v.Verify(context.Background(), sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: d.Add(-time.Second).Format(time.RFC3339)}))
	require.ErrorIs(t, err, ErrUnverifiable, "credentials already expired")
	_, err = v.Verify(context.Background(), sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: "tomorrow"}))
	require.ErrorIs(t, err, ErrUnverifiable, "not RFC 3339")
	require.EqualValues(t, 0, sts.calls.Load(), "refused without asking STS")

	// An unsigned copy proves nothing: it neither shortens nor extends
	// anything and is not sent to STS.
	h := sign(t, sts.srv.URL, d, nil)
	raw, _ := base64.StdEncoding.DecodeString(h)
	var p map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &p))
	p["headers"][ExpirationHeader] = d.Add(-time.Hour).Format(time.RFC3339)
	b, _ := json.Marshal(p)
	_, err = v.Verify(context.Background(), base64.StdEncoding.EncodeToString(b))
	require.NoError(t, err)

	// Tampering with a signed expiration breaks the signature.
	h = sign(t, sts.srv.URL, d, map[string]string{ExpirationHeader: d.Add(time.Minute).Format(time.RFC3339)})
	raw, _ = base64.StdEncoding.DecodeString(h)
	require.NoError(t, json.Unmarshal(raw, &p))
	p["headers"][ExpirationHeader] = d.Add(time.Hour).Format(time.RFC3339)
	b, _ = json.Marshal(p)
	_, err = v.Verify(context.Background(), base64.StdEncoding.EncodeToString(b))
	require.ErrorIs(t, err, ErrUnverifiable)
	require.ErrorContains(t, err, "HTTP 403")
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

// blackHole accepts connections and never answers.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}
