-- AWS Signature Version 4 (header form) for non-S3 services: paths are
-- URI-encoded once more for the canonical request, queries are decoded and
-- re-encoded in sorted order, as AWS and its SDKs do.
--
-- sign(request, credentials, opts) -> headers to add
--   request     = {method, host, path, query (table or string), headers, body}
--                 path is as sent on the wire (percent-encoded); query as a
--                 table {k = v | {v1, v2}} or a raw query string
--   credentials = {access_key, secret_key, session_token?}
--   opts        = {region, service, now = epoch seconds}
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")

local M = {}

local byte, char, format, concat, sort = string.byte, string.char, string.format, table.concat, table.sort
local hex, sha256, hmac = crypto.hex, crypto.sha256, crypto.hmac_sha256

-- uri_encode percent-encodes everything but the RFC 3986 unreserved
-- characters (and '/' when keep_slash).
local function uri_encode(s, keep_slash)
  return (s:gsub("[^A-Za-z0-9%-%._~/]", function(c)
    return format("%%%02X", byte(c))
  end):gsub("/", keep_slash and "/" or "%%2F"))
end
M.uri_encode = uri_encode

local function uri_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- canonical_query sorts by encoded key, then encoded value.
local function canonical_query(query)
  local pairs_ = {}
  local function add(k, v)
    pairs_[#pairs_ + 1] = { uri_encode(k), uri_encode(v == true and "" or tostring(v)) }
  end
  if type(query) == "string" then
    for part in query:gmatch("[^&]+") do
      local k, v = part:match("^([^=]*)=?(.*)$")
      add(uri_decode(k), uri_decode(v))
    end
  elseif type(query) == "table" then
    for k, v in pairs(query) do
      if type(v) == "table" then
        for _, x in ipairs(v) do add(k, x) end
      else
        add(k, v)
      end
    end
  end
  sort(pairs_, function(a, b)
    if a[1] == b[1] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  local out = {}
  for i, p in ipairs(pairs_) do out[i] = p[1] .. "=" .. p[2] end
  return concat(out, "&")
end
M.canonical_query = canonical_query

-- Header values: trimmed, and runs of spaces collapsed to one (only spaces,
-- as aws-sdk-go-v2 does; AWS services accept what its SDKs send).
local function trim_value(v)
  return (tostring(v):gsub("^%s+", ""):gsub("%s+$", ""):gsub(" +", " "))
end

-- amz_date formats epoch seconds as 20060102T150405Z.
local function amz_date(now)
  return os.date("!%Y%m%dT%H%M%SZ", now)
end

-- Signing keys change once a day per secret/region/service: cache them.
local key_cache, key_cache_size = {}, 0

local function signing_key(secret, date, region, service)
  local ck = secret .. "\0" .. date .. "\0" .. region .. "\0" .. service
  local k = key_cache[ck]
  if k then return k end
  k = hmac(hmac(hmac(hmac("AWS4" .. secret, date), region), service), "aws4_request")
  if key_cache_size >= 64 then key_cache, key_cache_size = {}, 0 end
  key_cache[ck] = k
  key_cache_size = key_cache_size + 1
  return k
end

function M.sign(request, credentials, opts)
  assert(credentials and credentials.access_key and credentials.secret_key, "sigv4: credentials need access_key and secret_key")
  assert(opts and opts.region and opts.service, "sigv4: opts need region and service")
  local datetime = amz_date(opts.now or os.time())
  local date = datetime:sub(1, 8)

  local headers = {}
  for k, v in pairs(request.headers or {}) do
    headers[k:lower()] = trim_value(v)
  end
  headers["host"] = request.host
  headers["x-amz-date"] = datetime
  if credentials.session_token and credentials.session_token ~= "" then
    headers["x-amz-security-token"] = credentials.session_token
  end
  headers["authorization"] = nil

  local names = {}
  for k in pairs(headers) do names[#names + 1] = k end
  sort(names)
  local canon_headers = {}
  for i, k in ipairs(names) do canon_headers[i] = k .. ":" .. headers[k] .. "\n" end
  local signed_headers = concat(names, ";")

  local path = request.path or "/"
  if path == "" then path = "/" end
  local canonical_request = concat({
    request.method:upper(),
    uri_encode(path, true),
    canonical_query(request.query),
    concat(canon_headers),
    signed_headers,
    hex(sha256(request.body or "")),
  }, "\n")

  local scope = date .. "/" .. opts.region .. "/" .. opts.service .. "/aws4_request"
  local string_to_sign = "AWS4-HMAC-SHA256\n" .. datetime .. "\n" .. scope .. "\n" .. hex(sha256(canonical_request))
  local signature = hex(hmac(signing_key(credentials.secret_key, date, opts.region, opts.service), string_to_sign))

  local out = {
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. credentials.access_key .. "/" .. scope
      .. ", SignedHeaders=" .. signed_headers .. ", Signature=" .. signature,
    ["X-Amz-Date"] = datetime,
  }
  if headers["x-amz-security-token"] then
    out["X-Amz-Security-Token"] = credentials.session_token
  end
  return out, canonical_request
end

return M
