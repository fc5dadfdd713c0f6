// Package crosscheck compares the Kong plugin's Lua JWT and SigV4 code with
// independent implementations: golang-jwt and aws-sdk-go-v2's v4 signer.
package crosscheck

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid"
)

// lua runs sign.lua over the inputs (one JSON object each) and returns
// its outputs in order.
func lua(t *testing.T, inputs []any) []map[string]any {
	t.Helper()
	return runLua(t, "sign.lua", inputs)
}

// runLua runs crosscheck/script with luajit from services/kong (where
// kong/plugins/... resolves), one JSON input per line on its stdin, and
// returns its JSON output lines, one per input.
func runLua[T any](t *testing.T, script string, inputs []T) []map[string]any {
	t.Helper()
	var in strings.Builder
	for _, x := range inputs {
		b, err := json.Marshal(x)
		require.NoError(t, err)
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command("luajit", filepath.Join("crosscheck", script))
	cmd.Dir = ".."
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("luajit: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	var res []map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		res = append(res, m)
	}
	require.Len(t, res, len(inputs))
	return res
}

func TestJWTVerifiesWithGolangJWT(t *testing.T) {
	secret := "super-secret-jwt-token-with-at-least-32-characters-long"
	iat := time.Now().Unix()
	claims := map[string]any{"iss": "supabase", "ref": "acme-prod", "role": "anon", "iat": iat, "exp": iat + 300}
	out := lua(t, []any{map[string]any{"kind": "jwt", "claims": claims, "secret": secret}})
	token := out[0]["token"].(string)

	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	for _, p := range parts {
		require.NotContains(t, p, "=", "base64url without padding")
		require.NotContains(t, p, "+")
		require.NotContains(t, p, "/")
	}
	parsed, err := jwt.Parse(token, func(tok *jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("supabase"), jwt.WithIssuedAt())
	require.NoError(t, err)
	require.Equal(t, map[string]any{"alg": "HS256", "typ": "JWT"}, parsed.Header)
	got := parsed.Claims.(jwt.MapClaims)
	require.Equal(t, jwt.MapClaims{"iss": "supabase", "ref": "acme-prod", "role": "anon", "iat": float64(iat), "exp": float64(iat + 300)}, got)

	_, err = jwt.Parse(token, func(tok *jwt.Token) (any, error) { return []byte("another-secret"), nil }, jwt.WithValidMethods([]string{"HS256"}))
	require.ErrorIs(t, err, jwt.ErrTokenSignatureInvalid)

	expired := lua(t, []any{map[string]any{"kind": "jwt", "claims": map[string]any{"iss": "supabase", "ref": "x", "role": "anon", "iat": iat - 600, "exp": iat - 300}, "secret": secret}})
	_, err = jwt.Parse(expired[0]["token"].(string), func(tok *jwt.Token) (any, error) { return []byte(secret), nil })
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
}

// sigReq is one request in the form sigv4.lua takes.
type sigReq struct {
	Method  string            `json:"method"`
	Host    string            `json:"host"`
	Path    string            `json:"path"`
	Query   url.Values        `json:"query,omitempty"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type creds struct {
	AccessKey    string `json:"access_key"`
	SecretKey    string `json:"secret_key"`
	SessionToken string `json:"session_token,omitempty"`
}

type opts struct {
	Region  string `json:"region"`
	Service string `json:"service"`
	Now     int64  `json:"now"`
}

// goSign signs the same request with aws-sdk-go-v2.
func goSign(t *testing.T, r sigReq, c creds, o opts, decodedPath string) http.Header {
	t.Helper()
	u := &url.URL{Scheme: "https", Host: r.Host, Path: decodedPath, RawPath: r.Path}
	if r.Query != nil {
		u.RawQuery = r.Query.Encode()
	}
	req, err := http.NewRequest(r.Method, u.String(), strings.NewReader(r.Body))
	require.NoError(t, err)
	req.URL = u
	if r.Body == "" {
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, "content-length") {
			continue // net/http carries it as ContentLength
		}
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(r.Body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken},
		req, hex.EncodeToString(sum[:]), o.Service, o.Region, time.Unix(o.Now, 0).UTC())
	require.NoError(t, err)
	return req.Header
}

// Characters that make canonicalization interesting: reserved, unicode,
// spaces, percent signs.
var segmentRunes = []rune("abcXYZ019-._~!*'();:@&=+$, %[]é漢ሴ😀")

func randString(r *rand.Rand, runes []rune, min, max int) string {
	n := min + r.Intn(max-min+1)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(runes[r.Intn(len(runes))])
	}
	return b.String()
}

func TestSigV4MatchesAwsSdkGoV2(t *testing.T) {
	rng := rand.New(rand.NewSource(20261122))
	alnum := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	type tc struct {
		req     sigReq
		creds   creds
		opts    opts
		decoded string
	}
	var cases []tc
	for i := 0; i < 80; i++ {
		var segs, wire []string
		for j := 0; j < 1+rng.Intn(4); j++ {
			s := randString(rng, segmentRunes, 1, 8)
			segs = append(segs, s)
			wire = append(wire, url.PathEscape(s))
		}
		r := sigReq{
			Method:  methods[rng.Intn(len(methods))],
			Host:    fmt.Sprintf("abc%d.lambda-url.eu-west-1.on.aws", i),
			Path:    "/" + strings.Join(wire, "/"),
			Headers: map[string]string{"X-Client-Authorization": "Bearer eyJ" + randString(rng, alnum, 10, 40)},
		}
		if rng.Intn(3) > 0 {
			r.Query = url.Values{}
			// Keys start with distinct alphanumerics, so sorting by encoded
			// key (AWS's rule) and by decoded key (the SDK's) agree.
			firsts := rng.Perm(len(alnum))
			for k := 0; k < 1+rng.Intn(4); k++ {
				key := string(alnum[firsts[k]]) + randString(rng, segmentRunes, 0, 5)
				vfirsts := rng.Perm(len(alnum))
				for v := 0; v < 1+rng.Intn(3); v++ { // repeated keys
					val := ""
					if rng.Intn(5) > 0 {
						val = string(alnum[vfirsts[v]]) + randString(rng, segmentRunes, 0, 6)
					}
					r.Query.Add(key, val)
				}
			}
		}
		if rng.Intn(2) == 0 {
			r.Headers["X-Custom-"+fmt.Sprint(i)] = "  spaced   out\tvalue  "
		}
		if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
			if rng.Intn(4) > 0 {
				r.Body = `{"name":"` + randString(rng, segmentRunes, 0, 30) + `"}`
				r.Headers["Content-Type"] = "application/json"
				r.Headers["Content-Length"] = fmt.Sprint(len(r.Body))
			}
		}
		c := creds{AccessKey: "ASIA" + randString(rng, alnum, 16, 16), SecretKey: randString(rng, alnum, 40, 40)}
		if rng.Intn(2) == 0 {
			c.SessionToken = "IQoJb3JpZ2luX2VjE" + randString(rng, alnum, 100, 300)
		}
		o := opts{Region: "eu-west-1", Service: "lambda", Now: 1763800000 + int64(rng.Intn(100000000))}
		cases = append(cases, tc{r, c, o, "/" + strings.Join(segs, "/")})
	}
	inputs := make([]any, len(cases))
	for i, c := range cases {
		inputs[i] = map[string]any{"kind": "sigv4", "request": c.req, "credentials": c.creds, "opts": c.opts}
	}
	out := lua(t, inputs)
	for i, c := range cases {
		want := goSign(t, c.req, c.creds, c.opts, c.decoded)
		got := out[i]["headers"].(map[string]any)
		require.Equal(t, want.Get("Authorization"), got["Authorization"], "case %d: %+v", i, c.req)
		require.Equal(t, want.Get("X-Amz-Date"), got["X-Amz-Date"], "case %d", i)
		if c.creds.SessionToken != "" {
			require.Equal(t, c.creds.SessionToken, got["X-Amz-Security-Token"], "case %d", i)
		} else {
			require.Nil(t, got["X-Amz-Security-Token"], "case %d", i)
		}
	}
}

// The caller identity: the STS GetCallerIdentity request the gateway signs
// (identity.lua) must be exactly what the Go signer of services/callerid
// (aws-sdk-go-v2's v4 signer) makes, so that STS accepts it when the
// tenant-manager replays it; with expiring
// credentials the expiration header is among the signed ones.
func TestCallerIdentityRequestMatchesSdk(t *testing.T) {
	now := time.Now().Unix()
	expiration := time.Unix(now, 0).UTC().Add(6 * time.Hour)
	c := creds{AccessKey: "ASIAEXAMPLE", SecretKey: "secret", SessionToken: "token"}
	for _, expiring := range []bool{true, false} {
		cred := map[string]any{"access_key": c.AccessKey, "secret_key": c.SecretKey, "session_token": c.SessionToken}
		if expiring {
			cred["expiration"] = expiration.Unix()
		}
		out := lua(t, []any{map[string]any{"kind": "identity", "now": now, "credentials": cred,
			"opts": map[string]any{"sts_endpoint": "https://sts.eu-west-1.amazonaws.com", "region": "eu-west-1"}}})
		got := map[string]string{}
		for k, v := range out[0]["headers"].(map[string]any) {
			got[k] = v.(string)
		}

		want := []string{"Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Tenant-Manager-Audience"}
		if expiring {
			want = append(want, "X-Tenant-Manager-Credential-Expiration")
			parsed, err := time.Parse(time.RFC3339, got["X-Tenant-Manager-Credential-Expiration"])
			require.NoError(t, err)
			require.Equal(t, expiration, parsed)
			require.True(t, strings.HasSuffix(got["X-Tenant-Manager-Credential-Expiration"], "Z"), "UTC")
		}
		var names []string
		for k := range got {
			names = append(names, k)
		}
		require.ElementsMatch(t, want, names)

		// The Go side of the protocol (services/callerid, which signs with
		// aws-sdk-go-v2's v4 signer and whose output the tenant-manager's
		// verifier is tested against) signs the same credentials at the
		// same second: the gateway's headers must be exactly its headers.
		sdkCreds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken}
		if expiring {
			sdkCreds.CanExpire, sdkCreds.Expires = true, expiration
		}
		header, err := callerid.Sign(context.Background(), sdkCreds, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", time.Unix(now, 0))
		require.NoError(t, err)
		raw, err := base64.StdEncoding.DecodeString(header)
		require.NoError(t, err)
		var sdk callerid.Payload
		require.NoError(t, json.Unmarshal(raw, &sdk))
		require.Equal(t, sdk.Headers, got)
		signed := "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience,"
		if expiring {
			signed = "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-tenant-manager-audience;x-tenant-manager-credential-expiration,"
		}
		require.Contains(t, got["Authorization"], signed)
	}
}

// The JWT names its key, as golang-jwt sees it.
func TestJWTCarriesKid(t *testing.T) {
	secret := "super-secret-jwt-token-with-at-least-32-characters-long"
	iat := time.Now().Unix()
	claims := map[string]any{"iss": "supabase", "ref": "acme-prod", "role": "anon", "iat": iat, "exp": iat + 300}
	out := lua(t, []any{map[string]any{"kind": "jwt", "claims": claims, "secret": secret, "kid": "0b6f3c2e-4a51-4c1e-9d1a-5b2f6f0c9e11"}})
	parsed, err := jwt.Parse(out[0]["token"].(string), func(tok *jwt.Token) (any, error) {
		require.Equal(t, "0b6f3c2e-4a51-4c1e-9d1a-5b2f6f0c9e11", tok.Header["kid"])
		return []byte(secret), nil
	}, jwt.WithValidMethods([]string{"HS256"}))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "0b6f3c2e-4a51-4c1e-9d1a-5b2f6f0c9e11"}, parsed.Header)
}
