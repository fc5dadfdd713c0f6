package thirdparty

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeResolver answers from a table; a name not in it does not exist.
type fakeResolver struct {
	hosts   map[string][]string
	asked   []string
	blockOn string // this name hangs until the context ends
}

func (f *fakeResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	f.asked = append(f.asked, host)
	if host == f.blockOn {
		<-ctx.Done()
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	ips, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func newFake() *fakeResolver {
	return &fakeResolver{hosts: map[string][]string{
		"login.example.com":                   {"93.184.215.14"},
		"keys.example.com":                    {"2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"cognito-idp.eu-west-1.amazonaws.com": {"52.95.112.1"},
		"localhost.example.com":               {"127.0.0.1"},
		"metadata.example.com":                {"169.254.169.254"},
		"ten.example.com":                     {"10.1.2.3"},
		"oneseventwo.example.com":             {"172.20.0.5"},
		"oneninetwo.example.com":              {"192.168.1.1"},
		"cgnat.example.com":                   {"100.64.0.1"},
		"zero.example.com":                    {"0.0.0.0"},
		"multicast.example.com":               {"239.1.1.1"},
		"ula.example.com":                     {"fd00:ec2::254"},
		"v6loop.example.com":                  {"::1"},
		"v6linklocal.example.com":             {"fe80::1"},
		"mapped.example.com":                  {"::ffff:127.0.0.1"},
		"nat64.example.com":                   {"64:ff9b::a9fe:a9fe"},
		"sixtofour.example.com":               {"2002:0a00:0001::1"},
		"mixed.example.com":                   {"93.184.215.14", "10.0.0.1"},
		"empty.example.com":                   {},
		"tenant-manager.kong.local":           {"10.0.3.7"},
		"accounts.google.com":                 {"142.250.74.45"},
	}}
}

func TestCheckURLRefusesUnsafeURLs(t *testing.T) {
	cases := []struct {
		url, code string
	}{
		{"http://login.example.com", "invalid_url"},
		{"HTTPS://login.example.com", "invalid_url"},
		{"ftp://login.example.com", "invalid_url"},
		{"login.example.com", "invalid_url"},
		{"https://", "invalid_url"},
		{"https://user:pw@login.example.com/", "invalid_url"},
		{"https://login.example.com/#frag", "invalid_url"},
		{"https://login.example.com/a b", "invalid_url"},
		{"https://login.example.com:99999/", "invalid_url"},
		{"https://" + strings.Repeat("a", MaxURLLength) + ".com", "invalid_url"},
		{"https://localhost/", "invalid_url"},
		{"https://%31%32%37.0.0.1/", "invalid_url"},
		{"https://login%2eexample.com/", "invalid_url"},
		{`https://login.example.com\@10.0.0.1/`, "invalid_url"},
		{"https://bad_label.example.com/", "invalid_url"},
		{"https://127.0.0.1/", "ip_address_url"},
		{"https://169.254.169.254/latest/meta-data/", "ip_address_url"},
		{"https://[::1]/", "ip_address_url"},
		{"https://[fd00:ec2::254]/", "ip_address_url"},
		{"https://127.1/", "ip_address_url"},
		{"https://0x7f.0.0.1/", "ip_address_url"},
		{"https://10.0.0.1:8443/jwks", "ip_address_url"},
		{"https://localhost.example.com/", "private_address_url"},
		{"https://metadata.example.com/", "private_address_url"},
		{"https://ten.example.com/", "private_address_url"},
		{"https://oneseventwo.example.com/", "private_address_url"},
		{"https://oneninetwo.example.com/", "private_address_url"},
		{"https://cgnat.example.com/", "private_address_url"},
		{"https://zero.example.com/", "private_address_url"},
		{"https://multicast.example.com/", "private_address_url"},
		{"https://ula.example.com/", "private_address_url"},
		{"https://v6loop.example.com/", "private_address_url"},
		{"https://v6linklocal.example.com/", "private_address_url"},
		{"https://mapped.example.com/", "private_address_url"},
		{"https://nat64.example.com/", "private_address_url"},
		{"https://sixtofour.example.com/", "private_address_url"},
		{"https://mixed.example.com/", "private_address_url"},
		{"https://tenant-manager.kong.local:8081/project/x/config", "private_address_url"},
		{"https://nowhere.example.com/", "unresolvable_host"},
		{"https://empty.example.com/", "unresolvable_host"},
	}
	c := &Checker{Resolver: newFake()}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			err := c.CheckURL(context.Background(), "jwks_url", tc.url)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.code, e.Code, e.Msg)
			require.Equal(t, "jwks_url", e.Field)
			require.NotContains(t, e.Msg, "pw", "credentials never echoed")
		})
	}
}

