-- dynamic-lambda-router (SPEC §2 step 3): after key-auth and ACL, checks
-- that the consumer's project is the request's project, finds the project's
-- JWT secret and Function URL (worker memory → Redis → tenant-manager),
-- mints a short-lived HS256 JWT and forwards the request, SigV4-signed with
-- the task role, to the project's PostgREST Lambda.
local cjson = require("cjson.safe")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")
local cache = require("kong.plugins.dynamic-lambda-router.cache")
local credentials = require("kong.plugins.dynamic-lambda-router.credentials")

local Handler = {
  -- Below ACL (950) so ACL really runs first; above the proxying plugins.
  PRIORITY = 900,
  VERSION = "1.0.0",
}

-- deps is replaced in tests by fakes of the same functions.
Handler.deps = nil

local function deps()
  if not Handler.deps then
    Handler.deps = require("kong.plugins.dynamic-lambda-router.deps")
  end
  return Handler.deps
end

local memory -- per-worker cache of {jwt_secret, function_url}
local creds  -- per-worker task-role credentials provider

-- reset() drops the per-worker state (tests use it between cases).
function Handler.reset()
  memory, creds = nil, nil
end

local STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
local STS_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
local PROJECT_ID = "^[a-z][a-z0-9%-]+[a-z0-9]$"
local ROLES = { anon = true, service_role = true }

-- Headers that describe one hop, or that the gateway owns.
local DROP_REQUEST = {
  ["connection"] = true, ["keep-alive"] = true, ["proxy-authenticate"] = true,
  ["proxy-authorization"] = true, ["te"] = true, ["trailer"] = true,
  ["transfer-encoding"] = true, ["upgrade"] = true, ["host"] = true,
  ["content-length"] = true, ["authorization"] = true, ["apikey"] = true,
  ["x-client-authorization"] = true, ["x-amz-date"] = true,
  ["x-amz-security-token"] = true, ["x-amz-content-sha256"] = true,
}
local DROP_RESPONSE = {
  ["connection"] = true, ["keep-alive"] = true, ["transfer-encoding"] = true,
  ["content-length"] = true, ["trailer"] = true, ["upgrade"] = true,
}

local function fail(status, message)
  return kong.response.exit(status, { message = message }, { ["Content-Type"] = "application/json" })
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

-- caller_identity is the §6.6 X-Caller-Identity value: the headers of an
-- STS GetCallerIdentity request signed with the task role.
local function caller_identity(conf, c, now)
  local host = conf.sts_endpoint:match("^https?://([^/]+)")
  local signed = sigv4.sign({
    method = "POST", host = host, path = "/",
    headers = { ["Content-Type"] = STS_CONTENT_TYPE, ["X-Tenant-Manager-Audience"] = "tenant-manager" },
    body = STS_BODY,
  }, c, { region = conf.aws_region, service = "sts", now = now })
  local h = {
    ["Authorization"] = signed["Authorization"],
    ["X-Amz-Date"] = signed["X-Amz-Date"],
    ["X-Tenant-Manager-Audience"] = "tenant-manager",
    ["Content-Type"] = STS_CONTENT_TYPE,
  }
  if signed["X-Amz-Security-Token"] then
    h["X-Amz-Security-Token"] = signed["X-Amz-Security-Token"]
  end
  return crypto.base64(cjson.encode({ headers = h }))
end

-- from_tenant_manager asks the config API; returns target or nil, status, message.
local function from_tenant_manager(conf, project)
  local c, err = task_credentials()
  if not c then
    kong.log.err("no AWS credentials for the caller identity: ", err)
    return nil, 503, "Service unavailable"
  end
  local url = conf.tenant_manager_url:gsub("/+$", "") .. "/project/" .. project .. "/config"
  local status, _, body_or_err = deps().http("GET", url, {
    ["X-Caller-Identity"] = caller_identity(conf, c, deps().now()),
    ["Accept"] = "application/json",
  }, nil, conf.tenant_manager_timeout_ms)
  if not status then
    kong.log.err("tenant-manager unreachable: ", body_or_err)
    return nil, 503, "Service unavailable"
  end
  if status == 404 then
    return nil, 404, "Project not found"
  end
  if status ~= 200 then
    kong.log.err("tenant-manager answered ", status, " for project ", project)
    return nil, 503, "Service unavailable"
  end
  local doc = cjson.decode(body_or_err or "")
  if type(doc) ~= "table" or type(doc.jwt_secret) ~= "string" or doc.jwt_secret == ""
    or type(doc.function_url) ~= "string" or not doc.function_url:match("^https://[^/]+") then
    kong.log.err("tenant-manager returned an unusable config for project ", project)
    return nil, 503, "Service unavailable"
  end
  return { jwt_secret = doc.jwt_secret, function_url = doc.function_url }
