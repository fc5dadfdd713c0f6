// Package callerid verifies the X-Caller-Identity header of SPEC §6.6: a
// caller's signed STS GetCallerIdentity request, replayed here to the fixed
// STS endpoint. STS checks the signature and answers with the caller's ARN.
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
	Header         = "X-Caller-Identity"
	AudienceHeader = "X-Tenant-Manager-Audience"
	Audience       = "tenant-manager"
	body           = "Action=GetCallerIdentity&Version=2011-06-15"
	contentType    = "application/x-www-form-urlencoded; charset=utf-8"
	maxSkew        = 5 * time.Minute
	cacheFor       = 5 * time.Minute
)

// ErrUnverifiable is returned (wrapped with the reason) for anything that
// does not prove an identity: the API answers 401.
var ErrUnverifiable = errors.New("caller identity cannot be verified")

// Verifier checks identities against one STS endpoint.
type Verifier struct {
	STSEndpoint string
	HTTP        *http.Client
	Now         func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	arn     string
	expires time.Time
}

var signedHeadersRe = regexp.MustCompile(`SignedHeaders=([a-z0-9;-]+)`)

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnverifiable, fmt.Sprintf(format, args...))
}

// Verify returns the caller's ARN (e.g.
// arn:aws:sts::123456789012:assumed-role/role-name/session).
func (v *Verifier) Verify(ctx context.Context, header string) (string, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if header == "" {
		return "", fail("no %s header", Header)
	}
	key := sha256.Sum256([]byte(header))
	v.mu.Lock()
	if c, ok := v.cache[key]; ok && now().Before(c.expires) {
		v.mu.Unlock()
		return c.arn, nil
	}
	v.mu.Unlock()

	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return "", fail("%s is not base64", Header)
	}
	var p struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Headers == nil {
		return "", fail(`%s is not {"headers": {...}}`, Header)
	}
	h := map[string]string{}
	for k, val := range p.Headers {
		h[http.CanonicalHeaderKey(k)] = val
	}
	auth := h["Authorization"]
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return "", fail("no SigV4 Authorization header")
	}
	if h[AudienceHeader] != Audience {
		return "", fail("the audience header must be %q", Audience)
	}
	m := signedHeadersRe.FindStringSubmatch(auth)
	if m == nil {
		return "", fail("no SignedHeaders in the Authorization header")
	}
	signed := map[string]bool{}
	for _, s := range strings.Split(m[1], ";") {
		signed[s] = true
	}
	if !signed["x-tenant-manager-audience"] || !signed["host"] || !signed["x-amz-date"] {
		return "", fail("host, x-amz-date and x-tenant-manager-audience must be signed")
	}
	date, err := time.Parse("20060102T150405Z", h["X-Amz-Date"])
	if err != nil {
		return "", fail("X-Amz-Date is not a SigV4 date")
	}
	if d := now().Sub(date); d > maxSkew || d < -maxSkew {
		return "", fail("X-Amz-Date is more than 5 minutes away from now")
	}

	// The request is rebuilt here: fixed endpoint, fixed body; only the
	// signature headers come from the caller.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.STSEndpoint, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/xml")
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", AudienceHeader} {
		if val := h[k]; val != "" {
			req.Header.Set(k, val)
		}
	}
	resp, err := v.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("calling STS: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
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
	v.mu.Lock()
	if v.cache == nil {
		v.cache = map[[32]byte]cached{}
	}
	if len(v.cache) > 10000 {
		v.cache = map[[32]byte]cached{}
	}
	v.cache[key] = cached{arn: out.Arn, expires: now().Add(cacheFor)}
	v.mu.Unlock()
	return out.Arn, nil
}

// Role is what an ARN says: account, role name and session name.
type Role struct {
	Account, Name, Session string
}

var assumedRe = regexp.MustCompile(`^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([^/]+)/(.+)$`)
var roleRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$`)

// AssumedRole parses an STS assumed-role ARN.
func AssumedRole(arn string) (Role, bool) {
	m := assumedRe.FindStringSubmatch(arn)
	if m == nil {
		return Role{}, false
	}
	return Role{Account: m[1], Name: m[2], Session: m[3]}, true
}

// IAMRole parses an IAM role ARN (the configured GATEWAY_ROLE_ARN and
// TENANT_LAMBDA_ROLE_ARN) into account and name.
func IAMRole(arn string) (Role, bool) {
	m := roleRe.FindStringSubmatch(arn)
	if m == nil {
		return Role{}, false
	}
	return Role{Account: m[1], Name: m[2]}, true
}
