-- Reads one JSON request per line on stdin, {"token", "jwks", "opts"}, and
-- writes per line what idtoken.verify answers: {"claims": {...}} or
-- {"reason": "..."}; the Go tests compare it with golang-jwt's tokens.
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local idtoken = require("kong.plugins.dynamic-lambda-router.idtoken")

for line in io.lines() do
  local in_ = cjson.decode(line)
  local opts = {}
  for k, v in pairs(in_.opts) do
    if v ~= cjson.null then opts[k] = v end
  end
  local claims, reason = idtoken.verify(in_.token, in_.jwks, opts)
  io.write(cjson.encode(claims and { claims = claims } or { reason = reason }), "\n")
  io.flush()
end
