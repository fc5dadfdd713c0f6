-- Reads one JSON request per line on stdin and writes, per line, what the
-- plugin's modules produce for it, so the Go tests can compare them with
-- independent implementations (aws-sdk-go-v2's signer, golang-jwt).
--   {"kind":"sigv4","request":{…},"credentials":{…},"opts":{…}} -> {"headers":{…}}
--   {"kind":"jwt","claims":{…},"secret":"…","kid":"…"?}          -> {"token":"…"}
--   {"kind":"identity","opts":{…},"credentials":{…},"now":…}      -> {"headers":{…}}
--   {"kind":"cfgcache","cfg":{…}}  -> {"script":"…","doc":"…","version":"…"}
--   {"kind":"control","project":"…"} -> {"script":"…","sha":"…","ctl_key":"…","bucket_key":"…"}
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local identity = require("kong.plugins.dynamic-lambda-router.identity")
local cfgcache = require("kong.plugins.dynamic-lambda-router.cfgcache")
local control = require("kong.plugins.dynamic-lambda-router.control")

for line in io.lines() do
  local in_ = cjson.decode(line)
  local out
  if in_.kind == "sigv4" then
    local r = in_.request
    if r.query == cjson.null then r.query = nil end
    out = { headers = sigv4.sign(r, in_.credentials, in_.opts) }
  elseif in_.kind == "jwt" then
    local kid = in_.kid
    if kid == cjson.null then kid = nil end
    out = { token = assert(jwt.sign_hs256(in_.claims, in_.secret, kid)) }
  elseif in_.kind == "identity" then
    local c = in_.credentials
    if c.expiration == cjson.null then c.expiration = nil end
    out = { headers = identity.headers(in_.opts, c, in_.now) }
  elseif in_.kind == "cfgcache" then
    local doc, version = cfgcache.encode(in_.cfg)
    out = { script = cfgcache.SCRIPT, doc = doc, version = version }
  elseif in_.kind == "control" then
    out = { script = control.SCRIPT, sha = control.SHA, ctl_key = control.ctl_key(in_.project),
      bucket_key = control.bucket_key(in_.project) }
  else
    error("unknown kind " .. tostring(in_.kind))
  end
  io.write(cjson.encode(out), "\n")
  io.flush()
end
