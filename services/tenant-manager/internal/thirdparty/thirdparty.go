// Package thirdparty checks a project's third-party auth configuration
// (OIDC issuers, JWKS URLs, inline key sets, Amazon Cognito user pools)
// before it is stored. The gateway later fetches key sets from these URLs
// inside the platform's network, so every URL must be https and name a
// host that resolves only to public addresses: otherwise a tenant could
// make the gateway call the metadata service, the tenant-manager or any
// other private endpoint. The tenant-manager itself never fetches them.
package thirdparty

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Bounds of an entry.
const (
	MaxURLLength = 2048 // the gateway refuses longer URLs
	MaxJWKSBytes = 32 << 10
	MaxJWKSKeys  = 20
	MaxExtraLen  = 256 // audience, client_id
	// ResolveTimeout bounds the DNS lookup of one URL's host.
	ResolveTimeout = 3 * time.Second
)

// Types of entry, as Supabase's ThirdPartyAuth.type.
const (
	TypeOIDC   = "oidc"   // keys from the issuer's discovery document
	TypeJWKS   = "jwks"   // keys from jwks_url
	TypeCustom = "custom" // keys given inline (custom_jwks)
)

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Error is a refused input: Field names the body field, Msg says why
// without quoting the value beyond its host.
type Error struct {
	Code, Field, Msg string
}

func (e *Error) Error() string { return e.Msg }