end

-- lookup finds the project's JWT secret and Function URL.
local function lookup(conf, project)
  memory = memory or cache.new(10000, function() return deps().now() end)
  local target = memory:get(project)
  if target then return target end

  local red, err = deps().redis(conf)
  if not red then
    kong.log.err("redis unavailable: ", err)
    return nil, 503, "Service unavailable"
  end
  local secret_key, url_key = "jwt:secret:" .. project, "lambda:fn:" .. project
  local values, merr = red:mget({ secret_key, url_key })
  if not values then
    red:close()
    kong.log.err("redis unavailable: ", merr)
    return nil, 503, "Service unavailable"
  end
  if values[1] and values[2] then
    red:close()
    target = { jwt_secret = values[1], function_url = values[2] }
  else
    local status, message
    target, status, message = from_tenant_manager(conf, project)
    if not target then
      red:close()
      return nil, status, message
    end
    for k, v in pairs({ [secret_key] = target.jwt_secret, [url_key] = target.function_url }) do
      local ok, serr = red:set_ex(k, v, conf.cache_ttl)
      if not ok then kong.log.warn("redis write failed: ", serr) end
    end
    red:close()
  end
  memory:set(project, target, conf.memory_cache_ttl)
  return target
end

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
    kong.log.warn("consumer name is not {project}--{role}: ", consumer.username)
    return fail(403, "Forbidden")
  end
  -- Set by the route's pre-function from the Host (or, without a domain,
  -- from X-Project-ID); a client cannot choose it in domain mode.
  local requested = kong.ctx.shared.project_id
  if requested ~= project then
    kong.log.warn("API key of project ", project, " used for project ", tostring(requested))
    return fail(403, "Forbidden: the API key does not belong to this project")
  end

  local target, status, message = lookup(conf, project)
  if not target then
    return fail(status, message)
  end

  local now = deps().now()
  local token, jerr = jwt.sign_hs256({ iss = "supabase", ref = project, role = role, iat = now, exp = now + conf.jwt_ttl }, target.jwt_secret)
  if not token then
    kong.log.err("minting the JWT failed: ", jerr)
    return fail(500, "Internal error")
  end
  local c, cerr = task_credentials()
  if not c then
    kong.log.err("no AWS credentials to sign the Lambda call: ", cerr)
    return fail(503, "Service unavailable")
  end

  local host = target.function_url:match("^https://([^/:]+)")
  local region = host:match("%.lambda%-url%.([a-z0-9%-]+)%.on%.aws$") or conf.aws_region
  local path = strip(kong.request.get_raw_path(), conf.strip_prefix)
  local query = sigv4.canonical_query(kong.request.get_raw_query() or "")
  local method = kong.request.get_method()
  local body = kong.request.get_raw_body()
  if body == nil then
    local length = tonumber(kong.request.get_header("Content-Length") or "0") or 0
    if length > 0 then
      return fail(413, "Request body too large")
    end
    body = ""
  end

  local headers = {}
  for k, v in pairs(kong.request.get_headers()) do
    local lk = k:lower()
    if not DROP_REQUEST[lk] then
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
  local ustatus, uheaders, ubody = deps().http(method, url, headers, body, conf.upstream_timeout_ms)
  if not ustatus then
    kong.log.err("project ", project, ": Lambda unreachable: ", ubody)
    return fail(502, "Bad gateway")
  end
  local out = {}
  for k, v in pairs(uheaders or {}) do
    if not DROP_RESPONSE[k:lower()] then out[k] = v end
  end
  return kong.response.exit(ustatus, ubody, out)
end

return Handler
