-- The X-Caller-Identity header the tenant-manager's config API wants: the
-- headers of an STS GetCallerIdentity request signed with the task role,
-- as base64 JSON {"headers": {...}}. The tenant-manager replays them to STS
-- and so learns, from AWS, which role is calling.
local cjson = require("cjson.safe")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")

local M = {}

M.STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
M.CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
M.AUDIENCE = "tenant-manager"
M.EXPIRATION_HEADER = "X-Tenant-Manager-Credential-Expiration"

local function rfc3339(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch)
end

-- headers(opts, credentials, now) -> the header set to send as JSON.
--   opts = {sts_endpoint, region}
-- When the credentials expire, their expiration is signed along, so the
-- tenant-manager caches this identity no longer than the credentials live.
function M.headers(opts, c, now)
  local host = opts.sts_endpoint:match("^https?://([^/]+)")
  local h = {
    ["Content-Type"] = M.CONTENT_TYPE,
    ["X-Tenant-Manager-Audience"] = M.AUDIENCE,
  }
  if c.expiration then
    h[M.EXPIRATION_HEADER] = rfc3339(c.expiration)
  end
  local signed = sigv4.sign({ method = "POST", host = host, path = "/", headers = h, body = M.STS_BODY },
    c, { region = opts.region, service = "sts", now = now })
  h["Authorization"] = signed["Authorization"]
  h["X-Amz-Date"] = signed["X-Amz-Date"]
  h["X-Amz-Security-Token"] = signed["X-Amz-Security-Token"]
  return h
end

-- value(opts, credentials, now) -> the X-Caller-Identity header value.
function M.value(opts, c, now)
  return crypto.base64(cjson.encode({ headers = M.headers(opts, c, now) }))
end

return M
