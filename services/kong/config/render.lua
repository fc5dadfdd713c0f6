-- Renders Kong's declarative base configuration (JSON) from the environment.
-- Run by the entrypoint with Kong's `resty` (luajit in tests):
--   resty render.lua > kong.json
-- Entities carry fixed ids, so `kong config db_import` of the output is an
-- idempotent upsert on every start; consumers (made by the tenant-manager)
-- are never touched.
local cjson = require("cjson")
if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local getenv = os.getenv

local function fail(msg)
  io.stderr:write("render: ", msg, "\n")
  os.exit(1)
end

local function required(name)
  local v = getenv(name)
  if not v or v == "" then fail(name .. " must be set") end
  return v
end

-- bounded(name, default, lo, hi, whole): the variable as a number in
-- lo..hi (a whole one when whole), default when unset or empty.
local function bounded(name, default, lo, hi, whole)
  local v = getenv(name)
  if not v or v == "" then return default end
  local n = tonumber(v)
  if not n or n ~= n or n < lo or n > hi or (whole and n % 1 ~= 0) then
    fail(string.format("%s must be a %s %s..%s, got %q", name, whole and "whole number" or "number", tostring(lo), tostring(hi), v))
  end
  return n
end

local function integer(name, default, lo, hi) return bounded(name, default, lo, hi, true) end
local function number(name, default, lo, hi) return bounded(name, default, lo, hi, false) end

local domain = (getenv("PLATFORM_DOMAIN") or ""):lower()
if domain ~= "" and not domain:match("^[a-z0-9][a-z0-9%.%-]*[a-z0-9]$") then
  fail("PLATFORM_DOMAIN must be a DNS name, got " .. string.format("%q", domain))
end
local tenant_manager_url = required("TENANT_MANAGER_URL")
local sts_endpoint = required("STS_ENDPOINT")
local region = required("AWS_REGION")
local redis_host = required("KONG_REDIS_HOST")
local redis_port = integer("KONG_REDIS_PORT", 6379, 1, 65535)
local jwt_ttl = integer("JWT_TTL_SECONDS", 300, 30, 3600)
local cache_ttl = integer("CACHE_TTL_SECONDS", 300, 1, 3600)
local cors_origins = getenv("CORS_ORIGINS") or "*"
-- The entrypoint sets nginx's client_max_body_size from the same variable
-- and default.
local max_body_bytes = integer("MAX_BODY_BYTES", 1048576, 1024, 6291456)
-- Not part of the configuration: checked here for the entrypoint, which
-- hands them to nginx (client_body_buffer_size, client_body_timeout). The
-- buffer is allocated per upload in progress, hence its low ceiling.
integer("CLIENT_BODY_BUFFER_BYTES", 65536, 1024, 262144)
integer("CLIENT_BODY_TIMEOUT_SECONDS", 10, 1, 60)
local stale_ttl = integer("CACHE_STALE_SECONDS", 300, 0, 3600)
local fallback_rate = number("TENANT_MANAGER_FALLBACK_RATE", 5, 0.1, 1000)
local fallback_burst = integer("TENANT_MANAGER_FALLBACK_BURST", 10, 1, 1000)
-- A project's default request rate and burst, shared by every Kong task
-- through Redis; a project's own limit (management API) overrides them.
-- 0 = no default limit.
local rate_limit_rps = integer("RATE_LIMIT_RPS", 100, 0, 1000000)
local rate_limit_burst = integer("RATE_LIMIT_BURST", 200, 0, 1000000)
-- How long the gateway waits for a function's answer: the functions
-- Lambda's own timeout (150 s by default) and its start.
local functions_timeout = integer("FUNCTIONS_TIMEOUT_SECONDS", 155, 1, 900)

local f = assert(io.open(here .. "/pre-function.lua", "rb"))
local pre_function = f:read("*a"):gsub("__PLATFORM_DOMAIN__", function() return string.format("%q", domain) end)
f:close()

