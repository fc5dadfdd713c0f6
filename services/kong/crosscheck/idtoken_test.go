package crosscheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// verifyInLua runs idtoken.verify (crosscheck/idtoken.lua) on each case
// and returns its answers in order.
func verifyInLua(t *testing.T, cases []map[string]any) []map[string]any {
	t.Helper()
	return runLua(t, "idtoken.lua", cases)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(x), "y": b64(y)}
}

// alter replaces one character of a token part (0 header, 1 payload, 2
// signature) by another base64url character.
func alter(token string, part int) string {
	p := strings.Split(token, ".")
	b := []byte(p[part])
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	p[part] = string(b)
	return strings.Join(p, ".")
}

// swapPayload keeps header and signature and puts other claims between.
func swapPayload(t *testing.T, token string, claims jwt.MapClaims) string {
	p := strings.Split(token, ".")
	b, err := json.Marshal(claims)
	require.NoError(t, err)
	p[1] = b64(b)
	return strings.Join(p, ".")
}

func TestIDTokensOfGolangJWTVerifyInLua(t *testing.T) {
	const iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jwks := map[string]any{"keys": []any{rsaJWK("rsa-1", &rsaKey.PublicKey), ecJWK("ec-1", &ecKey.PublicKey)}}
	now := time.Now().Unix()
	opts := map[string]any{"issuer": iss, "client_id": "client123", "now": now}
	claims := func(sub string) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "sub": sub, "aud": "client123", "token_use": "id", "email": "ada@example.com",
			"cognito:groups": []string{"admin", "staff"}, "iat": now, "exp": now + 3600}
	}
	sign := func(method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}

	type tc struct {
		name   string
		token  string
		sub    string // valid: the sub Lua must return
		reason string // refused: Lua's reason
	}
	var cases []tc
	for _, kid := range []string{"rsa-1", ""} {
		cases = append(cases, tc{name: "RS256 kid=" + kid, token: sign(jwt.SigningMethodRS256, rsaKey, kid, claims("rs-"+kid)), sub: "rs-" + kid})
	}
	for _, kid := range []string{"ec-1", ""} {
		// ECDSA signatures are randomized: several, so leading zero bytes
		// of r and s occur and are kept at 32 bytes each.
		for i := 0; i < 20; i++ {
			sub := "ec-" + kid + "-" + string(rune('a'+i))
			cases = append(cases, tc{name: "ES256 " + sub, token: sign(jwt.SigningMethodES256, ecKey, kid, claims(sub)), sub: sub})
		}
	}
	good := sign(jwt.SigningMethodRS256, rsaKey, "rsa-1", claims("u"))
	goodEC := sign(jwt.SigningMethodES256, ecKey, "ec-1", claims("u"))
	for part := 0; part < 3; part++ {
		cases = append(cases, tc{name: "RS256 altered", token: alter(good, part)}, tc{name: "ES256 altered", token: alter(goodEC, part)})
	}
	evil := claims("u")
	evil["sub"] = "someone-else"
	cases = append(cases,
		tc{name: "RS256 other payload", token: swapPayload(t, good, evil), reason: "bad signature"},
		tc{name: "ES256 other payload", token: swapPayload(t, goodEC, evil), reason: "bad signature"},
		tc{name: "other RSA key, same kid", token: sign(jwt.SigningMethodRS256, otherRSA, "rsa-1", claims("u")), reason: "bad signature"},
		tc{name: "other RSA key, no kid", token: sign(jwt.SigningMethodRS256, otherRSA, "", claims("u")), reason: "bad signature"},
		tc{name: "unknown kid", token: sign(jwt.SigningMethodRS256, rsaKey, "rsa-2", claims("u")), reason: "unknown kid"},
		tc{name: "RS256 naming the EC key", token: sign(jwt.SigningMethodRS256, rsaKey, "ec-1", claims("u")), reason: "key does not match alg"},
		tc{name: "RS512", token: sign(jwt.SigningMethodRS512, rsaKey, "rsa-1", claims("u")), reason: "unsupported alg"},
		tc{name: "PS256", token: sign(jwt.SigningMethodPS256, rsaKey, "rsa-1", claims("u")), reason: "unsupported alg"},
		tc{name: "none", token: sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa-1", claims("u"))},
		tc{name: "expired", token: sign(jwt.SigningMethodRS256, rsaKey, "rsa-1", func() jwt.MapClaims { c := claims("u"); c["exp"] = now - 61; return c }()), reason: "token expired"},
		tc{name: "other client", token: sign(jwt.SigningMethodRS256, rsaKey, "rsa-1", func() jwt.MapClaims { c := claims("u"); c["aud"] = "client999"; return c }()), reason: "client_id mismatch"},
		tc{name: "other issuer", token: sign(jwt.SigningMethodRS256, rsaKey, "rsa-1", func() jwt.MapClaims { c := claims("u"); c["iss"] = iss + "x"; return c }()), reason: "issuer mismatch"},
	)
	// Key confusion: HS256 with the RSA public key (PEM and DER) as secret.
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, secret := range [][]byte{pemKey, der} {
		cases = append(cases, tc{name: "HS256 with the public key", token: sign(jwt.SigningMethodHS256, secret, "rsa-1", claims("u")), reason: "unsupported alg"})
	}
	// ES256 with a DER signature instead of JOSE's r||s.
	p := strings.Split(goodEC, ".")
	raw, err := base64.RawURLEncoding.DecodeString(p[2])
	require.NoError(t, err)
	r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
	derSig := append([]byte{0x30, 0}, asn1Int(r)...)
	derSig = append(derSig, asn1Int(s)...)
	derSig[1] = byte(len(derSig) - 2)
	cases = append(cases, tc{name: "ES256 DER signature", token: p[0] + "." + p[1] + "." + b64(derSig), reason: "bad signature"})
	// HS256 signed by hand with the JWK's n as the secret.
	hs := b64([]byte(`{"alg":"HS256","kid":"rsa-1"}`)) + "." + b64(mustJSON(t, claims("u")))
	mac := hmac.New(sha256.New, []byte(jwks["keys"].([]any)[0].(map[string]any)["n"].(string)))
	mac.Write([]byte(hs))
	cases = append(cases, tc{name: "HS256 with n", token: hs + "." + b64(mac.Sum(nil)), reason: "unsupported alg"})

	inputs := make([]map[string]any, len(cases))
	for i, c := range cases {
		inputs[i] = map[string]any{"token": c.token, "jwks": jwks, "opts": opts}
	}
	out := verifyInLua(t, inputs)
	for i, c := range cases {
		if c.sub != "" {
			require.Nil(t, out[i]["reason"], c.name)
			got := out[i]["claims"].(map[string]any)
			require.Equal(t, c.sub, got["sub"], c.name)
			require.Equal(t, "ada@example.com", got["email"], c.name)
			require.Equal(t, []any{"admin", "staff"}, got["cognito:groups"], c.name)
			// golang-jwt accepts the same token with the same key.
			_, err := jwt.Parse(c.token, func(tok *jwt.Token) (any, error) {
				if tok.Method.Alg() == "ES256" {
					return &ecKey.PublicKey, nil
				}
				return &rsaKey.PublicKey, nil
			}, jwt.WithValidMethods([]string{"RS256", "ES256"}), jwt.WithIssuer(iss))
			require.NoError(t, err, c.name)
			continue
		}
		require.Nil(t, out[i]["claims"], c.name)
		require.NotEmpty(t, out[i]["reason"], c.name)
		if c.reason != "" {
			require.Equal(t, c.reason, out[i]["reason"], c.name)
		}
	}
}

func asn1Int(v *big.Int) []byte {
	b := v.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return append([]byte{0x02, byte(len(b))}, b...)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
