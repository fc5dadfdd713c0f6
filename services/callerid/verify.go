package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

const (
	defaultTimeout = 10 * time.Second
	maxCached      = 10000
	maxSTSAnswer   = 64 << 10
)

// ErrUnverifiable is returned (wrapped with the reason) for anything that
// does not prove an identity; other errors mean STS could not be asked or
// answered nonsense, an outage rather than a bad caller.
var ErrUnverifiable = errors.New("caller identity cannot be verified")

// Verifier checks identities against one STS endpoint. The zero value of
// everything but STSEndpoint is usable; a Verifier is safe for concurrent
// use and must not be copied after first use.
type Verifier struct {
	STSEndpoint string
	// HTTP calls STS; nil means a client with a 10 s timeout. Give it a
	// timeout: a silent STS must not hold requests open.
	HTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	arn     string
	expires time.Time
}

var (
	signedHeadersRe = regexp.MustCompile(`SignedHeaders=([a-z0-9;-]+)`)
	defaultClient   = &http.Client{Timeout: defaultTimeout}
)

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnverifiable, fmt.Sprintf(format, args...))
}

// claim is what a header says before STS has checked it.
type claim struct {
	headers map[string]string // canonical names
	signed  map[string]bool   // lower-case names
	// validUntil is when the header stops being acceptable: X-Amz-Date +
	// MaxSkew, or the signed credential expiration when that is earlier.
	validUntil time.Time
}

// parse checks everything that needs no STS call, so that a stale or
// expired header is refused before the cache is consulted.
func parse(header string, now time.Time) (*claim, error) {
	if header == "" {
		return nil, fail("no %s header", Header)
	}
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return nil, fail("%s is not base64", Header)
	}
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil || p.Headers == nil {
		return nil, fail(`%s is not {"headers": {...}}`, Header)
	}
	c := &claim{headers: map[string]string{}, signed: map[string]bool{}}
	for k, val := range p.Headers {
		c.headers[http.CanonicalHeaderKey(k)] = val
	}
	auth := c.headers["Authorization"]
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return nil, fail("no SigV4 Authorization header")
	}
	if c.headers[AudienceHeader] != Audience {
		return nil, fail("the audience header must be %q", Audience)
	}
	m := signedHeadersRe.FindStringSubmatch(auth)
	if m == nil {
		return nil, fail("no SignedHeaders in the Authorization header")
	}
	for _, s := range strings.Split(m[1], ";") {
		c.signed[s] = true
	}
	if !c.signed[strings.ToLower(AudienceHeader)] || !c.signed["host"] || !c.signed["x-amz-date"] {
		return nil, fail("host, x-amz-date and x-tenant-manager-audience must be signed")
	}
	date, err := time.Parse(amzDateFormat, c.headers["X-Amz-Date"])
	if err != nil {
		return nil, fail("X-Amz-Date is not a SigV4 date")
	}
	if d := now.Sub(date); d > MaxSkew || d < -MaxSkew {
		return nil, fail("X-Amz-Date is more than 5 minutes away from now")
	}
	c.validUntil = date.Add(MaxSkew)
	// An unsigned expiration could be anything, so only a signed one counts.
	if c.signed[strings.ToLower(ExpirationHeader)] {
		exp, err := time.Parse(time.RFC3339, c.headers[ExpirationHeader])
		if err != nil {
			return nil, fail("%s is signed but not an RFC 3339 time", ExpirationHeader)
		}
		if !now.Before(exp) {
			return nil, fail("the credentials that signed %s expired at %s", Header, exp.UTC().Format(time.RFC3339))
		}
		if exp.Before(c.validUntil) {
			c.validUntil = exp
		}
	}
	return c, nil
}

// Verify returns the caller's ARN (e.g.
// arn:aws:sts::123456789012:assumed-role/role-name/session).
func (v *Verifier) Verify(ctx context.Context, header string) (string, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	c, err := parse(header, now())
	if err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(header))
	v.mu.Lock()
	if e, ok := v.cache[key]; ok && now().Before(e.expires) {
		v.mu.Unlock()
		return e.arn, nil
	}
	v.mu.Unlock()

	// The request is rebuilt here: fixed endpoint, fixed body; only the
	// signature headers come from the caller.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.STSEndpoint, strings.NewReader(Body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Accept", "application/xml")
	forward := []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", AudienceHeader}
	if c.signed[strings.ToLower(ExpirationHeader)] {
		forward = append(forward, ExpirationHeader)
	}
	for _, k := range forward {
		if val := c.headers[k]; val != "" {
			req.Header.Set(k, val)
		}
	}
	client := v.HTTP
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("calling STS: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxSTSAnswer))
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode >= 500 {
			return "", fmt.Errorf("STS answered %d", resp.StatusCode)
		}
		return "", fail("STS refused the signature (HTTP %d)", resp.StatusCode)
	}
	var out struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := xml.Unmarshal(data, &out); err != nil || out.Arn == "" {
		return "", fmt.Errorf("STS answer has no ARN")
	}
	// A verification is reused for at most CacheFor, and never past the
	// header's own validity, so a captured header cannot outlive the
	// window it was signed for.
	expires := now().Add(CacheFor)
	if c.validUntil.Before(expires) {
		expires = c.validUntil
	}
	v.mu.Lock()
	if v.cache == nil || len(v.cache) >= maxCached {
		v.cache = map[[32]byte]cached{}
	}
	v.cache[key] = cached{arn: out.Arn, expires: expires}
	v.mu.Unlock()
	return out.Arn, nil
}
