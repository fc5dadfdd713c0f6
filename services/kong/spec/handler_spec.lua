local fakes = require("spec.helpers.fakes")
local cjson = require("cjson")
local handler = require("kong.plugins.dynamic-lambda-router.handler")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")

local SECRET = "jwt-secret-of-acme-prod-0123456789abcdef"
local FN_URL = "https://abcdefgh.lambda-url.eu-west-1.on.aws/"
local TM = "http://tenant-manager.kong.local:8080"
local CREDS_URL = "http://169.254.170.2/v2/credentials/task"

local conf = {
  tenant_manager_url = TM, sts_endpoint = "https://sts.eu-west-1.amazonaws.com", aws_region = "eu-west-1",
  jwt_ttl = 300, cache_ttl = 300, memory_cache_ttl = 30, redis_host = "redis", redis_port = 6379,
  redis_password = "redis-auth-token", redis_ssl = true, redis_ssl_verify = true, redis_timeout_ms = 200,
  tenant_manager_timeout_ms = 2000, upstream_timeout_ms = 35000, strip_prefix = "/rest/v1",
}

local function iso(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch) end

-- world builds fresh fakes: a clock, Redis, the tenant-manager, the
-- credentials endpoint and the Lambda.
local function world(overrides)
  overrides = overrides or {}
  local clock = { now = 1763800000 }
  local redis = fakes.redis(clock)
  local tm_status, tm_body = 200, cjson.encode({ project_id = "acme-prod", function_url = FN_URL, jwt_secret = SECRET })
  local w = { clock = clock, redis = redis, creds_expire = clock.now + 3600, lambda_status = 200 }
  w.http = fakes.http({
    [TM] = overrides.tm or function() return tm_status, {}, tm_body end,
    [CREDS_URL] = function()
      w.creds_issued = (w.creds_issued or 0) + 1
      return 200, {}, cjson.encode({ AccessKeyId = "ASIATASK" .. w.creds_issued, SecretAccessKey = "task-secret-key",
        Token = "task-session-token", Expiration = iso(w.creds_expire) })
    end,
    ["https://abcdefgh.lambda-url.eu-west-1.on.aws"] = overrides.lambda or function(method, url, headers, body)
      return w.lambda_status, { ["Content-Type"] = "application/json", ["Content-Range"] = "0-0/1", ["Connection"] = "keep-alive" }, '[{"id":1}]'
    end,
  })
  handler.reset()
  handler.deps = {
    now = function() return clock.now end,
    http = w.http.request,
    redis = redis.connect,
  }
  return w
end

local function request(opts)
  opts = opts or {}
  return fakes.kong_pdk({
    consumer = opts.consumer == nil and { username = "acme-prod--anon" } or opts.consumer or nil,
    project_id = opts.project_id == nil and "acme-prod" or opts.project_id or nil,
    method = opts.method or "GET",
    path = opts.path or "/rest/v1/users",
    query = opts.query or "select=id,name&id=eq.1",
    headers = opts.headers or { ["X-Project-ID"] = "acme-prod", ["Accept"] = "application/json", ["Host"] = "acme-prod.example.com" },
    body = opts.body,
  })
end

local function decode_jwt(token)
  local h, p = token:match("^([^.]+)%.([^.]+)%.")
  return cjson.decode(fakes.b64decode(h)), cjson.decode(fakes.b64decode(p))
end

local function no_secret_leaks(k)
  for _, line in ipairs(k.logs) do
    assert.is_nil(line:find(SECRET, 1, true), "secret in log: " .. line)
    assert.is_nil(line:find("redis-auth-token", 1, true), "redis token in log: " .. line)
  end
  if k.exited and k.exited.body then
    assert.is_nil(tostring(k.exited.body):find(SECRET, 1, true), "secret in response")
  end
end

before_each(function()
  _G.os_getenv_backup = os.getenv
  os.getenv = function(name)
    if name == "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" then return "/v2/credentials/task" end
    return _G.os_getenv_backup(name)
  end
end)
after_each(function() os.getenv = _G.os_getenv_backup end)

