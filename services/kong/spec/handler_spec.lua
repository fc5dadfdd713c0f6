local fakes = require("spec.helpers.fakes")
local gateway = require("spec.helpers.gateway")
local cjson = require("cjson")
local handler = require("kong.plugins.dynamic-lambda-router.handler")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")

local SECRET, FN_URL = gateway.SECRET, gateway.FN_URL
local TM, CREDS_URL = gateway.TM, gateway.CREDS_URL

local cfgcache = require("kong.plugins.dynamic-lambda-router.cfgcache")

local conf = gateway.conf()
local CFG_KEY = "project:cfg:acme-prod"

local function iso(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch) end

local function tm_doc(extra)
  local d = { project_id = "acme-prod", function_url = FN_URL, jwt_secret = SECRET, jwt_kid = "key-1", version = 3 }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local current_req -- the fake ngx.req of the request being handled
local errlog      -- the fake ngx.log and ngx.timer.at behind deps.log

-- world builds fresh fakes: a clock, Redis (resty.redis behind the real
-- deps.redis_client), the tenant-manager, the credentials endpoint and the
-- Lambda.
local function world(overrides)
  overrides = overrides or {}
  local clock = { now = 1763800000 }
  local redis = fakes.resty_redis(clock)
  local w = { clock = clock, redis = redis, creds_expire = clock.now + 3600, lambda_status = 200,
    tm_status = 200, tm_body = cjson.encode(tm_doc()) }
  w.http = fakes.http({
    [TM] = overrides.tm or function() return w.tm_status, {}, w.tm_body end,
    [CREDS_URL] = function()
      w.creds_issued = (w.creds_issued or 0) + 1
      return 200, {}, cjson.encode({ AccessKeyId = "ASIATASK" .. w.creds_issued, SecretAccessKey = "task-secret-key",
        Token = "task-session-token", Expiration = w.creds_expire and iso(w.creds_expire) or nil })
    end,
    ["https://abcdefgh.lambda-url.eu-west-1.on.aws"] = overrides.lambda or function(method, url, headers, body)
      return w.lambda_status, { ["Content-Type"] = "application/json", ["Content-Range"] = "0-0/1", ["Connection"] = "keep-alive" }, '[{"id":1}]'
    end,
  })
  handler.reset()
  errlog = fakes.ngx_errlog()
  w.errlog = errlog
  handler.deps = gateway.deps(w, function() return current_req end)
  return w
end

local function request(opts)
  opts = opts or {}
  if current_req then current_req.cleanup() end
  current_req = fakes.ngx_req(opts.body, opts.req)
  local query = opts.query or "select=id,name&id=eq.1"
  if errlog then
    errlog.run_timers() -- the previous request's
    errlog.request = fakes.request_line(opts.method or "GET", opts.path or "/rest/v1/users", query)
  end
  return fakes.kong_pdk({
    consumer = opts.consumer == nil and { username = "acme-prod--anon" } or opts.consumer or nil,
    project_id = opts.project_id == nil and "acme-prod" or opts.project_id or nil,
    method = opts.method or "GET",
    path = opts.path or "/rest/v1/users",
    query = query,
    headers = opts.headers or { ["X-Project-ID"] = "acme-prod", ["Accept"] = "application/json", ["Host"] = "acme-prod.example.com" },
    body = opts.body,
    ngx_req = current_req,
  })
end

local function decode_jwt(token)
  local h, p = token:match("^([^.]+)%.([^.]+)%.")
  return cjson.decode(fakes.b64decode(h)), cjson.decode(fakes.b64decode(p))
end

