-- Pause, per-project rate limits and the /functions/v1 project binding, on
-- the real handler, deps.redis_client and control script over the fakes of
-- resty.redis (scripts run with Redis's conversions, TIME from the clock),
-- Kong's PDK and the HTTP client.
local fakes = require("spec.helpers.fakes")
local gateway = require("spec.helpers.gateway")
local cjson = require("cjson")
local control = require("kong.plugins.dynamic-lambda-router.control")

local HANDLER = "kong.plugins.dynamic-lambda-router.handler"
local handler = require(HANDLER)

-- A second Kong task: the same code with its own per-worker state.
local function another_task()
  local saved = package.loaded[HANDLER]
  package.loaded[HANDLER] = nil
  local h = require(HANDLER)
  package.loaded[HANDLER] = saved
  return h
end

local SECRET, FN_URL, FUNCS_URL = gateway.SECRET, gateway.FN_URL, gateway.FUNCS_URL
local TM, CREDS_URL = gateway.TM, gateway.CREDS_URL
local CTL = "project:ctl:{acme-prod}"
local RL = "project:rl:{acme-prod}"

local conf = gateway.conf

local function doc(extra)
  local d = { project_id = "acme-prod", function_url = FN_URL, jwt_secret = SECRET,
    jwt_kid = "key-1", version = 3 }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local current_req

-- world(): one Redis, tenant-manager and Lambda, and the tasks (handler
-- instances) given, each wired to them; the first is `handler`.
local function world(tasks)
  local clock = { now = 1763800000, us = 0 }
  local redis = fakes.resty_redis(clock)
  local w = { clock = clock, redis = redis, tm_body = cjson.encode(doc()), workers = 1 }
  w.http = fakes.http({
    [TM] = function() return 200, {}, w.tm_body end,
    [CREDS_URL] = gateway.task_credentials(clock),
    [FN_URL:sub(1, -2)] = function()
      return 200, { ["Content-Type"] = "application/json", ["X-RateLimit-Limit"] = "999" }, "[]"
    end,
    [FUNCS_URL:sub(1, -2)] = function()
      return 200, { ["Content-Type"] = "text/plain", ["X-RateLimit-Limit"] = "999" }, "hello"
    end,
  })
  w.errlog = fakes.ngx_errlog()
  for _, h in ipairs(tasks or { handler }) do
    h.reset()
    h.deps = gateway.deps(w, function() return current_req end, { worker_count = function() return w.workers end })
  end
  return w
end

local function request(opts)
  opts = opts or {}
  if current_req then current_req.cleanup() end
  current_req = fakes.ngx_req(opts.body)
  return fakes.kong_pdk({
    consumer = { username = opts.username or "acme-prod--anon" },
    project_id = opts.project_id or "acme-prod",
    method = "GET", path = opts.path or "/rest/v1/users", query = "",
    headers = opts.headers or { ["Accept"] = "application/json" },
    ngx_req = current_req,
  })
end

-- serve(h, c, opts) -> the status (nil when Kong proxies), the response's
-- headers and the fake PDK.
local function serve(h, c, opts)
  local k = request(opts)
  h:access(c)
  if k.exited then return k.exited.status, k.exited.headers, k end
  h:header_filter(c)
  return nil, k.response.get_headers(), k
end

local function lambda_calls(w) return w.http.count(FN_URL:sub(1, -2)) end

gateway.task_env(before_each, after_each)

describe("paused projects", function()
  it("answer 403 project_paused, before the rate limit is touched", function()
    local w = world()
    w.redis.hashes[CTL] = { paused = "1", rps = "0", burst = "0" }
    local status, headers, k = serve(handler, conf())
    assert.equal(403, status)
    assert.same({ code = "project_paused", message = "project acme-prod is paused" }, cjson.decode(k.exited.body))
    assert.equal("application/json", headers["Content-Type"])
    assert.equal(0, lambda_calls(w))
    assert.is_nil(w.redis.hashes[RL], "no token taken")
  end)

  it("are refused on the next request of every task once paused, and served again once restored", function()
    local task2 = another_task()
    local w = world({ handler, task2 })
    local c = conf()
    assert.equal(200, (serve(handler, c)))
    assert.equal(200, (serve(task2, c)))
    -- Both tasks hold the config in memory (30 s); the pause still shows
    -- on their very next request, in the same second.
    w.redis.hashes[CTL] = { paused = "1", rps = "0", burst = "0" }
    assert.equal(403, (serve(handler, c)))
    assert.equal(403, (serve(task2, c)))
    w.redis.hashes[CTL].paused = "0"
    assert.equal(200, (serve(handler, c)))
    assert.equal(200, (serve(task2, c)))
  end)

  it("follow the config document while the control hash has no paused field", function()
    local w = world()
    w.tm_body = cjson.encode(doc({ paused = true, rate_limit = { rps = 7, burst = 9 } }))
    assert.equal(403, (serve(handler, conf())))
    -- The refill keeps both for the other tasks.
    local cached = cjson.decode(w.redis.data["project:cfg:acme-prod"])
    assert.is_true(cached.paused)
    assert.same({ rps = 7, burst = 9 }, cached.rate_limit)
    -- The hash, once written, is what counts.
    w.redis.hashes[CTL] = { paused = "0", rps = "0", burst = "0" }
    assert.equal(200, (serve(handler, conf())))
  end)

  it("are refused on /functions/v1 too", function()
    local w = world()
    w.redis.hashes[CTL] = { paused = "1" }
    w.tm_body = cjson.encode(doc({ functions_url = FUNCS_URL }))
    local status, _, k = serve(handler, conf({ mode = "functions", strip_prefix = "/functions/v1" }), { path = "/functions/v1/hello" })
    assert.equal(403, status)
    assert.equal("project_paused", cjson.decode(k.exited.body).code)
    assert.equal(0, w.http.count(FUNCS_URL:sub(1, -2)))
  end)
end)

describe("rate limits", function()
  it("allow the burst, then answer 429 with Retry-After and the X-RateLimit headers", function()
    local w = world()
    w.redis.hashes[CTL] = { paused = "0", rps = "2", burst = "5" }
    for i = 1, 5 do
      local status, headers = serve(handler, conf())
      assert.equal(200, status, i)
      assert.equal("2", headers["X-RateLimit-Limit"], "the Lambda's own header is replaced")
      assert.equal(tostring(5 - i), headers["X-RateLimit-Remaining"])
    end
    local status, headers, k = serve(handler, conf())
    assert.equal(429, status)
    assert.equal("1", headers["Retry-After"])
    assert.equal("2", headers["X-RateLimit-Limit"])
    assert.equal("0", headers["X-RateLimit-Remaining"])
    assert.equal("application/json", headers["Content-Type"])
    assert.equal("rate_limited", cjson.decode(k.exited.body).code)
    assert.equal(5, lambda_calls(w))
    -- 2 per second: one token back after half a second, not before.
    w.clock.us = 400000
    assert.equal(429, (serve(handler, conf())))
    w.clock.us = 600000
    assert.equal(200, (serve(handler, conf())))
    assert.equal(429, (serve(handler, conf())))
    -- The bucket expires once it would be full again.
    assert.equal(3500, w.redis.last_pexpire)
  end)

  it("take the config document's limit, else the gateway's default, when the hash sets none", function()
    local w = world()
    w.tm_body = cjson.encode(doc({ rate_limit = { rps = 1, burst = 2 } }))
    assert.equal(200, (serve(handler, conf())))
    assert.equal(200, (serve(handler, conf())))
    assert.equal(429, (serve(handler, conf())))
    -- An override in the hash (the management API's) wins, at once.
    w.redis.hashes[CTL] = { paused = "0", rps = "10", burst = "20" }
    w.redis.hashes[RL] = nil
    local status, headers = serve(handler, conf())
    assert.equal(200, status)
    assert.equal("10", headers["X-RateLimit-Limit"])
    assert.equal("19", headers["X-RateLimit-Remaining"])

    w = world()
    local _, h2 = serve(handler, conf({ rate_limit_rps = 3, rate_limit_burst = 4 }))
    assert.equal("3", h2["X-RateLimit-Limit"])
    assert.equal("3", h2["X-RateLimit-Remaining"])
  end)

  it("are off with a default of 0 and no override: no headers, no bucket", function()
    local w = world()
    for _ = 1, 3 do
      local status, headers = serve(handler, conf({ rate_limit_rps = 0 }))
      assert.equal(200, status)
      assert.equal("999", headers["X-RateLimit-Limit"]) -- the Lambda's own, untouched
      assert.is_nil(headers["X-RateLimit-Remaining"])
    end
    assert.is_nil(w.redis.hashes[RL])
  end)

  it("are one budget for two Kong tasks sharing Redis", function()
    local task2 = another_task()
    local w = world({ handler, task2 })
    w.redis.hashes[CTL] = { paused = "0", rps = "1", burst = "4" }
    local c = conf()
    local seen = {}
    for i = 1, 6 do
      local h = i % 2 == 1 and handler or task2
      seen[i] = (serve(h, c))
    end
    assert.same({ 200, 200, 200, 200, 429, 429 }, seen)
    assert.equal(4, lambda_calls(w))
  end)

  it("cost one EVALSHA per request once Redis has the script, and survive a Redis restart", function()
    local w = world()
    serve(handler, conf()) -- EVALSHA unknown -> EVAL, which caches the script
    assert.equal(control.SCRIPT, w.redis.scripts[control.SHA])
    local before = #w.redis.commands
    serve(handler, conf()) -- config from worker memory
    assert.same({ "evalsha" }, { unpack(w.redis.commands, before + 1) })
    w.redis.scripts = {} -- restarted
    local status, headers = serve(handler, conf())
    assert.equal(200, status)
    assert.equal("197", headers["X-RateLimit-Remaining"])
  end)
end)

describe("Redis unavailable", function()
  it("falls back to the config document's paused flag", function()
    local w = world()
    w.redis.down = true
    w.tm_body = cjson.encode(doc({ paused = true }))
    local status, _, k = serve(handler, conf())
    assert.equal(403, status)
    assert.equal("project_paused", cjson.decode(k.exited.body).code)
  end)

  it("falls back to a local bucket, the task's budget split between its workers, never a 500", function()
    local w = world()
    w.workers = 2
    w.redis.down = true
    local c = conf({ rate_limit_rps = 2, rate_limit_burst = 6 })
    local seen = {}
    for i = 1, 4 do seen[i] = (serve(handler, c)) end
    assert.same({ 200, 200, 200, 429 }, seen) -- 6 / 2 workers
    local _, headers = serve(handler, c)
    assert.equal("1", headers["Retry-After"])
    assert.equal("2", headers["X-RateLimit-Limit"])
    w.clock.now = w.clock.now + 1 -- 1 per second per worker
    assert.equal(200, (serve(handler, c)))
    assert.equal(429, (serve(handler, c)))
    local lines = w.errlog.run_timers()
    assert.is_truthy(table.concat(lines, "\n"):find("redis unavailable", 1, true))
  end)

  it("treats a Redis that times out, or answers the script with an error, like a stopped one", function()
    local w = world()
    local c = conf({ rate_limit_rps = 1, rate_limit_burst = 2 })
    assert.equal(200, (serve(handler, c))) -- config in memory
    w.redis.broken = true
    assert.equal(200, (serve(handler, c)))
    assert.equal(200, (serve(handler, c)))
    assert.equal(429, (serve(handler, c)))

    w = world()
    w.redis.data[CTL] = "not a hash" -- WRONGTYPE: the script fails
    assert.equal(200, (serve(handler, c)))
    assert.equal(200, (serve(handler, c)))
    assert.equal(429, (serve(handler, c)))
    assert.is_truthy(table.concat(w.errlog.run_timers(), "\n"):find("unexpected answer of the control script", 1, true))
  end)
end)

describe("/functions/v1", function()
  local fconf = conf({ mode = "functions", strip_prefix = "/functions/v1" })
  local function fworld()
    local w = world()
    w.tm_body = cjson.encode(doc({ functions_url = FUNCS_URL }))
    return w
  end

  it("refuses a key of another project with 403 and calls nothing", function()
    local w = fworld()
    local status, _, k = serve(handler, fconf, { username = "other-proj--anon", path = "/functions/v1/hello" })
    assert.equal(403, status)
    assert.equal("Forbidden: the API key does not belong to this project", cjson.decode(k.exited.body).message)
    assert.equal(0, w.http.count(TM))
    assert.equal(0, w.http.count(FUNCS_URL:sub(1, -2)))
  end)

  it("calls the project's functions Lambda with the project's own key, the key in neither apikey nor Authorization", function()
    local w = fworld()
    for _, authorization in ipairs({ "Bearer sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_BBBBBBBB", "bearer  sb_secret_x" }) do
      local status, headers = serve(handler, fconf, { path = "/functions/v1/hello",
        headers = { apikey = "sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_BBBBBBBB", Authorization = authorization } })
      assert.equal(200, status, authorization)
      local call = w.http.last(FUNCS_URL:sub(1, -2))
      assert.is_nil(call.headers.apikey)
      assert.matches("^AWS4%-HMAC%-SHA256 ", call.headers.Authorization)
      for name, v in pairs(call.headers) do
        assert.is_nil(tostring(v):find("sb_", 1, true), name)
      end
      -- The project's limit, not the function's header.
      assert.equal("100", headers["X-RateLimit-Limit"])
    end
    assert.equal(2, w.http.count(FUNCS_URL:sub(1, -2)))
    assert.equal(0, lambda_calls(w))
  end)

  it("applies the project's rate limit", function()
    local w = fworld()
    w.redis.hashes[CTL] = { paused = "0", rps = "1", burst = "1" }
    assert.equal(200, (serve(handler, fconf, { path = "/functions/v1/hello" })))
    local status, headers = serve(handler, fconf, { path = "/functions/v1/hello" })
    assert.equal(429, status)
    assert.equal("1", headers["Retry-After"])
    assert.equal(1, w.http.count(FUNCS_URL:sub(1, -2)))
  end)
end)
