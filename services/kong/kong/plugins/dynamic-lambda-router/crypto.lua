-- The one adapter for the plugin's cryptography: HMAC-SHA256 and SHA-256
-- from resty.openssl inside Kong, from luaossl elsewhere (tests, benchmark).
-- Also hex and base64url encoding, which are plain Lua.
local M = {}

local hmac_sha256, sha256

local ok_hmac, resty_hmac = pcall(require, "resty.openssl.hmac")
local ok_digest, resty_digest = pcall(require, "resty.openssl.digest")
if ok_hmac and ok_digest then
  hmac_sha256 = function(key, msg)
    local h = assert(resty_hmac.new(key, "sha256"))
    return assert(h:final(msg))
  end
  sha256 = function(msg)
    local d = assert(resty_digest.new("sha256"))
    return assert(d:final(msg))
  end
  M.backend = "resty.openssl"
else
  local hmac = require("openssl.hmac")
  local digest = require("openssl.digest")
  hmac_sha256 = function(key, msg)
    return hmac.new(key, "sha256"):final(msg)
  end
  sha256 = function(msg)
    return digest.new("sha256"):final(msg)
  end
  M.backend = "luaossl"
end

-- Public-key signatures for third-party ID tokens. Keys are loaded from a
-- PEM SubjectPublicKeyInfo, which both libraries read the same way, and
-- every failure of the library (which luaossl throws) is a plain false.
local public_key, verify_sha256
local ok_pkey, resty_pkey = pcall(require, "resty.openssl.pkey")
if M.backend == "resty.openssl" and ok_pkey then
  public_key = function(pem)
    return resty_pkey.new(pem, { format = "PEM", type = "pu" })
  end
  verify_sha256 = function(key, msg, sig)
    local d = resty_digest.new("sha256")
    if not d or not d:update(msg) then return false end
    return key:verify(sig, d) == true
  end
else
  local pkey = require("openssl.pkey")
  local digest = require("openssl.digest")
  public_key = function(pem)
    local ok, key = pcall(pkey.new, pem, "PEM")
    if not ok then return nil, tostring(key) end
    return key
  end
  verify_sha256 = function(key, msg, sig)
    local d = digest.new("sha256")
    d:update(msg)
    return key:verify(sig, d) == true
  end
end

-- public_key(pem) -> a key object, or nil and an error
function M.public_key(pem)
  local ok, key, err = pcall(public_key, pem)
  if not ok then return nil, tostring(key) end
  return key, err
end

-- verify_sha256(key, msg, sig) -> true when sig is key's signature of
-- SHA-256(msg): PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value for EC.
function M.verify_sha256(key, msg, sig)
  local ok, res = pcall(verify_sha256, key, msg, sig)
  return ok and res == true
end

-- hmac_sha256(key, msg) -> 32 raw bytes
M.hmac_sha256 = hmac_sha256
-- sha256(msg) -> 32 raw bytes
M.sha256 = sha256

local byte, format, concat = string.byte, string.format, table.concat

function M.hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function encode(s, alphabet, pad)
  local out, n = {}, 0
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(v / 262144) % 64
    local c2 = math.floor(v / 4096) % 64
    local c3 = math.floor(v / 64) % 64
    local c4 = v % 64
    n = n + 1
    out[n] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1)
      .. (b and alphabet:sub(c3 + 1, c3 + 1) or (pad and "=" or ""))
      .. (c and alphabet:sub(c4 + 1, c4 + 1) or (pad and "=" or ""))
  end
  return concat(out)
end

-- base64 (standard alphabet, padded), for the X-Caller-Identity header.
function M.base64(s) return encode(s, b64, true) end
-- base64url without padding, for JWTs.
function M.base64url(s) return encode(s, b64url, false) end

local b64url_value = {}
for i = 1, #b64url do b64url_value[byte(b64url, i)] = i - 1 end
local char, floor = string.char, math.floor

-- base64url_decode(s) -> bytes, or nil when s is not unpadded base64url
-- (any other character, a length that no encoding has, or stray bits in
-- the last character: one value has one encoding, so an altered token
-- cannot keep its signature).
function M.base64url_decode(s)
  if type(s) ~= "string" or #s % 4 == 1 then return nil end
  local out, n = {}, 0
  local len = #s
  for i = 1, len, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local va, vb = b64url_value[a], b64url_value[b]
    local vc, vd = c and b64url_value[c], d and b64url_value[d]
    if not va or not vb or (c and not vc) or (d and not vd) then return nil end
    local v = va * 262144 + vb * 4096 + (vc or 0) * 64 + (vd or 0)
    local b1, b2, b3 = floor(v / 65536), floor(v / 256) % 256, v % 256
    n = n + 1
    if not c then
      if b2 ~= 0 or b3 ~= 0 then return nil end
      out[n] = char(b1)
    elseif not d then
      if b3 ~= 0 then return nil end
      out[n] = char(b1, b2)
    else
      out[n] = char(b1, b2, b3)
    end
  end
  return concat(out)
end

return M