-- mode: "rest" (the router calls the project's PostgREST Lambda) or
-- "functions" (its edge functions Lambda); prefix: the route's path, which
-- the Lambda does not see.
local function plugins(prefix, mode, strip_prefix, upstream_timeout_ms)
  local list = {
    { id = prefix .. "01", name = "pre-function", config = { access = { pre_function } } },
    -- Keys only in the apikey header: a key in a query string or a form
    -- body would travel in URLs and logs.
    { id = prefix .. "02", name = "key-auth", config = { key_names = { "apikey" }, hide_credentials = true,
      key_in_header = true, key_in_query = false, key_in_body = false } },
    { id = prefix .. "03", name = "acl", config = { allow = { "anon", "admin" }, hide_groups_header = true } },
  }
  if mode then
    list[#list + 1] = { id = prefix .. "04", name = "dynamic-lambda-router", config = {
      mode = mode,
      tenant_manager_url = tenant_manager_url,
      sts_endpoint = sts_endpoint,
      aws_region = region,
      jwt_ttl = jwt_ttl,
      cache_ttl = cache_ttl,
      redis_host = redis_host,
      redis_port = redis_port,
      -- Resolved by Kong's env vault from KONG_REDIS_PASSWORD at run time.
      redis_password = "{vault://env/kong-redis-password}",
      redis_ssl = true,
      redis_ssl_verify = true,
      strip_prefix = strip_prefix,
      upstream_timeout_ms = upstream_timeout_ms,
      max_body_bytes = max_body_bytes,
      stale_ttl = stale_ttl,
      tenant_manager_fallback_rate = fallback_rate,
      tenant_manager_fallback_burst = fallback_burst,
      rate_limit_rps = rate_limit_rps,
      rate_limit_burst = rate_limit_burst,
    } }
  end
  return list
end

-- file-log runs each snippet in the log phase and hands its result to
-- kong.log.set_serialize_value(field, result): dots in the field name walk
-- into the serialized entry, and nil removes the field. Query strings are
-- redacted whole (a client may put an API key or personal data there),
-- credential headers replaced when present (Kong already does so for
-- Authorization and Proxy-Authorization; repeated here so it does not hang
-- on a default). Cookies too: a browser app may keep its session token
-- (sb-<ref>-auth-token) in one. Every snippet returns exactly one value.
local REDACTED_URI = [[
local u = ngx.var.request_uri or ""
local path = u:gsub("%?.*$", "")
if path ~= u then path = path .. "?REDACTED" end
]]
-- The request's timings in whole milliseconds: total = Kong's
-- latencies.request ($request_time); upstream = the router's own
-- measurement around the Lambda call (Kong proxies nothing itself), nil
-- when nothing upstream was asked.
local TIMINGS = [[
local total = math.floor((tonumber(ngx.var.request_time) or 0) * 1000 + 0.5)
local up = kong.ctx.shared.upstream_ms
if type(up) ~= "number" or up < 0 then up = nil end
if up then up = math.floor(up + 0.5) end
]]
local function header_redaction(name)
  return string.format("if kong.request.get_header(%q) ~= nil then return \"REDACTED\" end return nil", name)
