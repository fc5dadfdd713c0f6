-- A test identity provider: RSA and EC P-256 keys generated with luaossl,
-- their JWKs, and tokens signed the way RFC 7515/7518 describe (RS256:
-- PKCS#1 v1.5 over SHA-256; ES256: ECDSA P-256 with the signature as
-- r || s, 32 bytes each).
package.path = "./?.lua;" .. package.path
local pkey = require("openssl.pkey")
local digest = require("openssl.digest")
local hmac = require("openssl.hmac")
local cjson = require("cjson")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")

local M = {}

local function b64(s) return crypto.base64url(s) end

local function pad32(s) return string.rep("\0", 32 - #s) .. s end

-- rsa(kid, bits?) / ec(kid) -> {key, kid, alg, jwk, pem}
function M.rsa(kid, bits)
  local key = pkey.new({ type = "RSA", bits = bits or 2048 })
  local p = key:getParameters()
  return { key = key, kid = kid, alg = "RS256", pem = key:toPEM("public"),
    jwk = { kty = "RSA", kid = kid, use = "sig", alg = "RS256", n = b64(p.n:toBinary()), e = b64(p.e:toBinary()) } }
end

function M.ec(kid)
  local key = pkey.new({ type = "EC", curve = "prime256v1" })
  local point = key:getParameters().pub_key:toBinary() -- 04 || x || y
  assert(#point == 65 and point:byte(1) == 4)
  return { key = key, kid = kid, alg = "ES256", pem = key:toPEM("public"),
    jwk = { kty = "EC", kid = kid, use = "sig", alg = "ES256", crv = "P-256",
      x = b64(point:sub(2, 33)), y = b64(point:sub(34, 65)) } }
end

function M.jwks(...)
  local keys = {}
  for i, k in ipairs({ ... }) do keys[i] = k.jwk end
  return { keys = keys }
end

-- der_to_jose(sig) -> r || s from a DER ECDSA-Sig-Value.
local function der_to_jose(sig)
  local pos = 3
  if sig:byte(2) == 0x81 then pos = 4 end
  local parts = {}
  for i = 1, 2 do
    assert(sig:byte(pos) == 0x02)
    local len = sig:byte(pos + 1)
    local v = sig:sub(pos + 2, pos + 1 + len):gsub("^%z+", "")
    parts[i] = pad32(v)
    pos = pos + 2 + len
  end
  return parts[1] .. parts[2]
end

-- sign(k, claims, header_extra?) -> token. header_extra may set alg, kid
-- (false removes it) or anything else.
function M.sign(k, claims, header_extra)
  local header = { alg = k.alg, typ = "JWT", kid = k.kid }
  for name, v in pairs(header_extra or {}) do
    if v == false then header[name] = nil else header[name] = v end
  end
  local input = b64(cjson.encode(header)) .. "." .. b64(cjson.encode(claims))
  local d = digest.new("sha256")
  d:update(input)
  local sig = k.key:sign(d)
  if k.alg == "ES256" then sig = der_to_jose(sig) end
  return input .. "." .. b64(sig)
end

-- hs256(secret, header, claims) -> an HMAC-signed token (what a key
-- confusion attack sends).
function M.hs256(secret, header, claims)
  local input = b64(cjson.encode(header)) .. "." .. b64(cjson.encode(claims))
  return input .. "." .. b64(hmac.new(secret, "sha256"):final(input))
end

-- unsigned(header, claims, sig?) -> a token with any header and signature.
function M.unsigned(header, claims, sig)
  return b64(cjson.encode(header)) .. "." .. b64(cjson.encode(claims)) .. "." .. (sig or "")
end

return M
