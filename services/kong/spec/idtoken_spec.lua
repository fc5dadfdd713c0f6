local idp = require("spec.helpers.idp")
local idtoken = require("kong.plugins.dynamic-lambda-router.idtoken")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson")

local ISS = "https://idp.example.com/tenant-a"
local COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
local NOW = 1763800000

local rsa = idp.rsa("rsa-1")
local rsa2 = idp.rsa("rsa-2")
local ec = idp.ec("ec-1")
local JWKS = idp.jwks(rsa, ec, rsa2)

local function claims(extra)
  local c = { iss = ISS, sub = "8d6a1e5c-3b0f-4c1e-9a57-2f3c9b1d0e11", aud = "app-client",
    email = "ada@example.com", iat = NOW - 10, exp = NOW + 3600 }
  for k, v in pairs(extra or {}) do
    if v == false then c[k] = nil else c[k] = v end
  end
  return c
end

local function verify(token, opts)
  local o = { issuer = ISS, now = NOW }
  for k, v in pairs(opts or {}) do o[k] = v end
  return idtoken.verify(token, opts and opts.jwks or JWKS, o)
end

-- flip(token, part, i) changes one character of the header (1), payload
-- (2) or signature (3) to another valid base64url character.
local function flip(token, part, i)
  local parts = {}
  for p in token:gmatch("[^.]+") do parts[#parts + 1] = p end
  local s = parts[part]
  i = i or math.floor(#s / 2)
  local c = s:sub(i, i)
  parts[part] = s:sub(1, i - 1) .. (c == "A" and "B" or "A") .. s:sub(i + 1)
  return table.concat(parts, ".")
end

describe("idtoken.verify", function()
  it("accepts RS256 and ES256 tokens, with and without kid", function()
    for _, k in ipairs({ rsa, ec, rsa2 }) do
      for _, kid in ipairs({ k.kid, false }) do
        local c, why = verify(idp.sign(k, claims(), { kid = kid }))
        assert.is_nil(why)
        assert.equal("8d6a1e5c-3b0f-4c1e-9a57-2f3c9b1d0e11", c.sub)
        assert.equal("ada@example.com", c.email)
      end
    end
  end)

  it("refuses a bad signature, altered header or payload, and a signature of another key", function()
    local token = idp.sign(rsa, claims())
    for part = 1, 3 do
      assert.is_nil((verify(flip(token, part))))
    end
    assert.same({ nil, "bad signature" }, { verify(flip(token, 3)) })
    -- kid names rsa-1, the signature is rsa-2's.
    assert.same({ nil, "bad signature" }, { verify(idp.sign(rsa2, claims(), { kid = "rsa-1" })) })
    local etoken = idp.sign(ec, claims())
    assert.same({ nil, "bad signature" }, { verify(flip(etoken, 3)) })
    assert.same({ nil, "bad signature" }, { verify(idp.sign(idp.ec("ec-1"), claims())) })
  end)

  it("refuses an unknown kid, and a kid whose key has another type than alg", function()
    assert.same({ nil, "unknown kid" }, { verify(idp.sign(idp.rsa("rsa-9"), claims())) })
    -- RS256 header naming the EC key.
    assert.same({ nil, "key does not match alg" }, { verify(idp.sign(rsa, claims(), { kid = "ec-1" })) })
    local only_rsa = { keys = { rsa.jwk } }
    assert.same({ nil, "no key for alg" }, { verify(idp.sign(ec, claims(), { kid = false }), { jwks = only_rsa }) })
    -- The JWK's own alg, use and key_ops restrict it further.
    for _, extra in ipairs({ { alg = "RS384" }, { use = "enc" }, { key_ops = { "encrypt" } } }) do
      local jwk = { kty = "RSA", kid = "rsa-1", n = rsa.jwk.n, e = rsa.jwk.e }
      for k, v in pairs(extra) do jwk[k] = v end
      assert.same({ nil, "key does not match alg" }, { verify(idp.sign(rsa, claims()), { jwks = { keys = { jwk } } }) })
      jwk.kid = nil
      assert.same({ nil, "no key for alg" }, { verify(idp.sign(rsa, claims(), { kid = false }), { jwks = { keys = { jwk } } }) })
    end
  end)

  it("refuses alg none, HS256 signed with the RSA public key (key confusion) and other algorithms", function()
    assert.is_nil((verify(idp.unsigned({ alg = "none", typ = "JWT" }, claims()))))
    assert.same({ nil, "unsupported alg" }, { verify(idp.unsigned({ alg = "none", kid = "rsa-1" }, claims(), "c2ln")) })
    for _, secret in ipairs({ rsa.pem, rsa.jwk.n, cjson.encode(rsa.jwk) }) do
      local forged = idp.hs256(secret, { alg = "HS256", typ = "JWT", kid = "rsa-1" }, claims())
      assert.same({ nil, "unsupported alg" }, { verify(forged) })
    end
    for _, alg in ipairs({ "HS384", "RS384", "PS256", "ES384", "EdDSA", "rs256" }) do
      assert.same({ nil, "unsupported alg" }, { verify(idp.sign(rsa, claims(), { alg = alg })) })
    end
  end)

  it("refuses a wrong issuer, expired tokens and tokens not yet valid, with at most 60 s skew", function()
    assert.same({ nil, "issuer mismatch" }, { verify(idp.sign(rsa, claims({ iss = "https://idp.example.com/tenant-b" }))) })
    assert.same({ nil, "issuer mismatch" }, { verify(idp.sign(rsa, claims({ iss = false }))) })
    assert.same({ nil, "token expired" }, { verify(idp.sign(rsa, claims({ exp = NOW - 61 }))) })
    assert.truthy(verify(idp.sign(rsa, claims({ exp = NOW - 59 }))))
    -- A larger leeway asked for is cut to 60 s.
    assert.same({ nil, "token expired" }, { verify(idp.sign(rsa, claims({ exp = NOW - 61 })), { leeway = 3600 }) })
    assert.same({ nil, "token expired" }, { verify(idp.sign(rsa, claims({ exp = NOW - 1 })), { leeway = 0 }) })
    assert.same({ nil, "no exp" }, { verify(idp.sign(rsa, claims({ exp = false }))) })
    assert.same({ nil, "malformed time claim" }, { verify(idp.sign(rsa, claims({ exp = tostring(NOW + 60) }))) })
    assert.same({ nil, "token not yet valid" }, { verify(idp.sign(rsa, claims({ nbf = NOW + 61 }))) })
    assert.truthy(verify(idp.sign(rsa, claims({ nbf = NOW + 59 }))))
    assert.same({ nil, "token issued in the future" }, { verify(idp.sign(rsa, claims({ iat = NOW + 120 }))) })
    assert.same({ nil, "no sub" }, { verify(idp.sign(rsa, claims({ sub = false }))) })
    assert.same({ nil, "no sub" }, { verify(idp.sign(rsa, claims({ sub = 42 }))) })
  end)

  it("checks the audience and Cognito's client_id when configured", function()
    assert.truthy(verify(idp.sign(rsa, claims()), { audience = "app-client" }))
    assert.truthy(verify(idp.sign(rsa, claims({ aud = { "other", "app-client" } })), { audience = "app-client" }))
    assert.same({ nil, "audience mismatch" }, { verify(idp.sign(rsa, claims()), { audience = "other" }) })
    assert.same({ nil, "audience mismatch" }, { verify(idp.sign(rsa, claims({ aud = false })), { audience = "app-client" }) })
  end)

  it("Cognito: token_use id or access, client_id in aud (ID token) or client_id (access token)", function()
    local function cog(extra)
      local c = { iss = COGNITO }
      for k, v in pairs(extra) do c[k] = v end
      return claims(c)
    end
    local id = idp.sign(rsa, cog({ token_use = "id", aud = "client123" }))
    local access = idp.sign(rsa, cog({ token_use = "access", aud = false, client_id = "client123" }))
    for _, t in ipairs({ id, access }) do
      assert.truthy(verify(t, { issuer = COGNITO, client_id = "client123" }))
      assert.same({ nil, "client_id mismatch" }, { verify(t, { issuer = COGNITO, client_id = "client999" }) })
    end
    assert.truthy(verify(id, { issuer = COGNITO, token_use = "id" }))
    assert.same({ nil, "token_use mismatch" }, { verify(access, { issuer = COGNITO, token_use = "id" }) })
    assert.same({ nil, "token_use mismatch" }, { verify(idp.sign(rsa, cog({ token_use = false })), { issuer = COGNITO }) })
    assert.same({ nil, "token_use mismatch" }, { verify(idp.sign(rsa, cog({ token_use = "refresh" })), { issuer = COGNITO }) })
  end)

  it("refuses malformed tokens and ES256 signatures of the wrong length", function()
    for _, bad in ipairs({ "", "abc", "a.b", "a.b.c.d", "a..c", "eyJ.eyJ.+/=", string.rep("a", 20000) .. ".b.c" }) do
      assert.is_nil((verify(bad)))
    end
    assert.same({ nil, "malformed token" }, { verify(idp.unsigned({ alg = "RS256" }, { 1, 2 }, "c2ln")) })
    local token = idp.sign(ec, claims())
    local h, p, s = token:match("^(.-)%.(.-)%.(.*)$")
    local raw = crypto.base64url_decode(s)
    assert.equal(64, #raw)
    for _, sig in ipairs({ raw:sub(1, 63), raw .. "\0", "\0" .. raw, string.rep("\0", 64) }) do
      assert.same({ nil, "bad signature" }, { verify(h .. "." .. p .. "." .. crypto.base64url(sig)) })
    end
    assert.same({ nil, "unsupported critical header" }, { verify(idp.sign(rsa, claims(), { crit = { "exp" } })) })
  end)

  it("builds keys only from allowed JWKs", function()
    assert.truthy(idtoken.jwk_pem(rsa.jwk))
    assert.truthy(idtoken.jwk_pem(ec.jwk))
    local small = idp.rsa("small", 1024)
    assert.same({ nil, "RSA key size not allowed" }, { idtoken.jwk_pem(small.jwk) })
    assert.same({ nil, "EC curve not allowed" }, { idtoken.jwk_pem({ kty = "EC", crv = "P-384", x = ec.jwk.x, y = ec.jwk.y }) })
    -- e = 1 would make any message its own signature; e must be odd, >= 3.
    for _, e in ipairs({ "AQ", "AAE", "Ag", "AAI", "AQAA" }) do
      assert.same({ nil, "RSA exponent not allowed" }, { idtoken.jwk_pem({ kty = "RSA", n = rsa.jwk.n, e = e }) }, e)
    end
    assert.truthy(idtoken.jwk_pem({ kty = "RSA", n = rsa.jwk.n, e = "Aw" }), "e = 3 is a valid exponent")
    assert.same({ nil, "key type not allowed" }, { idtoken.jwk_pem({ kty = "oct", k = "c2VjcmV0" }) })
    -- The PEM built from n/e is the key luaossl exports.
    assert.equal(rsa.pem, idtoken.jwk_pem(rsa.jwk))
    assert.equal(ec.pem, idtoken.jwk_pem(ec.jwk))
    -- A point not on the curve does not load, so nothing verifies against it.
    local off = { kty = "EC", kid = "ec-1", crv = "P-256", x = ec.jwk.x, y = crypto.base64url(string.rep("\1", 32)) }
    assert.same({ nil, "bad signature" }, { verify(idp.sign(ec, claims()), { jwks = { keys = { off } } }) })
    -- A 1024-bit key in the set is never used.
    assert.same({ nil, "bad signature" }, { verify(idp.sign(small, claims()), { jwks = idp.jwks(small) }) })
  end)
end)

describe("crypto.base64url_decode", function()
  it("inverts base64url and refuses anything else", function()
    for _, v in ipairs({ "", "f", "fo", "foo", "foob", "fooba", "foobar", "\0\255\254\253" }) do
      assert.equal(v, crypto.base64url_decode(crypto.base64url(v)))
    end
    -- Padding, the standard alphabet, impossible lengths, and stray bits
    -- (a second encoding of the same bytes) are refused.
    for _, bad in ipairs({ "Zg==", "a+b/", "Z", "Zh", "Zm9", "Zm9vY" }) do
      assert.is_nil(crypto.base64url_decode(bad), bad)
    end
    assert.equal("fo", crypto.base64url_decode("Zm8"))
    assert.is_nil(crypto.base64url_decode("Zm9"))
  end)
end)
