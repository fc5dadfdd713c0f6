-- Reads one JSON request per line on stdin and writes, per line, what the
-- plugin's modules produce for it, so the Go tests can compare them with
-- independent implementations (aws-sdk-go-v2's signer, golang-jwt).
--   {"kind":"sigv4","request":{…},"credentials":{…},"opts":{…}} -> {"headers":{…}}
--   {"kind":"jwt","claims":{…},"secret":"…"}                     -> {"token":"…"}
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")

for line in io.lines() do
  local in_ = cjson.decode(line)
  local out
  if in_.kind == "sigv4" then
    local r = in_.request
    if r.query == cjson.null then r.query = nil end
    out = { headers = sigv4.sign(r, in_.credentials, in_.opts) }
  elseif in_.kind == "jwt" then
    out = { token = assert(jwt.sign_hs256(in_.claims, in_.secret)) }
  else
    error("unknown kind " .. tostring(in_.kind))
  end
  io.write(cjson.encode(out), "\n")
  io.flush()
end