func bad(code, field, format string, a ...any) *Error {
	return &Error{Code: code, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Body is the create request: Supabase's CreateThirdPartyAuthBody plus the
// extension fields audience, client_id and token_use. A JSON null is the
// same as an absent field.
type Body struct {
	OIDCIssuerURL *string         `json:"oidc_issuer_url"`
	JWKSURL       *string         `json:"jwks_url"`
	CustomJWKS    json.RawMessage `json:"custom_jwks"`
	Audience      *string         `json:"audience"`
	ClientID      *string         `json:"client_id"`
	TokenUse      *string         `json:"token_use"`
}

// Entry is a checked configuration, ready to store.
type Entry struct {
	Type          string
	OIDCIssuerURL string
	JWKSURL       *string
	// CustomJWKS is the compact JSON {"keys": [...]}.
	CustomJWKS []byte
	Audience   *string
	ClientID   *string
	TokenUse   *string
}

// Checker validates bodies; Resolver nil means net.DefaultResolver.
type Checker struct {
	Resolver Resolver
	Timeout  time.Duration
}

// sharedIssuers sign ID tokens for every application that uses them; a
// token's audience is the only thing that says it was issued to this
// project's app.
var sharedIssuers = map[string]bool{
	"accounts.google.com": true, "login.microsoftonline.com": true, "appleid.apple.com": true,
	"token.actions.githubusercontent.com": true, "gitlab.com": true, "www.facebook.com": true,
	"oidc.eks.amazonaws.com": true, "securetoken.google.com": true,
}

func sharedIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return sharedIssuers[host] || strings.HasPrefix(host, "oidc.eks.") && strings.HasSuffix(host, ".amazonaws.com")
}

// Check validates a create body and resolves its URLs' hosts.
func (c *Checker) Check(ctx context.Context, b Body) (Entry, error) {
	var e Entry
	if b.OIDCIssuerURL == nil || *b.OIDCIssuerURL == "" {
		return e, bad("issuer_required", "oidc_issuer_url", `"oidc_issuer_url" is required: the gateway accepts a token only when its "iss" claim equals a configured issuer (give jwks_url or custom_jwks along with it to take the keys from there instead of the issuer's discovery document)`)
	}
	hasCustom := len(b.CustomJWKS) > 0 && string(b.CustomJWKS) != "null"
	if b.JWKSURL != nil && hasCustom {
		return e, bad("invalid_third_party_auth", "jwks_url", `give at most one of "jwks_url" and "custom_jwks"`)
	}
	cognito, err := checkCognito(*b.OIDCIssuerURL)
	if err != nil {
		return e, err
	}
	if err := c.CheckURL(ctx, "oidc_issuer_url", *b.OIDCIssuerURL); err != nil {
		return e, err
	}
	e.OIDCIssuerURL = *b.OIDCIssuerURL
	e.Type = TypeOIDC
	switch {
	case b.JWKSURL != nil:
		if err := c.CheckURL(ctx, "jwks_url", *b.JWKSURL); err != nil {
			return e, err
		}
		e.Type, e.JWKSURL = TypeJWKS, b.JWKSURL
	case hasCustom:
		jwks, err := CheckJWKS(b.CustomJWKS)
		if err != nil {
			return e, err
		}
		e.Type, e.CustomJWKS = TypeCustom, jwks
	}
	for field, v := range map[string]*string{"audience": b.Audience, "client_id": b.ClientID} {
		if v == nil {
			continue
		}
		if err := checkText(field, *v); err != nil {
			return e, err
		}
	}
	e.Audience, e.ClientID = b.Audience, b.ClientID
	if b.Audience == nil && sharedIssuer(e.OIDCIssuerURL) {
		return e, bad("audience_required", "audience", `this issuer signs tokens for every app that uses it: give "audience" (your app's client id) so that only tokens issued to your app are accepted`)
	}
	if b.TokenUse != nil {
		if !cognito {
			return e, bad("invalid_token_use", "token_use", `"token_use" applies to Amazon Cognito issuers (https://cognito-idp.{region}.amazonaws.com/{userPoolId}) only`)
		}
		if *b.TokenUse != "id" && *b.TokenUse != "access" {
			return e, bad("invalid_token_use", "token_use", `"token_use" must be "id" or "access"`)
		}
		e.TokenUse = b.TokenUse
	}
	return e, nil
}

func checkText(field, v string) error {
	if v == "" || len(v) > MaxExtraLen || strings.TrimSpace(v) != v {
		return bad("invalid_"+field, field, "%q must be 1 to %d characters without surrounding white space", field, MaxExtraLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return bad("invalid_"+field, field, "%q must not contain control characters", field)
		}
	}
	return nil
}

var (
	cognitoHostRe = regexp.MustCompile(`^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$`)
	// A user pool id is "{region}_{id}"; the gateway matches this form.
	cognitoPathRe = regexp.MustCompile(`^/([a-z0-9-]+)_([A-Za-z0-9]+)$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// checkCognito says whether issuer is an Amazon Cognito user pool, and
// refuses a Cognito host whose path is not exactly one user pool of the
// host's region: its tokens' iss would never equal it.
func checkCognito(issuer string) (bool, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return false, nil
	}
	m := cognitoHostRe.FindStringSubmatch(strings.ToLower(u.Host))
	if m == nil {
		return false, nil
	}
	const want = "https://cognito-idp.{region}.amazonaws.com/{userPoolId} (no trailing slash, e.g. https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyZ)"
	p := cognitoPathRe.FindStringSubmatch(u.Path)
	if u.Host != strings.ToLower(u.Host) || u.RawQuery != "" || u.Fragment != "" || p == nil || !regionRe.MatchString(m[1]) {
		return true, bad("invalid_cognito_issuer", "oidc_issuer_url", "an Amazon Cognito issuer must be %s", want)
	}
	if p[1] != m[1] {
		return true, bad("invalid_cognito_issuer", "oidc_issuer_url", "the user pool id's region (%s) differs from the host's (%s): an Amazon Cognito issuer must be %s", p[1], m[1], want)
	}
	return true, nil
}

// hostRe is a DNS name of at least two labels. Numeric last labels are
// refused so that forms such as 127.1 or 0x7f.1, which some resolvers
// read as IPv4 addresses, never pass as names.
var (
	labelRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	tldRe   = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
)

// CheckURL refuses a URL that is not https, carries credentials, a
// fragment or white space, names an IP address, or whose host does not
// resolve or resolves to any non-public address (see Blocked).
func (c *Checker) CheckURL(ctx context.Context, field, raw string) error {
	if len(raw) > MaxURLLength {
		return bad("invalid_url", field, "%q must be at most %d characters", field, MaxURLLength)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII {
			return bad("invalid_url", field, "%q must be an ASCII URL without white space or control characters", field)
		}
	}
	if !strings.HasPrefix(raw, "https://") {
		return bad("invalid_url", field, "%q must be an https:// URL (lower-case scheme)", field)
	}
	// The authority as the gateway sees it: an escape there must not be
	// decoded into a host other than the one the gateway's client asks
	// for. url.Parse refuses most such forms already; this does not depend
	// on it.
	authority := strings.TrimPrefix(raw, "https://")
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if strings.ContainsAny(authority, `%\`) {
		return bad("invalid_url", field, "%q must not escape characters in its host", field)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("invalid_url", field, "%q must be an absolute https URL", field)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return bad("invalid_url", field, "%q must not carry user information", field)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("invalid_url", field, "%q must not have a fragment", field)
	}
	host := u.Hostname()
	if port := u.Port(); port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return bad("invalid_url", field, "%q has an invalid port", field)
		}
	}
	if strings.HasPrefix(u.Host, "[") || net.ParseIP(host) != nil {
		return bad("ip_address_url", field, "%q must name its host by DNS name, not an IP address", field)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.Split(host, ".")
	if len(host) > 253 || len(labels) < 2 {
		return bad("invalid_url", field, "%q must name a fully qualified DNS host (e.g. login.example.com)", field)
	}
	for _, l := range labels {
		if !labelRe.MatchString(l) {
			return bad("invalid_url", field, "%q must name a valid DNS host", field)
		}
	}
	if !tldRe.MatchString(labels[len(labels)-1]) {
		return bad("ip_address_url", field, "%q must name its host by DNS name, not an IP address", field)
	}
	return c.checkResolves(ctx, field, host)
}

func parsePort(p string) (int, error) {
	if len(p) > 5 {
		return 0, errors.New("port too long")
	}
	n := 0
	for _, r := range p {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(r-'0')
	}
	if n > 65535 {
		return 0, errors.New("port out of range")
	}
	return n, nil
}

func (c *Checker) checkResolves(ctx context.Context, field, host string) error {
	res := c.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = ResolveTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := res.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		why := "does not resolve"
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && (dnsErr.IsTimeout || dnsErr.IsTemporary) || errors.Is(err, context.DeadlineExceeded) {
			why = "could not be resolved in time (retry later)"
		}
		return bad("unresolvable_host", field, "the host of %q (%s) %s", field, host, why)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return bad("unresolvable_host", field, "the host of %q (%s) resolves to an invalid address", field, host)
		}
		if reason := Blocked(ip); reason != "" {
			return bad("private_address_url", field, "the host of %q (%s) resolves to a %s address; only hosts with public addresses are allowed", field, host, reason)
		}
	}
	return nil
}

var blockedPrefixes = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "reserved (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved (IETF protocol assignments)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "reserved (6to4 relay)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "reserved (local NAT64)"},
	{netip.MustParsePrefix("100::/64"), "reserved (discard)"},
	{netip.MustParsePrefix("2001::/32"), "reserved (Teredo)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "reserved (site-local)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	v4Compatible = netip.MustParsePrefix("::/96")
)

// Blocked says why ip may not be fetched from ("" when it is public):
// loopback, private (RFC 1918, unique local), link-local (169.254/16 with
// the instance metadata service, fe80::/10), CGNAT, unspecified,
// multicast, and the other special-purpose ranges. IPv6 forms that embed
// an IPv4 address (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged
// by that address.
func Blocked(ip netip.Addr) string {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		case v4Compatible.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
			// Deprecated IPv4-compatible addresses.
			return Blocked(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
	}
	for _, b := range blockedPrefixes {
		if b.p.Contains(ip) {
			return b.reason
		}
	}
	if !ip.IsGlobalUnicast() {
		return "non-public"
	}
	return ""
}

// privateMembers are JWK members that hold private or symmetric key
// material; a key set holding any of them is refused (and never stored).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// CheckJWKS validates an inline key set: {"keys": [...]} (or a JSON string
// holding one), at most MaxJWKSKeys public RSA (2048 to 4096 bits) or EC
// P-256 signing keys, the only kinds the gateway verifies with, no private
// members, distinct kids, at most MaxJWKSBytes. It returns the compact set.
func CheckJWKS(raw json.RawMessage) ([]byte, error) {
	const field = "custom_jwks"
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	if len(raw) > MaxJWKSBytes {
		return nil, bad("invalid_custom_jwks", field, "%q must be at most %d bytes", field, MaxJWKSBytes)
	}
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	// Other top-level members are allowed by the JWK Set format and
	// dropped: the gateway reads only keys.
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&set); err != nil || dec.More() || set.Keys == nil {
		return nil, bad("invalid_custom_jwks", field, `%q must be a JSON Web Key Set: {"keys": [ ... ]}`, field)
	}
	if len(set.Keys) == 0 || len(set.Keys) > MaxJWKSKeys {
		return nil, bad("invalid_custom_jwks", field, "%q must hold 1 to %d keys", field, MaxJWKSKeys)
	}
	kids := map[string]bool{}
	for i, k := range set.Keys {
		where := fmt.Sprintf("%s.keys[%d]", field, i)
		if k == nil {
			return nil, bad("invalid_custom_jwks", field, "%s must be an object", where)
		}
		for _, m := range privateMembers {
			if _, ok := k[m]; ok {
				return nil, bad("private_key_in_jwks", field, "%s holds the private or symmetric member %q: give public keys only", where, m)
			}
		}
		str := func(name string) (string, bool, error) {
			v, ok := k[name]
			if !ok {
				return "", false, nil
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return "", true, bad("invalid_custom_jwks", field, "%s.%s must be a string", where, name)
			}
			return s, true, nil
		}
		kty, _, err := str("kty")
		if err != nil {
			return nil, err
		}
		alg, hasAlg, err := str("alg")
		if err != nil {
			return nil, err
		}
		if use, ok, err := str("use"); err != nil {
			return nil, err
		} else if ok && use != "sig" {
			return nil, bad("invalid_custom_jwks", field, `%s.use must be "sig"`, where)
		}
		if kid, ok, err := str("kid"); err != nil {
			return nil, err
		} else if ok {
			if kid == "" || kids[kid] {
				return nil, bad("invalid_custom_jwks", field, "%s.kid must be non-empty and unique in the set", where)
			}
			kids[kid] = true
		}
		b64 := func(name string) ([]byte, error) {
			s, ok, err := str(name)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, bad("invalid_custom_jwks", field, "%s.%s is required", where, name)
			}
			v, err := base64.RawURLEncoding.Strict().DecodeString(s)
			if err != nil || len(v) == 0 {
				return nil, bad("invalid_custom_jwks", field, "%s.%s must be base64url without padding", where, name)
			}
			return v, nil
		}
		switch kty {
		case "RSA":
			if hasAlg && alg != "RS256" {
				return nil, bad("invalid_custom_jwks", field, `%s.alg must be "RS256" for an RSA key (the gateway verifies RS256 and ES256 only)`, where)
			}
			n, err := b64("n")
			if err != nil {
				return nil, err
			}
			e, err := b64("e")
			if err != nil {
				return nil, err
			}
			bits := new(big.Int).SetBytes(n).BitLen()
			ev := new(big.Int).SetBytes(e)
			if bits < 2048 || bits > 4096 {
				return nil, bad("invalid_custom_jwks", field, "%s is an RSA key of %d bits; 2048 to 4096 are accepted", where, bits)
			}
			if ev.Cmp(big.NewInt(3)) < 0 || ev.Bit(0) == 0 || ev.BitLen() > 32 {
				return nil, bad("invalid_custom_jwks", field, "%s.e is not a valid RSA public exponent", where)
			}
		case "EC":
			if hasAlg && alg != "ES256" {
				return nil, bad("invalid_custom_jwks", field, `%s.alg must be "ES256" for an EC key (the gateway verifies RS256 and ES256 only)`, where)
			}
			if crv, _, err := str("crv"); err != nil {
				return nil, err
			} else if crv != "P-256" {
				return nil, bad("invalid_custom_jwks", field, `%s.crv must be "P-256"`, where)
			}
			x, err := b64("x")
			if err != nil {
				return nil, err
			}
			y, err := b64("y")
			if err != nil {
				return nil, err
			}
			if len(x) != 32 || len(y) != 32 {
				return nil, bad("invalid_custom_jwks", field, "%s.x and .y must be 32 bytes each for P-256", where)
			}
			if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
				return nil, bad("invalid_custom_jwks", field, "%s is not a point on P-256", where)
			}
		default:
			return nil, bad("invalid_custom_jwks", field, `%s.kty must be "RSA" or "EC" (public signing keys; symmetric keys are not accepted)`, where)
		}
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, bad("invalid_custom_jwks", field, "%q could not be encoded", field)
	}
	return out, nil
}
