-- dynamic-lambda-router: after key-auth and ACL, checks that the
-- consumer's project is the request's project, finds the project's JWT
-- secret and Function URLs (worker memory -> Redis -> tenant-manager), mints
-- a short-lived HS256 JWT and forwards the request, SigV4-signed with the
-- task role, to the project's PostgREST Lambda (mode rest) or its edge
-- functions Lambda (mode functions).
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")
local cache = require("kong.plugins.dynamic-lambda-router.cache")
local credentials = require("kong.plugins.dynamic-lambda-router.credentials")
local cfgcache = require("kong.plugins.dynamic-lambda-router.cfgcache")
local identity = require("kong.plugins.dynamic-lambda-router.identity")
local bucket = require("kong.plugins.dynamic-lambda-router.bucket")
local body_reader = require("kong.plugins.dynamic-lambda-router.body")
local ratelog = require("kong.plugins.dynamic-lambda-router.ratelog")
local control = require("kong.plugins.dynamic-lambda-router.control")
local thirdparty = require("kong.plugins.dynamic-lambda-router.thirdparty")

local Handler = {
  -- Below ACL (950) so ACL really runs first; above the proxying plugins.
  PRIORITY = 900,
  VERSION = "1.1.0",
  -- At most one error-log line per call site and worker this often.
  LOG_INTERVAL = 10,
}

-- deps is replaced in tests by fakes of the same functions.
Handler.deps = nil

local function deps()
  if not Handler.deps then
    Handler.deps = require("kong.plugins.dynamic-lambda-router.deps")
  end
  return Handler.deps
end

local memory    -- per-worker cache of project configs (see cfgcache)
local creds     -- per-worker task-role credentials provider
local tm_bucket -- per-worker budget of config API calls while Redis is down
local redis_down_until = 0
local logger    -- per-worker rate limit of the error-log lines
local local_buckets -- per-worker project rate limits while Redis is down
local tpa       -- per-worker third-party signing keys (see thirdparty)

-- reset() drops the per-worker state (tests use it between cases).
function Handler.reset()
  memory, creds, tm_bucket, redis_down_until, logger, local_buckets = nil, nil, nil, 0, nil, nil
  tpa = nil
end

-- log(kind, level, ...) writes to the error log through deps.log, never
-- with the request's line and query string (which may carry keys), and at
-- most once per LOG_INTERVAL per kind (see ratelog).
local function log(kind, level, ...)
  if not logger then
    logger = ratelog.new(Handler.LOG_INTERVAL, function() return deps().now() end,
      function(lvl, msg) return deps().log(lvl, msg) end)
  end
  return logger:log(kind, level, ...)
end

local PROJECT_ID = "^[a-z][a-z0-9%-]+[a-z0-9]$"
local ROLES = { anon = true, service_role = true }
local UNAVAILABLE = "Service unavailable"

