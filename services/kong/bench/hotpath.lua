-- Benchmark of the gateway hot path (target: <= 50 µs per request in
-- LuaJIT): request body read (a small in-memory body, as nginx hands it
-- over), worker-cache hit for the project's config, the rate-limit step
-- (pooled connection, EVALSHA of the control script, its reply decoded,
-- X-RateLimit headers; the Redis round trip itself excluded: the stand-in
-- connection answers at once), JWT mint (with kid), SigV4 signature of the
-- Lambda request. Run: luajit bench/hotpath.lua [N]
package.path = "./?.lua;" .. package.path
local cache = require("kong.plugins.dynamic-lambda-router.cache")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local body_reader = require("kong.plugins.dynamic-lambda-router.body")
local control = require("kong.plugins.dynamic-lambda-router.control")
local deps = require("kong.plugins.dynamic-lambda-router.deps")

local n = tonumber(arg[1]) or 20000
local now = 1763800000
local mem = cache.new(10000, function() return now end)
mem:set("acme-prod", { jwt_secret = string.rep("s", 64), jwt_kid = "0b6f3c2e-4a51-4c1e-9d1a-5b2f6f0c9e11", version = 3,
  function_url = "https://abcdefgh.lambda-url.eu-west-1.on.aws/" }, 30, 300)
local creds = { access_key = "ASIAEXAMPLEEXAMPLE", secret_key = string.rep("k", 40), session_token = string.rep("t", 600) }

-- ngx.req after nginx kept a small body in memory.
local BODY = '{"name":"Ada","email":"ada@example.com"}'
local req = { read_body = function() end, get_body_data = function() return BODY end, get_body_file = function() end }
local body_opts = { limit = 1048576, content_length = tostring(#BODY) }

-- A pooled resty.redis connection whose EVALSHA answers as the script does.
local reply = { 0, 1, 150, 0, 100 }
local conn = {
  set_timeouts = function() end, connect = function() return 1 end, get_reused_times = function() return 1 end,
  evalsha = function() return reply end, set_keepalive = function() return 1 end,
}
local resty_redis = { new = function() return conn end }
local rconf = { redis_timeout_ms = 200, redis_host = "redis", redis_port = 6379, redis_ssl = true,
  redis_ssl_verify = true, redis_password = "token", rate_limit_rps = 100, rate_limit_burst = 200 }

local function admit(project, cfg)
  local rps, burst = control.limits(cfg, rconf)
  local red = assert(deps.redis_client(resty_redis, nil, rconf))
  local res = red:evalsha(control.SHA, control.SCRIPT, 2, control.ctl_key(project), control.bucket_key(project),
    cfg.paused and "1" or "0", tostring(rps), tostring(burst))
  red:close()
  local d = assert(control.decode(res))
  assert(d.allowed and not d.paused)
  return { ["X-RateLimit-Limit"] = tostring(d.limit), ["X-RateLimit-Remaining"] = tostring(d.remaining) }
end

local function one(i)
  local target = mem:get("acme-prod")
  local limit_headers = admit("acme-prod", target)
  local body = assert(body_reader.read(req, body_opts))
  local token = jwt.sign_hs256({ iss = "supabase", ref = "acme-prod", role = "anon", iat = now, exp = now + 300 }, target.jwt_secret, target.jwt_kid)
  local query = sigv4.canonical_query("select=id,name&id=eq." .. i)
  return limit_headers, sigv4.sign({
    method = "POST", host = "abcdefgh.lambda-url.eu-west-1.on.aws", path = "/users", query = query,
    headers = { ["x-client-authorization"] = "Bearer " .. token, ["content-type"] = "application/json" }, body = body,
  }, creds, { region = "eu-west-1", service = "lambda", now = now })
end

for i = 1, 2000 do one(i) end -- warm up the JIT
local samples = {}
for round = 1, 5 do
  local t0 = os.clock()
  for i = 1, n do one(i) end
  samples[round] = (os.clock() - t0) / n * 1e6
end
table.sort(samples)
print(string.format("hot path (%s, %s): median %.1f µs/request, best %.1f µs over 5 rounds of %d requests",
  jit and jit.version or _VERSION, crypto.backend, samples[3], samples[1], n))
