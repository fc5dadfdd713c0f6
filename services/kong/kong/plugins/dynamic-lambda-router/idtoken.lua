-- Verification of third-party ID and access tokens (OIDC providers,
-- Amazon Cognito): compact JWS signed with RS256 or ES256 by a key of the
-- issuer's JWKS. Nothing else is accepted: not "none", not HS* (whose
-- "secret" could be the issuer's public key), not an algorithm that does
-- not match the key's type.
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson.safe")

local M = {}

-- Longest token considered; nginx's header buffers bound it anyway.
M.MAX_TOKEN_BYTES = 16384
-- Clock skew allowed on exp, nbf and iat, and its ceiling.
M.MAX_LEEWAY = 60
-- Keys tried for a token without kid.
local MAX_TRIES = 8

local ALGS = {
  RS256 = { kty = "RSA" },
  ES256 = { kty = "EC", crv = "P-256" },
}

local char, byte, concat = string.char, string.byte, table.concat

-- DER: just enough to write a SubjectPublicKeyInfo and an ECDSA-Sig-Value.
local function der_len(n)
  if n < 128 then return char(n) end
  if n < 256 then return char(0x81, n) end
  return char(0x82, math.floor(n / 256), n % 256)
end
local function der(tag, body) return char(tag) .. der_len(#body) .. body end
-- An unsigned big-endian integer: no leading zeros, and a zero byte in
-- front of a high first bit so it stays positive.
local function der_uint(bytes)
  local i = 1
  while i < #bytes and byte(bytes, i) == 0 do i = i + 1 end
  bytes = bytes:sub(i)
  if byte(bytes, 1) >= 0x80 then bytes = "\0" .. bytes end
  return der(0x02, bytes)
end

local OID_RSA = "\6\9\42\134\72\134\247\13\1\1\1"    -- 1.2.840.113549.1.1.1
local OID_EC = "\6\7\42\134\72\206\61\2\1"           -- 1.2.840.10045.2.1
local OID_P256 = "\6\8\42\134\72\206\61\3\1\7"       -- 1.2.840.10045.3.1.7

local function pem(spki)
  local b64 = crypto.base64(spki)
  local lines = {}
  for i = 1, #b64, 64 do lines[#lines + 1] = b64:sub(i, i + 63) end
  return "-----BEGIN PUBLIC KEY-----\n" .. concat(lines, "\n") .. "\n-----END PUBLIC KEY-----\n"
end

-- JWK members are base64url; a few publishers pad them.
local function jwk_bytes(v)
  if type(v) ~= "string" then return nil end
  return crypto.base64url_decode((v:gsub("=+$", "")))
end

-- jwk_pem(jwk) -> PEM public key, or nil and why. RSA keys of 2048 to
-- 4096 bits, EC keys on P-256 only.
function M.jwk_pem(jwk)
  if jwk.kty == "RSA" then
    local n, e = jwk_bytes(jwk.n), jwk_bytes(jwk.e)
    if not n or not e or #e == 0 or #e > 8 then return nil, "bad RSA key" end
    -- An exponent of 1 makes the "signature" the message itself: anyone
    -- could forge one. A real exponent is odd and at least 3 (65537).
    e = e:gsub("^%z+", "")
    if #e == 0 or e:byte(-1) % 2 == 0 or (#e == 1 and e:byte(1) < 3) then return nil, "RSA exponent not allowed" end
    n = n:gsub("^%z+", "")
    if #n < 256 or #n > 512 then return nil, "RSA key size not allowed" end
    local rsa = der(0x30, der_uint(n) .. der_uint(e))
    return pem(der(0x30, der(0x30, OID_RSA .. "\5\0") .. der(0x03, "\0" .. rsa)))
  elseif jwk.kty == "EC" then
    if jwk.crv ~= "P-256" then return nil, "EC curve not allowed" end
    local x, y = jwk_bytes(jwk.x), jwk_bytes(jwk.y)
    if not x or not y or #x ~= 32 or #y ~= 32 then return nil, "bad EC key" end
    return pem(der(0x30, der(0x30, OID_EC .. OID_P256) .. der(0x03, "\0\4" .. x .. y)))
  end
  return nil, "key type not allowed"
end

-- Keys are parsed once per JWK table: a cached JWKS keeps its tables.
local parsed = setmetatable({}, { __mode = "k" })

local function key_of(jwk)
  local k = parsed[jwk]
  if k == nil then
    local p = M.jwk_pem(jwk)
    k = p and crypto.public_key(p) or false
    parsed[jwk] = k
  end
  return k or nil
end

-- JOSE ECDSA signature r||s (32 + 32 bytes) -> DER ECDSA-Sig-Value.
local function es256_der(sig)
  if #sig ~= 64 then return nil end
  local r, s = sig:sub(1, 32), sig:sub(33)
  if not r:find("[^%z]") or not s:find("[^%z]") then return nil end
  return der(0x30, der_uint(r) .. der_uint(s))
end

local function usable(jwk, alg, rule)
  if type(jwk) ~= "table" or jwk.kty ~= rule.kty then return false end
  if rule.crv and jwk.crv ~= rule.crv then return false end
  if jwk.alg ~= nil and jwk.alg ~= alg then return false end
  if jwk.use ~= nil and jwk.use ~= "sig" then return false end
  if jwk.key_ops ~= nil then
    if type(jwk.key_ops) ~= "table" then return false end
    local ok = false
    for _, op in ipairs(jwk.key_ops) do if op == "verify" then ok = true end end
    if not ok then return false end
  end
  return true
end

-- decode(token) -> {header, claims, signing_input, signature} or nil, why.
-- Nothing in it is trusted before verify has checked the signature.
function M.decode(token)
  if type(token) ~= "string" or #token > M.MAX_TOKEN_BYTES then return nil, "malformed token" end
  local h, p, s = token:match("^([%w_%-]+)%.([%w_%-]+)%.([%w_%-]+)$")
  if not h then return nil, "malformed token" end
  local hj, pj, sig = crypto.base64url_decode(h), crypto.base64url_decode(p), crypto.base64url_decode(s)
  if not hj or not pj or not sig then return nil, "malformed token" end
  local header, claims = cjson.decode(hj), cjson.decode(pj)
  if type(header) ~= "table" or type(claims) ~= "table" or header[1] ~= nil or claims[1] ~= nil then
    return nil, "malformed token"
  end
  return { header = header, claims = claims, signing_input = h .. "." .. p, signature = sig }
end

local function has(list_or_value, want)
  if list_or_value == want then return true end
  if type(list_or_value) == "table" then
    for _, v in ipairs(list_or_value) do if v == want then return true end end
  end
  return false
end

local function is_cognito(issuer)
  return type(issuer) == "string"
    and issuer:match("^https://cognito%-idp%.[a-z0-9%-]+%.amazonaws%.com/[%w_%-]+$") ~= nil
end
M.is_cognito = is_cognito

local function number_claim(claims, name)
  local v = claims[name]
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= v then return false end
  return v
end

-- verify(token, jwks, opts) -> claims, or nil and a short reason.
-- jwks: the decoded JWKS ({keys = {...}}); opts = {issuer = (required),
-- audience = (aud must contain it), client_id = (Cognito's client_id
-- claim, or aud, must equal it), token_use = ("id" | "access"), now =
-- (epoch seconds, required), leeway = (seconds, at most 60, default 60)}.
-- The signature is checked before any claim, so a forged token learns
-- nothing about the claims the gateway expects.
function M.verify(token, jwks, opts)
  local t, why = M.decode(token)
  if not t then return nil, why end
  local header, claims = t.header, t.claims

  local alg = header.alg
  local rule = type(alg) == "string" and ALGS[alg]
  if not rule then return nil, "unsupported alg" end
  if header.crit ~= nil then return nil, "unsupported critical header" end
  local kid = header.kid
  if kid ~= nil and type(kid) ~= "string" then return nil, "malformed token" end

  local keys = type(jwks) == "table" and jwks.keys
  if type(keys) ~= "table" then return nil, "no signing keys" end
  -- With a kid only that key (of the token's type) is tried, without one
  -- the keys of the token's type.
  local candidates, named = {}, false
  for _, jwk in ipairs(keys) do
    if kid == nil or (type(jwk) == "table" and jwk.kid == kid) then
      named = true
      if usable(jwk, alg, rule) then
        candidates[#candidates + 1] = jwk
        if #candidates >= MAX_TRIES then break end
      end
    end
  end
  if #candidates == 0 then
    if kid == nil then return nil, "no key for alg" end
    return nil, named and "key does not match alg" or "unknown kid"
  end

  local sig = t.signature
  if alg == "ES256" then
    sig = es256_der(sig)
    if not sig then return nil, "bad signature" end
  end
  local verified = false
  for _, jwk in ipairs(candidates) do
    local key = key_of(jwk)
    if key and crypto.verify_sha256(key, t.signing_input, sig) then
      verified = true
      break
    end
  end
  if not verified then return nil, "bad signature" end

  if type(opts.issuer) ~= "string" or claims.iss ~= opts.issuer then return nil, "issuer mismatch" end
  local now = opts.now
  local leeway = math.min(math.max(tonumber(opts.leeway) or M.MAX_LEEWAY, 0), M.MAX_LEEWAY)
  local exp, nbf, iat = number_claim(claims, "exp"), number_claim(claims, "nbf"), number_claim(claims, "iat")
  if exp == nil then return nil, "no exp" end
  if exp == false or nbf == false or iat == false then return nil, "malformed time claim" end
  if now - leeway >= exp then return nil, "token expired" end
  if nbf and now + leeway < nbf then return nil, "token not yet valid" end
  if iat and now + leeway < iat then return nil, "token issued in the future" end
  if type(claims.sub) ~= "string" or claims.sub == "" then return nil, "no sub" end

  if opts.audience ~= nil and not has(claims.aud, opts.audience) then
    return nil, "audience mismatch"
  end
  if opts.client_id ~= nil and claims.client_id ~= opts.client_id and not has(claims.aud, opts.client_id) then
    return nil, "client_id mismatch"
  end
  local use = claims.token_use
  if is_cognito(opts.issuer) and use ~= "id" and use ~= "access" then
    return nil, "token_use mismatch"
  end
  if opts.token_use ~= nil and use ~= opts.token_use then
    return nil, "token_use mismatch"
  end
  return claims
end

return M