end
-- Top-level fields the stack's metric filters, Contributor Insights rules
-- and saved queries read (constructs/tenantmetrics.go); a nil result leaves
-- the field out (Kong's serializer takes no JSON null).
local access_log_fields = {
  project_id = "return kong.ctx.shared.project_id",
  -- Set by the router once the key is bound to the project: anon or
  -- service_role, authenticated for a verified third-party token.
  key_role = "return kong.ctx.shared.key_role",
  -- The route's name; Kong's own route object would be logged here.
  route = [[
local r = kong.router.get_route()
local name = type(r) == "table" and r.name
if name == "rest" or name == "functions" then return name end
return nil
]],
  status = "return ngx.status",
  latency_ms = TIMINGS .. "return total",
  upstream_ms = TIMINGS .. "return up",
  gateway_ms = TIMINGS .. "return math.max(0, total - (up or 0))",
  lambda_request_id = "return kong.ctx.shared.lambda_request_id",
  -- Only how many parameters there were: a key sent as a parameter's name
  -- (?sb_secret_…) must not reach the log any more than one sent as a value.
  ["request.querystring"] = "local n = 0 for _ in pairs(kong.request.get_query()) do n = n + 1 end return n",
  ["request.uri"] = REDACTED_URI .. "return path",
  ["request.url"] = REDACTED_URI ..
    "return ngx.var.scheme .. \"://\" .. ngx.var.host .. \":\" .. (ngx.ctx.host_port or ngx.var.server_port) .. path",
  upstream_uri = [[
local u = ngx.var.upstream_uri or ""
if u == "" then return "" end
local path = u:gsub("%?.*$", "")
if path ~= u or ngx.var.is_args == "?" then path = path .. "?REDACTED" end
return path
]],
  ["request.headers.apikey"] = header_redaction("apikey"),
  ["request.headers.authorization"] = header_redaction("authorization"),
  ["request.headers.proxy-authorization"] = header_redaction("proxy-authorization"),
  ["request.headers.cookie"] = header_redaction("cookie"),
  -- The gateway's own JWT header; a client may send one (never forwarded).
  ["request.headers.x-client-authorization"] = header_redaction("x-client-authorization"),
  ["response.headers.set-cookie"] =
    "if kong.response.get_header(\"set-cookie\") ~= nil then return \"REDACTED\" end return nil",
}

-- service(n, name, path, strip_path, service_plugins): service n (its id and
-- its route's end in n) with one route on path.
local function service(n, name, path, strip_path, service_plugins)
  return {
    id = "5b1f0000-0000-4000-8000-00000000000" .. n, name = name, url = "http://127.0.0.1:9",
    routes = { { id = "5b1f0000-0000-4000-8000-00000000001" .. n, name = name, paths = { path }, strip_path = strip_path,
      protocols = { "http", "https" } } },
    plugins = service_plugins,
  }
end

local config = {
  _format_version = "3.0",
  services = {
    -- Never dialled: dynamic-lambda-router answers every request, calling
    -- the project's PostgREST or functions Lambda itself.
    service(1, "rest", "/rest/v1", false, plugins("5b1f0000-0000-4000-8000-0000000001", "rest", "/rest/v1", nil)),
    service(2, "functions", "/functions/v1", false,
      plugins("5b1f0000-0000-4000-8000-0000000002", "functions", "/functions/v1", functions_timeout * 1000)),
    service(3, "health", "/health", true, { { id = "5b1f0000-0000-4000-8000-000000000301", name = "request-termination",
      config = { status_code = 200, content_type = "application/json", body = '{"status":"ok"}' } } }),
  },
  plugins = {
    { id = "5b1f0000-0000-4000-8000-000000000901", name = "cors", config = {
      origins = { cors_origins },
      methods = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" },
      headers = { "Accept", "Authorization", "Content-Type", "apikey", "Prefer", "Range", "X-Client-Info", "Accept-Profile", "Content-Profile", "X-Project-ID" },
      exposed_headers = { "Content-Range", "Content-Location", "Preference-Applied", "Retry-After", "X-RateLimit-Limit",
        "X-RateLimit-Remaining" },
      credentials = false, max_age = 3600,
    } },
    -- JSON access log on stdout (CloudWatch): Kong's file-log entry
    -- (consumer, status, latencies, …) plus the project id, without
    -- anything that may carry a key (see access_log_fields).
    { id = "5b1f0000-0000-4000-8000-000000000902", name = "file-log", config = {
      path = "/dev/stdout", reopen = false,
      custom_fields_by_lua = access_log_fields,
    } },
  },
}

io.write(cjson.encode(config), "\n")
