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

return M