describe("dynamic-lambda-router", function()
  it("runs after ACL (priority below 950)", function()
    assert.is_true(handler.PRIORITY < 950)
    assert.is_true(handler.PRIORITY > 0)
  end)

  it("happy path: JWT minted, Function URL called signed, response passed through", function()
    local w = world()
    local k = request()
    handler:access(conf)

    -- The tenant-manager was asked with the §6.6 caller identity.
    local tm = w.http.last(TM)
    assert.equal(TM .. "/project/acme-prod/config", tm.url)
    local identity = cjson.decode(fakes.b64decode(tm.headers["X-Caller-Identity"]))
    assert.same({ "Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Tenant-Manager-Audience" },
      (function() local ks = {} for key in pairs(identity.headers) do ks[#ks + 1] = key end table.sort(ks) return ks end)())
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=ASIATASK1/%d+/eu%-west%-1/sts/aws4_request, SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token;x%-tenant%-manager%-audience, Signature=%x+$",
      identity.headers.Authorization)
    assert.equal("tenant-manager", identity.headers["X-Tenant-Manager-Audience"])

    -- The cache miss was written to Redis with the configured TTL.
    assert.equal(SECRET, w.redis.data["jwt:secret:acme-prod"])
    assert.equal(FN_URL, w.redis.data["lambda:fn:acme-prod"])
    assert.equal(300, w.redis.last_ttl)

    -- The Lambda call.
    local call = w.http.last("https://abcdefgh")
    assert.equal("GET", call.method)
    assert.equal("https://abcdefgh.lambda-url.eu-west-1.on.aws/users?id=eq.1&select=id%2Cname", call.url)
    local bearer = call.headers["x-client-authorization"]:match("^Bearer (.+)$")
    local header, claims = decode_jwt(bearer)
    assert.same({ alg = "HS256", typ = "JWT" }, header)
    assert.same({ iss = "supabase", ref = "acme-prod", role = "anon", iat = w.clock.now, exp = w.clock.now + 300 }, claims)
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=ASIATASK1/%d+/eu%-west%-1/lambda/aws4_request, SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token;x%-client%-authorization, ", call.headers["Authorization"])
    assert.equal("task-session-token", call.headers["X-Amz-Security-Token"])
    assert.is_nil(call.headers["apikey"])
    assert.is_nil(call.headers["host"])
    assert.equal("application/json", call.headers["accept"])

    -- The signature is the one sigv4.sign gives for what was sent.
    local expected = sigv4.sign({ method = "GET", host = "abcdefgh.lambda-url.eu-west-1.on.aws", path = "/users",
      query = "id=eq.1&select=id%2Cname", headers = { ["x-client-authorization"] = call.headers["x-client-authorization"] }, body = "" },
      { access_key = "ASIATASK1", secret_key = "task-secret-key", session_token = "task-session-token" },
      { region = "eu-west-1", service = "lambda", now = w.clock.now })
    assert.equal(expected.Authorization, call.headers["Authorization"])

    -- The response is the Lambda's.
    assert.equal(200, k.exited.status)
    assert.equal('[{"id":1}]', k.exited.body)
    assert.equal("0-0/1", k.exited.headers["Content-Range"])
    assert.is_nil(k.exited.headers["Connection"])
    no_secret_leaks(k)
  end)

  it("serves a second request from the worker cache: no Redis, no tenant-manager", function()
    local w = world()
    request(); handler:access(conf)
    local redis_calls = w.redis.calls
    local k = request(); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.equal(1, w.http.count(TM))
    assert.equal(redis_calls, w.redis.calls)
  end)

  it("serves a cold worker from Redis without calling the tenant-manager", function()
    local w = world()
    w.redis.data["jwt:secret:acme-prod"] = SECRET
    w.redis.data["lambda:fn:acme-prod"] = FN_URL
    local k = request(); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.equal(0, w.http.count(TM))
  end)

  it("goes back to Redis and the tenant-manager when the caches expire", function()
    local w = world()
    request(); handler:access(conf)
    w.clock.now = w.clock.now + 301 -- past both the memory (30 s) and Redis (300 s) TTLs
    local k = request(); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.equal(2, w.http.count(TM))
  end)

  it("refuses a key of another project with 403", function()
    local w = world()
    local k = request({ consumer = { username = "other-proj--service_role" } })
    handler:access(conf)
    assert.equal(403, k.exited.status)
    assert.equal(0, w.http.count(TM))
    assert.equal(0, w.http.count("https://abcdefgh"))
  end)

  it("refuses a request whose project the pre-function did not set", function()
    world()
    local k = request({ project_id = false })
    handler:access(conf)
    assert.equal(403, k.exited.status)
  end)

  it("refuses a request without a consumer with 401", function()
    world()
    local k = request({ consumer = false })
    handler:access(conf)
    assert.equal(401, k.exited.status)
  end)

  it("refuses malformed consumer names with 403", function()
    for _, name in ipairs({ "acme-prod", "acme-prod--admin", "Acme-prod--anon", "ab--anon", "acme--prod--anon", "--anon", "acme-prod--", "acme_prod--anon", "acme-prod-anon" }) do
      local w = world()
      local k = request({ consumer = { username = name }, project_id = name:match("^(.*)%-%-") or name })
      handler:access(conf)
      assert.equal(403, k.exited.status, name)
      assert.equal(0, w.http.count("https://abcdefgh"), name)
    end
  end)

  it("parses the consumer from the right", function()
    assert.same({ "my-long-project-1", "service_role" }, { handler.parse_consumer("my-long-project-1--service_role") })
  end)

  it("answers 404 when the tenant-manager does not know the project", function()
    world({ tm = function() return 404, {}, '{"error":"project acme-prod not found","code":"not_found"}' end })
    local k = request(); handler:access(conf)
    assert.equal(404, k.exited.status)
  end)

  it("answers 503 when the tenant-manager fails or times out, and caches nothing", function()
    for _, tm in ipairs({
      function() return 500, {}, "boom" end,
      function() return 401, {}, '{"error":"unverifiable"}' end,
      function() return nil, nil, "timeout" end,
      function() return 200, {}, "not json" end,
      function() return 200, {}, '{"function_url":"http://insecure/","jwt_secret":"x"}' end,
    }) do
      local w = world({ tm = tm })
      local k = request(); handler:access(conf)
      assert.equal(503, k.exited.status)
      assert.same({ message = "Service unavailable" }, cjson.decode(k.exited.body))
      assert.is_nil(w.redis.data["jwt:secret:acme-prod"])
      no_secret_leaks(k)
    end
  end)

  it("answers 503 when Redis is unreachable", function()
    local w = world()
    w.redis.down = true
    local k = request(); handler:access(conf)
    assert.equal(503, k.exited.status)
    assert.equal(0, w.http.count("https://abcdefgh"))
    no_secret_leaks(k)
  end)

  it("passes Lambda errors through", function()
    local w = world({ lambda = function() return 500, { ["Content-Type"] = "application/json" }, '{"code":"PGRST000"}' end })
    local k = request(); handler:access(conf)
    assert.equal(500, k.exited.status)
    assert.equal('{"code":"PGRST000"}', k.exited.body)
  end)

  it("answers 502 when the Lambda cannot be reached", function()
    world({ lambda = function() return nil, nil, "connection reset" end })
    local k = request(); handler:access(conf)
    assert.equal(502, k.exited.status)
  end)

  it("forwards and signs a request body", function()
    local w = world()
    local body = '{"name":"Ada"}'
    local k = request({ method = "POST", query = "", body = body,
      headers = { ["X-Project-ID"] = "acme-prod", ["Content-Type"] = "application/json", ["Prefer"] = "return=representation", ["apikey"] = "sb_publishable_x" } })
    handler:access(conf)
    local call = w.http.last("https://abcdefgh")
    assert.equal(body, call.body)
    assert.equal("https://abcdefgh.lambda-url.eu-west-1.on.aws/users", call.url)
    assert.equal("return=representation", call.headers["prefer"])
    assert.is_nil(call.headers["apikey"])
    assert.matches("SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token;x%-client%-authorization,", call.headers["Authorization"])
    assert.equal(200, k.exited.status)
  end)

  it("refreshes task credentials before they expire", function()
    local w = world()
    w.creds_expire = w.clock.now + 600
    request(); handler:access(conf)
    assert.equal(1, w.creds_issued)
    w.clock.now = w.clock.now + 200 -- 400 s left: still good
    request(); handler:access(conf)
    assert.equal(1, w.creds_issued)
    w.creds_expire = w.clock.now + 3600
    w.clock.now = w.clock.now + 150 -- 250 s left: refresh
    request(); handler:access(conf)
    assert.equal(2, w.creds_issued)
    assert.matches("Credential=ASIATASK2/", w.http.last("https://abcdefgh").headers["Authorization"])
  end)

  it("uses the role claim of the consumer", function()
    local w = world()
    request({ consumer = { username = "acme-prod--service_role" } }); handler:access(conf)
    local _, claims = decode_jwt(w.http.last("https://abcdefgh").headers["x-client-authorization"]:sub(8))
    assert.equal("service_role", claims.role)
  end)
end)
