-- HS256 JSON Web Tokens (RFC 7519, compact JWS).
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson.safe")

local M = {}

-- The header never changes: encode it once.
local HEADER = crypto.base64url('{"alg":"HS256","typ":"JWT"}')

-- sign_hs256(claims, secret) -> token, or nil and an error
function M.sign_hs256(claims, secret)
  if type(secret) ~= "string" or secret == "" then
    return nil, "jwt: empty secret"
  end
  local payload, err = cjson.encode(claims)
  if not payload then
    return nil, "jwt: claims are not JSON: " .. tostring(err)
  end
  local signing_input = HEADER .. "." .. crypto.base64url(payload)
  return signing_input .. "." .. crypto.base64url(crypto.hmac_sha256(secret, signing_input))
end

return M