func TestCheckURLAcceptsPublicHosts(t *testing.T) {
	f := newFake()
	c := &Checker{Resolver: f}
	for _, u := range []string{
		"https://login.example.com",
		"https://login.example.com/",
		"https://login.example.com:8443/realms/app",
		"https://keys.example.com/.well-known/jwks.json?v=2",
		"https://LOGIN.example.com./",
	} {
		require.NoError(t, c.CheckURL(context.Background(), "oidc_issuer_url", u), u)
	}
	require.Contains(t, f.asked, "login.example.com")
}

func TestCheckURLTimesOut(t *testing.T) {
	f := newFake()
	f.blockOn = "slow.example.com"
	c := &Checker{Resolver: f, Timeout: 50 * time.Millisecond}
	start := time.Now()
	err := c.CheckURL(context.Background(), "oidc_issuer_url", "https://slow.example.com/")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "unresolvable_host", e.Code)
	require.Contains(t, e.Msg, "in time")
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestBlocked(t *testing.T) {
	for ip, blocked := range map[string]bool{
		"8.8.8.8": false, "93.184.215.14": false, "2606:4700::1111": false,
		"127.0.0.1": true, "10.255.255.255": true, "172.31.0.1": true, "172.32.0.1": false,
		"192.168.0.1": true, "169.254.169.254": true, "169.254.169.123": true, "100.64.0.1": true, "100.127.255.255": true,
		"100.128.0.1": false, "0.0.0.0": true, "255.255.255.255": true, "224.0.0.1": true, "198.18.0.1": true,
		"::": true, "::1": true, "fe80::1": true, "fc00::1": true, "fd00:ec2::254": true, "ff02::1": true,
		"::ffff:10.0.0.1": true, "::ffff:8.8.8.8": false, "64:ff9b::808:808": false, "64:ff9b::7f00:1": true,
		"2002:7f00:1::": true, "2002:808:808::": false, "2001:db8::1": true, "fe80::1%eth0": true,
	} {
		a, err := netip.ParseAddr(ip)
		require.NoError(t, err, ip)
		require.Equal(t, blocked, Blocked(a) != "", ip)
	}
}

func rsaJWK(t *testing.T, bits int) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	return map[string]any{"kty": "RSA", "kid": "r" + big.NewInt(int64(bits)).String(), "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(t *testing.T) (map[string]any, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	return map[string]any{"kty": "EC", "kid": "e1", "crv": "P-256", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(pad(k.X.Bytes())), "y": base64.RawURLEncoding.EncodeToString(pad(k.Y.Bytes()))}, k
}

func jwks(t *testing.T, keys ...map[string]any) json.RawMessage {
	b, err := json.Marshal(map[string]any{"keys": keys})
	require.NoError(t, err)
	return b
}

