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

local function integer(name, default, lo, hi)
  local v = getenv(name)
  if not v or v == "" then return default end
  local n = tonumber(v)
  if not n or n % 1 ~= 0 or n < lo or n > hi then
    fail(string.format("%s must be a whole number %d..%d, got %q", name, lo, hi, v))
  end
  return n
end

local domain = (getenv("PLATFORM_DOMAIN") or ""):lower()
if domain ~= "" and not domain:match("^[a-z0-9][a-z0-9%.%-]*[a-z0-9]$") then
  fail("PLATFORM_DOMAIN must be a DNS name, got " .. string.format("%q", domain))
end
local tenant_manager_url = required("TENANT_MANAGER_URL")
local sts_endpoint = required("STS_ENDPOINT")
local region = required("AWS_REGION")
local redis_host = required("KONG_REDIS_HOST")
local redis_port = integer("KONG_REDIS_PORT", 6379, 1, 65535)
local functions_url = getenv("FUNCTIONS_URL") or "http://functions-service.kong.local:8080"
local jwt_ttl = integer("JWT_TTL_SECONDS", 300, 30, 3600)
local cache_ttl = integer("CACHE_TTL_SECONDS", 300, 1, 3600)
local cors_origins = getenv("CORS_ORIGINS") or "*"

local f = assert(io.open(here .. "/pre-function.lua", "rb"))
local pre_function = f:read("*a"):gsub("__PLATFORM_DOMAIN__", function() return string.format("%q", domain) end)
f:close()

local function plugins(prefix, with_router)
  local list = {
    { id = prefix .. "01", name = "pre-function", config = { access = { pre_function } } },
    { id = prefix .. "02", name = "key-auth", config = { key_names = { "apikey" }, hide_credentials = true } },
    { id = prefix .. "03", name = "acl", config = { allow = { "anon", "admin" }, hide_groups_header = true } },
  }
  if with_router then
    list[#list + 1] = { id = prefix .. "04", name = "dynamic-lambda-router", config = {
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
      strip_prefix = "/rest/v1",
    } }
  end
  return list
end

local config = {
  _format_version = "3.0",
  services = {
    {
      id = "5b1f0000-0000-4000-8000-000000000001", name = "rest",
      -- Never dialled: dynamic-lambda-router answers every request.
      url = "http://127.0.0.1:9",
      routes = { { id = "5b1f0000-0000-4000-8000-000000000011", name = "rest", paths = { "/rest/v1" }, strip_path = false, protocols = { "http", "https" } } },
      plugins = plugins("5b1f0000-0000-4000-8000-0000000001", true),
    },
    {
      id = "5b1f0000-0000-4000-8000-000000000002", name = "functions",
      url = functions_url,
      routes = { { id = "5b1f0000-0000-4000-8000-000000000012", name = "functions", paths = { "/functions/v1" }, strip_path = false, protocols = { "http", "https" } } },
      plugins = plugins("5b1f0000-0000-4000-8000-0000000002", false),
    },
    {
      id = "5b1f0000-0000-4000-8000-000000000003", name = "health",
      url = "http://127.0.0.1:9",
      routes = { { id = "5b1f0000-0000-4000-8000-000000000013", name = "health", paths = { "/health" }, strip_path = true, protocols = { "http", "https" } } },
      plugins = { { id = "5b1f0000-0000-4000-8000-000000000301", name = "request-termination",
        config = { status_code = 200, content_type = "application/json", body = '{"status":"ok"}' } } },
    },
  },
  plugins = {
    { id = "5b1f0000-0000-4000-8000-000000000901", name = "cors", config = {
      origins = { cors_origins },
      methods = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" },
      headers = { "Accept", "Authorization", "Content-Type", "apikey", "Prefer", "Range", "X-Client-Info", "Accept-Profile", "Content-Profile", "X-Project-ID" },
      exposed_headers = { "Content-Range", "Content-Location", "Preference-Applied" },
      credentials = false, max_age = 3600,
    } },
    -- JSON access log on stdout: Kong's file-log entry (consumer, status,
    -- latencies, …) plus the project id.
    { id = "5b1f0000-0000-4000-8000-000000000902", name = "file-log", config = {
      path = "/dev/stdout", reopen = false,
      custom_fields_by_lua = { project_id = "return kong.ctx.shared.project_id" },
    } },
  },
}

io.write(cjson.encode(config), "\n")