-- error_log(k) -> every error-log line written so far: the request's
-- kong.log lines and, once the timers have run, deps.log's.
local function error_log(k)
  local lines = {}
  for _, line in ipairs(k and k.logs or {}) do lines[#lines + 1] = line end
  for _, line in ipairs(errlog.run_timers()) do lines[#lines + 1] = line end
  return lines
end

local function no_secret_leaks(k)
  for _, line in ipairs(error_log(k)) do
    assert.is_nil(line:find(SECRET, 1, true), "secret in log: " .. line)
    assert.is_nil(line:find("redis-auth-token", 1, true), "redis token in log: " .. line)
  end
  if k.exited and k.exited.body then
    assert.is_nil(tostring(k.exited.body):find(SECRET, 1, true), "secret in response")
  end
end

gateway.task_env(before_each, after_each)

describe("dynamic-lambda-router", function()
  it("runs after ACL (priority below 950)", function()
    assert.is_true(handler.PRIORITY < 950)
    assert.is_true(handler.PRIORITY > 0)
  end)

  it("happy path: JWT minted, Function URL called signed, response passed through", function()
    local w = world()
    local k = request()
    handler:access(conf)

    -- The tenant-manager was asked with the caller identity, which signs
    -- the credentials' expiration along.
    local tm = w.http.last(TM)
    assert.equal(TM .. "/project/acme-prod/config", tm.url)
    local identity = cjson.decode(fakes.b64decode(tm.headers["X-Caller-Identity"]))
    assert.same({ "Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Tenant-Manager-Audience",
      "X-Tenant-Manager-Credential-Expiration" },
      (function() local ks = {} for key in pairs(identity.headers) do ks[#ks + 1] = key end table.sort(ks) return ks end)())
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=ASIATASK1/%d+/eu%-west%-1/sts/aws4_request, SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token;x%-tenant%-manager%-audience;x%-tenant%-manager%-credential%-expiration, Signature=%x+$",
      identity.headers.Authorization)
    assert.equal("tenant-manager", identity.headers["X-Tenant-Manager-Audience"])
    assert.equal(iso(w.creds_expire), identity.headers["X-Tenant-Manager-Credential-Expiration"])

    -- The cache miss was written to Redis, through the shared script, as
    -- the one project:cfg document with the configured TTL.
    assert.equal(1, w.redis.runs[cfgcache.SCRIPT])
    assert.same(tm_doc(), cjson.decode(w.redis.data[CFG_KEY]))
    assert.equal(300, w.redis.last_ttl)
    assert.is_nil(w.redis.data["jwt:secret:acme-prod"])

    -- The Lambda call.
    local call = w.http.last("https://abcdefgh")
    assert.equal("GET", call.method)
    assert.equal("https://abcdefgh.lambda-url.eu-west-1.on.aws/users?id=eq.1&select=id%2Cname", call.url)
    local bearer = call.headers["x-client-authorization"]:match("^Bearer (.+)$")
    local header, claims = decode_jwt(bearer)
    assert.same({ alg = "HS256", typ = "JWT", kid = "key-1" }, header)
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
    w.redis.data[CFG_KEY] = cjson.encode(tm_doc({ jwt_kid = "key-from-redis" }))
    local k = request(); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.equal(0, w.http.count(TM))
    assert.is_nil(w.redis.runs[cfgcache.SCRIPT])
    local header = decode_jwt(w.http.last("https://abcdefgh").headers["x-client-authorization"]:sub(8))
    assert.equal("key-from-redis", header.kid)
  end)

  it("no longer reads the legacy keys", function()
    local w = world()
    w.redis.data["jwt:secret:acme-prod"] = "legacy-secret"
    w.redis.data["lambda:fn:acme-prod"] = FN_URL
    request(); handler:access(conf)
    assert.equal(1, w.http.count(TM))
    assert.same(tm_doc(), cjson.decode(w.redis.data[CFG_KEY]))
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
      function() return 200, {}, cjson.encode(tm_doc({ project_id = "other-proj" })) end,
      function() return 200, {}, cjson.encode(tm_doc({ version = -1 })) end,
      function() return 200, {}, cjson.encode(tm_doc({ version = 1.5 })) end,
      function() return 200, {}, cjson.encode(tm_doc({ version = "7" })) end,
      function() return 200, {}, cjson.encode(tm_doc({ jwt_kid = 42 })) end,
    }) do
      local w = world({ tm = tm })
      local k = request(); handler:access(conf)
      assert.equal(503, k.exited.status)
      assert.same({ message = "Service unavailable" }, cjson.decode(k.exited.body))
      assert.is_nil(w.redis.data[CFG_KEY])
      no_secret_leaks(k)
    end
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
      headers = { ["X-Project-ID"] = "acme-prod", ["Content-Type"] = "application/json", ["Prefer"] = "return=representation",
        ["apikey"] = "sb_publishable_x", ["Content-Length"] = tostring(#body) } })
    handler:access(conf)
    local call = w.http.last("https://abcdefgh")
    assert.equal(body, call.body)
    assert.equal("https://abcdefgh.lambda-url.eu-west-1.on.aws/users", call.url)
    assert.equal("return=representation", call.headers["prefer"])
    assert.is_nil(call.headers["apikey"])
    assert.matches("SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token;x%-client%-authorization,", call.headers["Authorization"])
    assert.equal(200, k.exited.status)
  end)

  it("forwards a request with Expect: 100-continue without it, and with its body", function()
    -- lua-resty-http, given "Expect: 100-continue", sends the headers and
    -- withholds the body until the server answers 100; a Function URL that
    -- does not leaves the call to time out.
    local w = world({ lambda = function(_, _, headers, body)
      for k, v in pairs(headers) do
        if k:lower() == "expect" and tostring(v):lower() == "100-continue" then return nil, nil, "timeout" end
      end
      return 201, { ["Content-Type"] = "application/json" }, body
    end })
    local body = '{"name":"Ada"}'
    local k = request({ method = "POST", query = "", body = body,
      headers = { ["X-Project-ID"] = "acme-prod", ["Content-Type"] = "application/json", ["Expect"] = "100-continue",
        ["Content-Length"] = tostring(#body) } })
    handler:access(conf)
    assert.equal(201, k.exited.status)
    local call = w.http.last("https://abcdefgh")
    assert.is_nil(call.headers["expect"])
    assert.equal(body, call.body)
    assert.equal(body, k.exited.body)
  end)

  it("drops hop-by-hop headers, those the Connection header lists included", function()
    local w = world()
    local k = request({ headers = { ["X-Project-ID"] = "acme-prod", ["Accept"] = "application/json",
      ["Connection"] = "keep-alive, X-Hop-Secret", ["X-Hop-Secret"] = "for the first hop only",
      ["Keep-Alive"] = "timeout=5", ["TE"] = "trailers", ["Proxy-Connection"] = "keep-alive", ["Upgrade"] = "h2c",
      ["HTTP2-Settings"] = "AAMAAABkAAQAAP__", ["Prefer"] = "count=exact" } })
    handler:access(conf)
    assert.equal(200, k.exited.status)
    local call = w.http.last("https://abcdefgh")
    for _, name in ipairs({ "connection", "x-hop-secret", "keep-alive", "te", "proxy-connection", "upgrade", "http2-settings" }) do
      assert.is_nil(call.headers[name], name)
    end
    assert.equal("count=exact", call.headers["prefer"])
    assert.equal("application/json", call.headers["accept"])
    -- Several Connection headers arrive as a list.
    k = request({ headers = { ["X-Project-ID"] = "acme-prod", ["Connection"] = { "close", "x-a,  X-B" },
      ["X-A"] = "1", ["X-B"] = "2", ["X-C"] = "3" } })
    handler:access(conf)
    call = w.http.last("https://abcdefgh")
    assert.is_nil(call.headers["x-a"])
    assert.is_nil(call.headers["x-b"])
    assert.equal("3", call.headers["x-c"])
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

describe("request bodies", function()
  local LIMIT = conf.max_body_bytes
  -- Most byte values (NUL, CR, LF included), in a period that does not
  -- divide the sizes.
  local function bytes(n, seed)
    local t = {}
    for i = 1, 251 do t[i] = string.char((i * 37 + (seed or 11)) % 256) end
    local block = table.concat(t) .. "\0\255\r\n\26"
    return (block:rep(math.ceil(n / #block))):sub(1, n)
  end
  local function post(body, chunked, req_opts)
    local headers = { ["X-Project-ID"] = "acme-prod", ["Content-Type"] = "application/octet-stream" }
    if chunked then
      headers["Transfer-Encoding"] = "chunked"
    else
      headers["Content-Length"] = tostring(#body)
    end
    return request({ method = "POST", query = "", body = body, headers = headers, req = req_opts })
  end

  -- nginx as Kong ships it (8 KiB buffer) and as the entrypoint configures
  -- it (64 KiB): bodies up to the buffer stay in memory, larger ones up to
  -- the limit go to nginx's temporary file.
  for _, nginx in ipairs({ { name = "8 KiB buffer", opts = { buffer = 8192 } }, { name = "64 KiB buffer", opts = { buffer = 65536 } } }) do
    for _, chunked in ipairs({ false, true }) do
      local mode = (chunked and "chunked" or "Content-Length") .. ", " .. nginx.name
      it("forwards bodies up to the limit byte for byte (" .. mode .. ")", function()
        for i, n in ipairs({ 100, 8192, 8193, 65536, 65537, LIMIT - 1, LIMIT }) do
          local w = world()
          local body = bytes(n, i)
          local k = post(body, chunked, nginx.opts)
          handler:access(conf)
          assert.equal(200, k.exited.status, n)
          -- Read from nginx's temporary file exactly when over the buffer.
          assert.equal(n > nginx.opts.buffer, current_req.path ~= nil, n)
          local call = w.http.last("https://abcdefgh")
          assert.equal(#body, #call.body, n)
          assert.is_true(call.body == body, "body differs at size " .. n)
          assert.is_nil(call.headers["transfer-encoding"])
          -- The signature covers exactly these bytes.
          local expected = sigv4.sign({ method = "POST", host = "abcdefgh.lambda-url.eu-west-1.on.aws", path = "/users",
            query = "", headers = { ["x-client-authorization"] = call.headers["x-client-authorization"],
              ["content-type"] = "application/octet-stream" }, body = body },
            { access_key = "ASIATASK1", secret_key = "task-secret-key", session_token = "task-session-token" },
            { region = "eu-west-1", service = "lambda", now = w.clock.now })
          assert.equal(expected.Authorization, call.headers["Authorization"])
        end
      end)

      it("refuses limit+1 bytes with 413 JSON and forwards nothing (" .. mode .. ")", function()
        local w = world()
        local k = post(bytes(LIMIT + 1), chunked, nginx.opts)
        handler:access(conf)
        assert.equal(413, k.exited.status)
        assert.same({ message = "Request body too large: the limit is 1048576 bytes" }, cjson.decode(k.exited.body))
        assert.equal("application/json", k.exited.headers["Content-Type"])
        assert.equal(0, w.http.count("https://abcdefgh"))
      end)
    end
  end

  it("honours a smaller configured limit", function()
    local w = world()
    local small = {}
    for k, v in pairs(conf) do small[k] = v end
    small.max_body_bytes = 2048
    local k = post(bytes(2048), true); handler:access(small)
    assert.equal(200, k.exited.status)
    k = post(bytes(2049), true); handler:access(small)
    assert.equal(413, k.exited.status)
    assert.equal(1, w.http.count("https://abcdefgh"))
  end)

  it("never forwards a body it could not read", function()
    for _, case in ipairs({
      { chunked = true, req = { buffer = 8192, remove_file = true }, status = 500 },
      { chunked = false, req = { buffer = 8192, remove_file = true }, status = 500 },
      { chunked = true, req = { read_error = "client aborted" }, status = 400 },
    }) do
      local w = world()
      local k = post(bytes(20000), case.chunked, case.req)
      handler:access(conf)
      assert.equal(case.status, k.exited.status)
      assert.same({ message = "Request body could not be read" }, cjson.decode(k.exited.body))
      assert.equal(0, w.http.count("https://abcdefgh"))
    end
  end)
end)

describe("Redis outage", function()
  local function ok_request(w)
    local k = request(); handler:access(conf)
    return k.exited.status, k
  end

  it("keeps serving a known project from its stale worker copy, at most stale_ttl past expiry", function()
    local w = world()
    assert.equal(200, ok_request(w)) -- cached in memory (30 s) and Redis
    w.redis.down = true
    w.tm_status = 500 -- and the tenant-manager fails too
    w.clock.now = w.clock.now + 31 -- memory copy expired
    local status, k = ok_request(w)
    assert.equal(200, status)
    no_secret_leaks(k)
    w.clock.now = w.clock.now + 298 -- 329 s after the fetch: 299 s past expiry
    assert.equal(200, (ok_request(w)))
    w.clock.now = w.clock.now + 1 -- 300 s past expiry: too old
    status, k = ok_request(w)
    assert.equal(503, status)
    assert.same({ message = "Service unavailable" }, cjson.decode(k.exited.body))
    assert.equal(3, w.http.count("https://abcdefgh")) -- the fresh and the two stale requests
  end)

  it("asks the tenant-manager for a project it does not know, within a per-worker rate", function()
    local w = world()
    w.redis.down = true
    -- Burst of 3, then 2 per second; every answer is kept in memory, so use
    -- a new project each time.
    local statuses = {}
    for i = 1, 5 do
      local p = "proj-" .. i
      w.tm_body = cjson.encode(tm_doc({ project_id = p }))
      local k = request({ consumer = { username = p .. "--anon" }, project_id = p })
      handler:access(conf)
      statuses[i] = k.exited.status
    end
    assert.same({ 200, 200, 200, 503, 503 }, statuses)
    assert.equal(3, w.http.count(TM))
    w.clock.now = w.clock.now + 1
    w.tm_body = cjson.encode(tm_doc({ project_id = "proj-9" }))
    local k = request({ consumer = { username = "proj-9--anon" }, project_id = "proj-9" }); handler:access(conf)
    assert.equal(200, k.exited.status)
    -- Nothing was written to Redis, which was down.
    assert.is_nil(next(w.redis.data))
  end)

  it("fails closed with 503 JSON when neither Redis nor the tenant-manager answers", function()
    local w = world({ tm = function() return nil, nil, "connection refused" end })
    w.redis.down = true
    local status, k = ok_request(w)
    assert.equal(503, status)
    assert.same({ message = "Service unavailable" }, cjson.decode(k.exited.body))
    assert.equal("application/json", k.exited.headers["Content-Type"])
    assert.equal(0, w.http.count("https://abcdefgh"))
    no_secret_leaks(k)
  end)

  it("does not serve a stale copy of a project the tenant-manager says is gone", function()
    local w = world()
    assert.equal(200, ok_request(w))
    w.clock.now = w.clock.now + 31
    w.redis.data[CFG_KEY] = nil
    w.tm_status, w.tm_body = 404, '{"error":"not found"}'
    assert.equal(404, (ok_request(w)))
  end)

  it("serves a stale copy when Redis is up but the tenant-manager is not", function()
    local w = world()
    assert.equal(200, ok_request(w))
    w.redis.data[CFG_KEY] = nil -- evicted
    w.tm_status = 502
    w.clock.now = w.clock.now + 60
    assert.equal(200, (ok_request(w)))
  end)

  it("leaves a failed Redis alone for redis_retry_seconds, then uses it again", function()
    local w = world()
    w.redis.down = true
    assert.equal(200, ok_request(w)) -- via the tenant-manager
    local connects = w.redis.connects
    w.clock.now = w.clock.now + 4
    w.tm_body = cjson.encode(tm_doc({ project_id = "other-proj" }))
    local k = request({ consumer = { username = "other-proj--anon" }, project_id = "other-proj" }); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.equal(connects, w.redis.connects) -- Redis not tried
    w.redis.down = false
    w.clock.now = w.clock.now + 1
    w.tm_body = cjson.encode(tm_doc())
    w.clock.now = w.clock.now + 26 -- acme-prod's memory copy expired
    assert.equal(200, (ok_request(w)))
    -- One pooled connection for the config, one for the control script.
    assert.equal(connects + 2, w.redis.connects)
    assert.is_not_nil(w.redis.data[CFG_KEY]) -- refilled
  end)

  it("treats a Redis that times out like a stopped one", function()
    local w = world()
    w.redis.broken = true
    assert.equal(200, ok_request(w))
    assert.equal(1, w.http.count(TM))
    assert.is_nil(w.redis.data[CFG_KEY])
  end)
end)

describe("config cache in Redis", function()
  it("does not let a refill overwrite a newer version written meanwhile", function()
    local newer = tm_doc({ jwt_secret = "rotated-secret-0123456789abcdefghij", jwt_kid = "key-2", version = 4 })
    local w
    -- The tenant-manager writes the rotated key through while the gateway's
    -- refill (with the older version 3) is in flight.
    w = world({ tm = function()
      w.redis.data[CFG_KEY] = cjson.encode(newer)
      w.redis.ttl[CFG_KEY] = w.clock.now + 300
      return 200, {}, cjson.encode(tm_doc())
    end })
    local k = request(); handler:access(conf)
    assert.equal(200, k.exited.status)
    assert.same(newer, cjson.decode(w.redis.data[CFG_KEY]))
    -- And the gateway uses the newer key it lost to.
    local header = decode_jwt(w.http.last("https://abcdefgh").headers["x-client-authorization"]:sub(8))
    assert.equal("key-2", header.kid)
  end)

  it("overwrites an older or unreadable cached document", function()
    for _, cached in ipairs({ cjson.encode(tm_doc({ version = 2, jwt_secret = "" })), "{not json", cjson.encode(tm_doc({ version = 3, function_url = "http://x/" })) }) do
      local w = world()
      w.redis.data[CFG_KEY] = cached
      request(); handler:access(conf)
      assert.same(tm_doc(), cjson.decode(w.redis.data[CFG_KEY]))
    end
  end)

  it("counts a missing version as 0, so any versioned document wins over it", function()
    local w = world()
    local unversioned = tm_doc(); unversioned.version = nil
    w.tm_body = cjson.encode(unversioned)
    request(); handler:access(conf)
    local stored = cjson.decode(w.redis.data[CFG_KEY])
    assert.equal(0, stored.version)
    -- A racing write-through of version 1 is kept against that refill.
    local v1 = tm_doc({ version = 1, jwt_kid = "key-v1" })
    w = world({ tm = function()
      w.redis.data[CFG_KEY] = cjson.encode(v1)
      return 200, {}, cjson.encode(unversioned)
    end })
    request(); handler:access(conf)
    assert.same(v1, cjson.decode(w.redis.data[CFG_KEY]))
  end)

  it("mints a JWT without kid when the config has none", function()
    local w = world()
    local nokid = tm_doc(); nokid.jwt_kid = nil
    w.tm_body = cjson.encode(nokid)
    request(); handler:access(conf)
    local header = decode_jwt(w.http.last("https://abcdefgh").headers["x-client-authorization"]:sub(8))
    assert.same({ alg = "HS256", typ = "JWT" }, header)
  end)

  it("signs no expiration header when the credentials have no expiry", function()
    local w = world()
    w.creds_expire = false
    request(); handler:access(conf)
    local id = cjson.decode(fakes.b64decode(w.http.last(TM).headers["X-Caller-Identity"]))
    assert.is_nil(id.headers["X-Tenant-Manager-Credential-Expiration"])
    assert.matches("SignedHeaders=content%-type;host;x%-amz%-date;x%-amz%-security%-token;x%-tenant%-manager%-audience,", id.headers.Authorization)
  end)
end)

describe("error log", function()
  local SECRET_QUERY = "select=id&apikey=sb_secret_INQUERY"

  local function count(lines, pattern)
    local n = 0
    for _, line in ipairs(lines) do if line:find(pattern) then n = n + 1 end end
    return n
  end

  it("gets no request line or query string, and one line per kind and interval during a Redis outage", function()
    local w = world()
    request(); handler:access(conf)
    w.redis.down = true
    w.tm_status = 500
    w.clock.now = w.clock.now + 31 -- memory copy expired: served stale
    local lines = {}
    for _ = 1, 50 do
      local k = request({ query = SECRET_QUERY })
      handler:access(conf)
      assert.equal(200, k.exited.status)
      for _, line in ipairs(k.logs) do lines[#lines + 1] = line end
    end
    for _, line in ipairs(error_log()) do lines[#lines + 1] = line end
    for _, line in ipairs(lines) do
      assert.is_nil(line:find("INQUERY", 1, true), line)
      assert.is_nil(line:find("request: ", 1, true), line)
    end
    assert.equal(1, count(lines, "serving project acme%-prod from a config 1 s past its TTL"))
    assert.equal(1, count(lines, "redis unavailable"))
    assert.equal(1, count(lines, "^%[warn%] %[dynamic%-lambda%-router%] serving project .*, context: ngx%.timer$"))

    -- One interval later the next line says how many were left out.
    w.clock.now = w.clock.now + handler.LOG_INTERVAL
    request({ query = SECRET_QUERY }); handler:access(conf)
    lines = error_log()
    assert.equal(1, count(lines, "serving project acme%-prod from a config 11 s past its TTL %(49 similar lines left out since the previous one%)"))
  end)

  it("does not let a client flood it with refused requests", function()
    local w = world()
    for _ = 1, 20 do
      local k = request({ consumer = { username = "other-proj--anon" }, query = SECRET_QUERY })
      handler:access(conf)
      assert.equal(403, k.exited.status)
      assert.same({}, k.logs)
    end
    local lines = error_log()
    assert.equal(1, count(lines, "API key of project other%-proj used for project acme%-prod"))
    -- Other kinds have their own allowance.
    world({ lambda = function() return nil, nil, "connection reset" end })
    for _ = 1, 5 do request({ query = SECRET_QUERY }); handler:access(conf) end
    lines = error_log()
    assert.equal(1, count(lines, "Lambda unreachable: connection reset"))
    assert.equal(0, count(lines, "INQUERY"))
    assert.equal(0, w.http.count("https://abcdefgh"))
  end)
end)