func TestCheckJWKS(t *testing.T) {
	r := rsaJWK(t, 2048)
	ec, priv := ecJWK(t)
	out, err := CheckJWKS(jwks(t, r, ec))
	require.NoError(t, err)
	var got struct{ Keys []map[string]any }
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got.Keys, 2)
	require.Equal(t, r["n"], got.Keys[0]["n"])

	// Supabase's Terraform provider sends the set as a JSON string.
	str, _ := json.Marshal(string(jwks(t, r)))
	_, err = CheckJWKS(str)
	require.NoError(t, err)

	with := func(k map[string]any, kv ...any) map[string]any {
		c := map[string]any{}
		for a, b := range k {
			c[a] = b
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	b64 := base64.RawURLEncoding.EncodeToString
	many := make([]map[string]any, MaxJWKSKeys+1)
	for i := range many {
		many[i] = with(r, "kid", "k"+big.NewInt(int64(i)).String())
	}
	bad := map[string]struct {
		raw  json.RawMessage
		code string
	}{
		"not a set":           {json.RawMessage(`[1,2]`), "invalid_custom_jwks"},
		"no keys":             {json.RawMessage(`{"keys":[]}`), "invalid_custom_jwks"},
		"keys not a list":     {json.RawMessage(`{"keys":{}}`), "invalid_custom_jwks"},
		"too many":            {jwks(t, many...), "invalid_custom_jwks"},
		"EC private d":        {jwks(t, with(ec, "d", b64(priv.D.Bytes()))), "private_key_in_jwks"},
		"RSA private d":       {jwks(t, with(r, "d", "AQAB")), "private_key_in_jwks"},
		"RSA private p":       {jwks(t, with(r, "p", "AQAB")), "private_key_in_jwks"},
		"symmetric":           {json.RawMessage(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), "private_key_in_jwks"},
		"oct without k":       {json.RawMessage(`{"keys":[{"kty":"oct"}]}`), "invalid_custom_jwks"},
		"OKP":                 {json.RawMessage(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`), "invalid_custom_jwks"},
		"small RSA":           {jwks(t, rsaJWK(t, 1024)), "invalid_custom_jwks"},
		"RSA alg HS256":       {jwks(t, with(r, "alg", "HS256")), "invalid_custom_jwks"},
		"RSA no e":            {jwks(t, with(r, "e", nil)), "invalid_custom_jwks"},
		"RSA even e":          {jwks(t, with(r, "e", b64([]byte{4}))), "invalid_custom_jwks"},
		"RSA padded n":        {jwks(t, with(r, "n", r["n"].(string)+"==")), "invalid_custom_jwks"},
		"use enc":             {jwks(t, with(r, "use", "enc")), "invalid_custom_jwks"},
		"EC P-384":            {jwks(t, with(ec, "crv", "P-384")), "invalid_custom_jwks"},
		"EC off curve":        {jwks(t, with(ec, "y", b64(make([]byte, 32)))), "invalid_custom_jwks"},
		"EC short x":          {jwks(t, with(ec, "x", b64([]byte{1, 2}))), "invalid_custom_jwks"},
		"duplicate kid":       {jwks(t, r, with(ec, "kid", r["kid"])), "invalid_custom_jwks"},
		"kid not a string":    {jwks(t, with(r, "kid", 7)), "invalid_custom_jwks"},
		"key not an object":   {json.RawMessage(`{"keys":[null]}`), "invalid_custom_jwks"},
		"oversized":           {json.RawMessage(`{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSBytes) + `"}`), "invalid_custom_jwks"},
		"trailing data":       {json.RawMessage(`{"keys":[]} {}`), "invalid_custom_jwks"},
		"string not a set":    {json.RawMessage(`"nope"`), "invalid_custom_jwks"},
		"number":              {json.RawMessage(`5`), "invalid_custom_jwks"},
		"private in a string": {func() json.RawMessage { s, _ := json.Marshal(string(jwks(t, with(r, "d", "AQAB")))); return s }(), "private_key_in_jwks"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := CheckJWKS(tc.raw)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.code, e.Code, e.Msg)
			require.NotContains(t, e.Msg, b64(priv.D.Bytes()), "private material never echoed")
		})
	}
}

func ptr(s string) *string { return &s }