-- Headers that describe one hop (RFC 9110 7.6.1, RFC 9113 8.2.2), or that
-- the gateway owns. Expect too: the gateway already holds the whole body,
-- and with "Expect: 100-continue" lua-resty-http would withhold it until
-- the Function URL answers 100, which it need not do (the request would
-- hang until upstream_timeout_ms, then fail).
local DROP_REQUEST = {
  ["connection"] = true, ["keep-alive"] = true, ["proxy-authenticate"] = true,
  ["proxy-authorization"] = true, ["proxy-connection"] = true, ["te"] = true,
  ["trailer"] = true, ["transfer-encoding"] = true, ["upgrade"] = true,
  ["http2-settings"] = true, ["expect"] = true, ["host"] = true,
  ["content-length"] = true, ["authorization"] = true, ["apikey"] = true,
  ["x-client-authorization"] = true, ["x-amz-date"] = true,
  ["x-amz-security-token"] = true, ["x-amz-content-sha256"] = true,
}
-- Functions get no cookies either: the platform's domain is shared by
-- every project, so a cookie set for it (another project's function, an
-- app's session cookie) would reach every project's functions.
local DROP_FUNCTIONS = { ["cookie"] = true }
local DROP_RESPONSE = {
  ["connection"] = true, ["keep-alive"] = true, ["transfer-encoding"] = true,
  ["content-length"] = true, ["trailer"] = true, ["upgrade"] = true,
}

local function fail(status, message)
  return kong.response.exit(status, { message = message }, { ["Content-Type"] = "application/json" })
end

-- rate_headers(decision) -> the X-RateLimit-* headers of an answer, nil
-- when the project has no limit.
local function rate_headers(d)
  if not d or not d.limit or d.limit < 1 or d.remaining < 0 then return nil end
  return { ["X-RateLimit-Limit"] = tostring(d.limit), ["X-RateLimit-Remaining"] = tostring(d.remaining) }
end

-- parse_consumer splits "{project}--{role}" at the last "--": project ids
-- contain single dashes, never two.
local function parse_consumer(username)
  if type(username) ~= "string" then return nil end
  local project, role = username:match("^(.*)%-%-([^%-]+)$")
  if not project or not ROLES[role] or #project < 3 or #project > 40
    or not project:match(PROJECT_ID) or project:find("--", 1, true) then
    return nil
  end
  return project, role
end
Handler.parse_consumer = parse_consumer

local function task_credentials()
  if not creds then
    creds = credentials.new({
      http = function(url, headers)
        local status, _, body = deps().http("GET", url, headers, nil, 2000)
        return status, body
      end,
      now = function() return deps().now() end,
    })
  end
  return creds:get()
end

-- from_tenant_manager asks the config API; returns cfg or nil, status, message.
local function from_tenant_manager(conf, project)
  local c, err = task_credentials()
  if not c then
    log("identity_credentials", "ERR", "no AWS credentials for the caller identity: ", err)
    return nil, 503, UNAVAILABLE
  end
  local url = conf.tenant_manager_url:gsub("/+$", "") .. "/project/" .. project .. "/config"
  local status, _, body_or_err = deps().http("GET", url, {
    ["X-Caller-Identity"] = identity.value({ sts_endpoint = conf.sts_endpoint, region = conf.aws_region }, c, deps().now()),
    ["Accept"] = "application/json",
  }, nil, conf.tenant_manager_timeout_ms)
  if not status then
    log("tm_unreachable", "ERR", "tenant-manager unreachable: ", body_or_err)
    return nil, 503, UNAVAILABLE
  end
  if status == 404 then
    return nil, 404, "Project not found"
  end
  if status ~= 200 then
    log("tm_status", "ERR", "tenant-manager answered ", status, " for project ", project)
    return nil, 503, UNAVAILABLE
  end
  local cfg, why = cfgcache.parse(body_or_err or "", project)
  if not cfg then
    log("tm_unusable", "ERR", "tenant-manager returned an unusable config for project ", project, ": ", why)
    return nil, 503, UNAVAILABLE
  end
  return cfg
end

-- refill writes cfg to Redis through the shared script, in one round trip.
-- When Redis already holds a newer version, that one is used instead: the
-- refill raced a key rotation and lost.
local function refill(conf, red, project, cfg)
  local key = cfgcache.key(project)
  local doc, version = cfgcache.encode(cfg)
  local res, err = red:eval(cfgcache.SCRIPT, key, doc, version, tostring(conf.cache_ttl))
  if not res then
    log("redis_refill", "WARN", "redis refill failed: ", err)
    return cfg
  end
  if res == 0 then
    local raw = red:get(key)
    local newer = raw and cfgcache.parse(raw, project)
    if newer then return newer end
  end
  return cfg
end

-- redis_connect connects to Redis unless it failed less than
-- redis_retry_seconds ago. Returns the client (nil while paused or when
-- refused), the error and the time of the attempt, for redis_failed.
local function redis_connect(conf)
  local now = deps().now()
  if now < redis_down_until then return nil, nil, now end
  local red, err = deps().redis(conf)
  return red, err, now
end

-- redis_failed pauses the use of Redis after a failure at now: requests
-- meanwhile go without it rather than each wait for its timeout.
local function redis_failed(conf, now, err)
  redis_down_until = now + conf.redis_retry_seconds
  log("redis_down", "ERR", "redis unavailable, next attempt in ", conf.redis_retry_seconds, " s: ", err)
end

-- fetch asks Redis, then the tenant-manager. Returns cfg, or nil, status,
-- message and whether Redis was unavailable.
local function fetch(conf, project)
  local red, err, now = redis_connect(conf)
  if red then
    local raw, gerr = red:get(cfgcache.key(project))
    if raw then
      local cfg, why = cfgcache.parse(raw, project)
      if cfg then
        red:close()
        return cfg
      end
      -- Refilled below; the script overwrites what it cannot decode.
      log("redis_unusable", "WARN", "unusable cached config for project ", project, ": ", why)
    elseif raw == nil then
      red:close()
      red, err = nil, gerr
    end
  end
  if red then
    local cfg, status, message = from_tenant_manager(conf, project)
    if cfg then cfg = refill(conf, red, project, cfg) end
    red:close()
    return cfg, status, message, false
  end
  if err then redis_failed(conf, now, err) end
  return nil, 503, UNAVAILABLE, true
end

-- lookup finds the project's config: fresh from worker memory, else from
-- Redis or the tenant-manager. When those fail: a stale memory copy (at
-- most stale_ttl past its TTL), then, while Redis is down, the
-- tenant-manager within a per-worker rate. A 404 is final.
local function lookup(conf, project)
  if not memory then
    memory = cache.new(conf.memory_cache_max_items, function() return deps().now() end)
  end
  local cfg = memory:get(project)
  if cfg then return cfg end

  local status, message, redis_failed
  cfg, status, message, redis_failed = fetch(conf, project)
  if not cfg and status ~= 404 then
    local stale, late = memory:get_stale(project)
    if stale then
      log("stale", "WARN", "serving project ", project, " from a config ", late, " s past its TTL")
      return stale
    end
    if redis_failed then
      if not tm_bucket then
        tm_bucket = bucket.new(conf.tenant_manager_fallback_rate, conf.tenant_manager_fallback_burst,
          function() return deps().now() end)
      end
      if tm_bucket:take() then
        cfg, status, message = from_tenant_manager(conf, project)
      else
        log("fallback_rate", "WARN", "config API fallback over its rate, project ", project)
      end
    end
  end
  if not cfg then return nil, status, message end
  memory:set(project, cfg, conf.memory_cache_ttl, conf.stale_ttl)
  return cfg
end

-- local_decision: the fallback while Redis is unavailable, a token bucket
-- per project in this worker holding its share of the task's budget.
local function local_decision(conf, project, rps, burst)
  if not local_buckets then
    local_buckets = cache.new(conf.memory_cache_max_items, function() return deps().now() end)
  end
  local b = local_buckets:get(project)
  if not b or b.limit ~= rps or b.full ~= burst then
    local workers = deps().worker_count and deps().worker_count() or 1
    if type(workers) ~= "number" or workers < 1 then workers = 1 end
    b = bucket.new(rps / workers, math.max(1, math.floor(burst / workers)), function() return deps().now() end)
    b.limit, b.full = rps, burst
  end
  -- Kept until it would be full again; a new bucket is full too.
  local_buckets:set(project, b, math.ceil(b.burst / b.rate) + 1)
  return control.local_decision(b)
end

-- admit decides whether the project may be served now: paused, and the
-- rate limit. One script call per request on Redis (read the control hash,
-- take a token), which every task shares. When Redis is unavailable or
-- answers an error: the config document's paused flag and a local bucket.
-- Returns the decision {paused, allowed, remaining, retry_after, limit}.
local function admit(conf, project, cfg)
  local rps, burst = control.limits(cfg, conf)
  local red, err, now = redis_connect(conf)
  if red then
    local res, eerr, transport = red:evalsha(control.SHA, control.SCRIPT, 2, control.ctl_key(project), control.bucket_key(project),
      cfg.paused and "1" or "0", tostring(rps), tostring(burst))
    red:close()
    local d = control.decode(res)
    if d then return d end
    if transport then
      err = eerr
    else
      log("control_reply", "ERR", "unexpected answer of the control script for project ", project, ": ", eerr or "not a list of 5 numbers")
    end
  end
  if err then redis_failed(conf, now, err) end
  if cfg.paused then return { paused = true } end
  if rps < 1 or burst < 1 then return { allowed = true, remaining = -1 } end
  return local_decision(conf, project, rps, burst)
end

-- refuse answers a paused or limited project; nil when it may be served.
local function refuse(project, d)
  if d.paused then
    return kong.response.exit(403, { code = "project_paused", message = "project " .. project .. " is paused" },
      { ["Content-Type"] = "application/json" })
  end
  if not d.allowed then
    local h = rate_headers(d) or {}
    h["Content-Type"] = "application/json"
    h["Retry-After"] = tostring(math.max(1, d.retry_after or 1))
    return kong.response.exit(429, { code = "rate_limited",
      message = "rate limit of project " .. project .. " exceeded, retry after " .. h["Retry-After"] .. " s" }, h)
  end
end

-- third_party(conf) -> this worker's third-party key store, on the same
-- Redis (and its retry pause after a failure) and HTTP client as the rest.
local function third_party(conf)
  if not tpa then
    tpa = thirdparty.new({
      now = function() return deps().now() end,
      fetch = function(url, timeout_ms, max_bytes) return deps().fetch(url, timeout_ms, max_bytes) end,
      redis = function()
        local now = deps().now()
        if now < redis_down_until then return nil, "redis unavailable (retry pause)" end
        local red, err = deps().redis(conf)
        if not red then redis_down_until = now + conf.redis_retry_seconds end
        return red, err
      end,
      log = log,
    })
  end
  return tpa
end

-- connection_options returns the set of header names the Connection
-- header lists (they belong to this hop only, RFC 9110 7.6.1), or nil.
local function connection_options(value)
  if value == nil then return nil end
  local set = {}
  for _, v in ipairs(type(value) == "table" and value or { value }) do
    for name in tostring(v):gmatch("[^,%s]+") do set[name:lower()] = true end
  end
  return set
end

-- lambda_request_id(headers) -> the Lambda's x-amzn-RequestId (a UUID)
-- for the access log, nil when absent or not shaped like one.
local function lambda_request_id(headers)
  for k, v in pairs(headers or {}) do
    if type(k) == "string" and k:lower() == "x-amzn-requestid" then
      if type(v) == "string" and #v <= 64 and v:match("^[%w%-]+$") then return v end
      return nil
    end
  end
  return nil
end
Handler.lambda_request_id = lambda_request_id

-- Function slugs as the management API accepts them.
local SLUG = "^[A-Za-z][A-Za-z0-9_-]*$"
local MAX_SLUG = 100

-- function_path(raw_path, prefix) -> "/<slug>[/rest]", or nil, status,
-- code, message. URL parsers (the function runtime's included) resolve
-- "." and ".." segments, also written %2e, and read "\" as "/": such a
-- path could leave the slug it names, so it is refused.
local function function_path(raw, prefix)
  local rest = raw:sub(#prefix + 1)
  if raw:sub(1, #prefix) ~= prefix or (rest ~= "" and rest:sub(1, 1) ~= "/") then
    return nil, 404, "function_not_found", "no function at this path"
  end
  local slug = rest:match("^/([^/]*)")
  if not slug or #slug > MAX_SLUG or not slug:match(SLUG) then
    return nil, 404, "function_not_found", "no function at this path"
  end
  for segment in rest:gmatch("[^/\\]+") do
    local dots = segment:lower():gsub("%%2e", ".")
    if dots == "." or dots == ".." then
      return nil, 400, "invalid_path", "path segments . and .. are not allowed"
    end
  end
  return rest
end
Handler.function_path = function_path

local function strip(path, prefix)
  if prefix and prefix ~= "" and path:sub(1, #prefix) == prefix then
    path = path:sub(#prefix + 1)
  end
  if path == "" or path:sub(1, 1) ~= "/" then path = "/" .. path end
  return path
end

function Handler:access(conf)
  local consumer = kong.client.get_consumer()
  if not consumer or not consumer.username then
    return fail(401, "Unauthorized")
  end
  local project, role = parse_consumer(consumer.username)
  if not project then
    log("bad_consumer", "WARN", "consumer name is not {project}--{role}: ", consumer.username)
    return fail(403, "Forbidden")
  end
  -- Set by the route's pre-function from the Host (or, without a domain,
  -- from X-Project-ID); a client cannot choose it in domain mode.
  local requested = kong.ctx.shared.project_id
  if requested ~= project then
    log("wrong_project", "WARN", "API key of project ", project, " used for project ", tostring(requested))
    return fail(403, "Forbidden: the API key does not belong to this project")
  end
  -- For the access log (render.lua's access_log_fields), like the fields
  -- set below: the role this request runs as.
  kong.ctx.shared.key_role = role

  local target, status, message = lookup(conf, project)
  if not target then
    return fail(status, message)
  end
  -- Pause and rate limit before the body is read: a refused request costs
  -- no upload.
  local decision = admit(conf, project, target)
  if decision.paused or not decision.allowed then
    return refuse(project, decision)
  end
  local limit_headers = rate_headers(decision)
  kong.ctx.plugin.rate_headers = limit_headers

  local upstream, path = target.function_url, nil
  if conf.mode == "functions" then
    local fstatus, code, fmessage
    path, fstatus, code, fmessage = function_path(kong.request.get_raw_path(), conf.strip_prefix)
    if path and not target.functions_url then
      -- Nothing deployed yet: the project has no functions Lambda.
      path, fstatus, code, fmessage = nil, 404, "function_not_found", "project " .. project .. " has no functions"
    end
    if not path then
      return kong.response.exit(fstatus, { code = code, message = fmessage }, { ["Content-Type"] = "application/json" })
    end
    upstream = target.functions_url
  end

  -- A user's token of a third-party issuer makes the request run as
  -- authenticated; one that does not verify is refused, never served with
  -- the API key's role. Checked before the body is read.
  local user
  local bearer = thirdparty.bearer(kong.request.get_header("Authorization"))
  if bearer ~= nil then
    local tstatus, tcode, treason
    if bearer then
      user, tstatus, tcode, treason = third_party(conf):authenticate(target, bearer)
    else
      tstatus, tcode, treason = 401, "invalid_token", "Authorization is not Bearer <token>"
    end
    if not user then
      local h = { ["Content-Type"] = "application/json" }
      if tstatus == 401 then h["WWW-Authenticate"] = 'Bearer error="invalid_token", error_description="' .. treason .. '"' end
      return kong.response.exit(tstatus, { code = tcode, message = treason }, h)
    end
    kong.ctx.shared.key_role = "authenticated"
  end

  -- A request that cannot be forwarded whole is refused, never forwarded
  -- in part.
  local body, bstatus, bmessage, bdetail = body_reader.read(deps().ngx_req(), {
    limit = conf.max_body_bytes,
    content_length = kong.request.get_header("Content-Length"),
  })
  if not body then
    if bstatus >= 500 then
      log("body", "ERR", "request body could not be read: ", bdetail)
    end
    return fail(bstatus, bmessage)
  end

  local now = deps().now()
  local claims = user and thirdparty.internal_claims(user, project, now, conf.jwt_ttl)
    or { iss = "supabase", ref = project, role = role, iat = now, exp = now + conf.jwt_ttl }
  local token, jerr = jwt.sign_hs256(claims, target.jwt_secret, target.jwt_kid)
  if not token then
    log("jwt", "ERR", "minting the JWT failed: ", jerr)
    return fail(500, "Internal error")
  end
  local c, cerr = task_credentials()
  if not c then
    log("lambda_credentials", "ERR", "no AWS credentials to sign the Lambda call: ", cerr)
    return fail(503, "Service unavailable")
  end

  local host = upstream:match("^https://([^/:]+)")
  local region = host:match("%.lambda%-url%.([a-z0-9%-]+)%.on%.aws$") or conf.aws_region
  path = path or strip(kong.request.get_raw_path(), conf.strip_prefix)
  local query = sigv4.canonical_query(kong.request.get_raw_query() or "")
  local method = kong.request.get_method()

  local headers = {}
  local incoming = kong.request.get_headers()
  local hop = connection_options(incoming["connection"])
  local drop_more = conf.mode == "functions" and DROP_FUNCTIONS or nil
  for k, v in pairs(incoming) do
    local lk = k:lower()
    if not DROP_REQUEST[lk] and not (hop and hop[lk]) and not (drop_more and drop_more[lk]) then
      headers[lk] = type(v) == "table" and table.concat(v, ", ") or v
    end
  end
  local signed = {
    ["x-client-authorization"] = "Bearer " .. token,
    ["content-type"] = headers["content-type"],
  }
  local auth = sigv4.sign({ method = method, host = host, path = path, query = query, headers = signed, body = body },
    c, { region = region, service = "lambda", now = now })
  headers["x-client-authorization"] = signed["x-client-authorization"]
  for k, v in pairs(auth) do headers[k] = v end

  local url = "https://" .. host .. path .. (query ~= "" and ("?" .. query) or "")
  local started = deps().now_ms()
  local ustatus, uheaders, ubody = deps().http(method, url, headers, body, conf.upstream_timeout_ms)
  kong.ctx.shared.upstream_ms = math.max(0, deps().now_ms() - started)
  kong.ctx.shared.lambda_request_id = lambda_request_id(uheaders)
  if not ustatus then
    log("lambda_unreachable", "ERR", "project ", project, ": Lambda unreachable: ", ubody)
    return fail(502, "Bad gateway")
  end
  local out = {}
  for k, v in pairs(uheaders or {}) do
    local lk = k:lower()
    if not DROP_RESPONSE[lk] and not (limit_headers and lk:sub(1, 12) == "x-ratelimit-") then out[k] = v end
  end
  for k, v in pairs(limit_headers or {}) do out[k] = v end
  return kong.response.exit(ustatus, ubody, out)
end

-- The X-RateLimit-* headers on the answers the router does not build
-- itself (errors after the limit was taken, e.g. 413 or 401).
function Handler:header_filter(conf)
  local h = kong.ctx.plugin.rate_headers
  if h then
    for k, v in pairs(h) do kong.response.set_header(k, v) end
  end
end

return Handler
