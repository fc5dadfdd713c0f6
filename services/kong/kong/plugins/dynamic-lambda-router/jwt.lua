-- HS256 JSON Web Tokens (RFC 7519, compact JWS).
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson.safe")

local M = {}

local HEADER = crypto.base64url('{"alg":"HS256","typ":"JWT"}')
-- Encoded headers per key id: a project has one current key at a time, so
-- this is a lookup on the hot path, bounded by a reset.
local headers, header_count = {}, 0

local function header(kid)
  if kid == nil then return HEADER end
  local h = headers[kid]
  if h then return h end
  local kid_json = cjson.encode(kid)
  if not kid_json then return nil end
  h = crypto.base64url('{"alg":"HS256","typ":"JWT","kid":' .. kid_json .. '}')
  if header_count >= 1024 then headers, header_count = {}, 0 end
  headers[kid] = h
  header_count = header_count + 1
  return h
end

-- sign_hs256(claims, secret, kid?) -> token, or nil and an error. kid names
-- the key in the verifier's key set; without one the header has no kid.
function M.sign_hs256(claims, secret, kid)
  if type(secret) ~= "string" or secret == "" then
    return nil, "jwt: empty secret"
  end
  if kid ~= nil and (type(kid) ~= "string" or kid == "") then
    return nil, "jwt: kid must be a non-empty string"
  end
  local payload, err = cjson.encode(claims)
  if not payload then
    return nil, "jwt: claims are not JSON: " .. tostring(err)
  end
  local signing_input = header(kid) .. "." .. crypto.base64url(payload)
  return signing_input .. "." .. crypto.base64url(crypto.hmac_sha256(secret, signing_input))
end

return M