func TestCheckBody(t *testing.T) {
	c := &Checker{Resolver: newFake()}
	ctx := context.Background()
	ec, _ := ecJWK(t)

	e, err := c.Check(ctx, Body{OIDCIssuerURL: ptr("https://login.example.com")})
	require.NoError(t, err)
	require.Equal(t, Entry{Type: TypeOIDC, OIDCIssuerURL: "https://login.example.com"}, e)

	e, err = c.Check(ctx, Body{OIDCIssuerURL: ptr("https://login.example.com"), JWKSURL: ptr("https://keys.example.com/jwks.json"), Audience: ptr("api://x")})
	require.NoError(t, err)
	require.Equal(t, TypeJWKS, e.Type)
	require.Equal(t, "api://x", *e.Audience)

	e, err = c.Check(ctx, Body{OIDCIssuerURL: ptr("https://login.example.com"), CustomJWKS: jwks(t, ec)})
	require.NoError(t, err)
	require.Equal(t, TypeCustom, e.Type)
	require.Contains(t, string(e.CustomJWKS), `"crv":"P-256"`)

	// An issuer that signs for every app needs the app's audience.
	e, err = c.Check(ctx, Body{OIDCIssuerURL: ptr("https://accounts.google.com"), Audience: ptr("1234.apps.googleusercontent.com")})
	require.NoError(t, err)
	require.Equal(t, "1234.apps.googleusercontent.com", *e.Audience)

	cognito := "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyZ"
	e, err = c.Check(ctx, Body{OIDCIssuerURL: ptr(cognito), ClientID: ptr("7c3a9example"), TokenUse: ptr("access")})
	require.NoError(t, err)
	require.Equal(t, TypeOIDC, e.Type)
	require.Equal(t, "access", *e.TokenUse)

	bad := map[string]struct {
		b    Body
		code string
	}{
		"no issuer":                  {Body{JWKSURL: ptr("https://keys.example.com/jwks.json")}, "issuer_required"},
		"empty issuer":               {Body{OIDCIssuerURL: ptr("")}, "issuer_required"},
		"both key sources":           {Body{OIDCIssuerURL: ptr("https://login.example.com"), JWKSURL: ptr("https://keys.example.com/j"), CustomJWKS: jwks(t, ec)}, "invalid_third_party_auth"},
		"private jwks_url":           {Body{OIDCIssuerURL: ptr("https://login.example.com"), JWKSURL: ptr("https://metadata.example.com/j")}, "private_address_url"},
		"http jwks_url":              {Body{OIDCIssuerURL: ptr("https://login.example.com"), JWKSURL: ptr("http://keys.example.com/j")}, "invalid_url"},
		"private issuer":             {Body{OIDCIssuerURL: ptr("https://ten.example.com")}, "private_address_url"},
		"token_use not cognito":      {Body{OIDCIssuerURL: ptr("https://login.example.com"), TokenUse: ptr("id")}, "invalid_token_use"},
		"token_use other":            {Body{OIDCIssuerURL: ptr(cognito), TokenUse: ptr("refresh")}, "invalid_token_use"},
		"cognito trailing slash":     {Body{OIDCIssuerURL: ptr(cognito + "/")}, "invalid_cognito_issuer"},
		"cognito region mismatch":    {Body{OIDCIssuerURL: ptr("https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_AbC123xyZ")}, "invalid_cognito_issuer"},
		"cognito no pool":            {Body{OIDCIssuerURL: ptr("https://cognito-idp.eu-west-1.amazonaws.com/")}, "invalid_cognito_issuer"},
		"cognito extra path":         {Body{OIDCIssuerURL: ptr(cognito + "/.well-known/jwks.json")}, "invalid_cognito_issuer"},
		"empty audience":             {Body{OIDCIssuerURL: ptr("https://login.example.com"), Audience: ptr("")}, "invalid_audience"},
		"padded client_id":           {Body{OIDCIssuerURL: ptr("https://login.example.com"), ClientID: ptr(" x")}, "invalid_client_id"},
		"control char in audience":   {Body{OIDCIssuerURL: ptr("https://login.example.com"), Audience: ptr("a\nb")}, "invalid_audience"},
		"shared issuer, no audience": {Body{OIDCIssuerURL: ptr("https://accounts.google.com")}, "audience_required"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := c.Check(ctx, tc.b)
			var e *Error
			require.True(t, errors.As(err, &e), "%v", err)
			require.Equal(t, tc.code, e.Code, e.Msg)
		})
	}
}
