-- ECS task-role credentials: read from the container credentials endpoint
-- (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or _FULL_URI with the token from
-- AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]), cached, and refreshed five
-- minutes before they expire.
local cjson = require("cjson.safe")

local M = {}
M.__index = M

local ECS_HOST = "http://169.254.170.2"
local REFRESH_BEFORE = 300

-- parse_iso8601 turns 2026-11-22T12:34:56Z into epoch seconds.
local function parse_iso8601(s)
  local y, mo, d, h, mi, sec = tostring(s):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return nil end
  -- Days from civil (Howard Hinnant), so no local time zone is involved.
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end
M.parse_iso8601 = parse_iso8601

-- new(opts): opts.http(url, headers) -> status, body | nil, err;
-- opts.getenv(name) and opts.read_file(path) default to os.getenv and io;
-- opts.now() returns epoch seconds.
function M.new(opts)
  return setmetatable({
    http = assert(opts.http, "credentials: http is required"),
    getenv = opts.getenv or os.getenv,
    read_file = opts.read_file or function(path)
      local f = io.open(path, "rb")
      if not f then return nil end
      local s = f:read("*a")
      f:close()
      return s
    end,
    now = opts.now or os.time,
  }, M)
end

function M:endpoint()
  local rel = self.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
  if rel and rel ~= "" then
    return ECS_HOST .. rel, {}
  end
  local full = self.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
  if full and full ~= "" then
    local token = self.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    local file = self.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if (not token or token == "") and file and file ~= "" then
      token = (self.read_file(file) or ""):gsub("%s+$", "")
    end
    local headers = {}
    if token and token ~= "" then headers["Authorization"] = token end
    return full, headers
  end
  return nil, nil
end

-- get() -> {access_key, secret_key, session_token, expires, expiration?} or nil, err
function M:get()
  local c = self.cached
  if c and c.expires - self.now() > REFRESH_BEFORE then
    return c
  end
  local url, headers = self:endpoint()
  if not url then
    return nil, "no container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is not set"
  end
  local status, body = self.http(url, headers)
  if status ~= 200 then
    -- Keep using credentials that have not expired yet.
    if c and c.expires > self.now() then return c end
    return nil, "container credentials endpoint answered " .. tostring(status or body)
  end
  local doc = cjson.decode(body or "")
  if type(doc) ~= "table" or not doc.AccessKeyId or not doc.SecretAccessKey then
    return nil, "container credentials endpoint returned no credentials"
  end
  -- expiration is what the endpoint said (nil when it said nothing);
  -- expires also bounds how long credentials without one are reused.
  local expiration = parse_iso8601(doc.Expiration)
  self.cached = {
    access_key = doc.AccessKeyId,
    secret_key = doc.SecretAccessKey,
    session_token = doc.Token,
    expires = expiration or (self.now() + 900),
    expiration = expiration,
  }
  return self.cached
end

return M
