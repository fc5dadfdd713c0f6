-- The access log line of whole requests: the real handler serves (or key-auth
-- refuses) a request over the fakes, then the rendered file-log snippets run
-- in the log phase on the same request state, and the whole entry Kong's
-- serializer writes is checked for the documented fields and for secrets.
package.path = "./?.lua;" .. package.path
local fakes = require("spec.helpers.fakes")
local gateway = require("spec.helpers.gateway")
local idp = require("spec.helpers.idp")
local cjson = require("cjson")
local handler = require("kong.plugins.dynamic-lambda-router.handler")

local SECRET, FN_URL, FUNCS_URL = gateway.SECRET, gateway.FN_URL, gateway.FUNCS_URL
local TM, CREDS_URL = gateway.TM, gateway.CREDS_URL
local ISS = "https://idp.example.com/acme"
local REQUEST_ID = "8f5c2b7e-3d1a-4c6b-9e0f-1a2b3c4d5e6f"

local KEY_HEADER = "sb_publishable_INHEADERabcdefghijkl_abcdefgh"
local KEY_AUTH = "sb_secret_INAUTHabcdefghijklmnop_abcdefgh"
local KEY_QUERY = "sb_secret_INQUERYabcdefghijklmno_abcdefgh"
local SESSION = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJJTlNFU1NJT04ifQ.c2Vzc2lvbnNpZ25hdHVyZQ"

local conf = gateway.conf({ rate_limit_rps = 0, rate_limit_burst = 0 })

local function render()
  local env = "env -i PATH=\"$PATH\" TENANT_MANAGER_URL=" .. TM .. " STS_ENDPOINT=https://sts.eu-west-1.amazonaws.com" ..
    " AWS_REGION=eu-west-1 KONG_REDIS_HOST=redis PLATFORM_DOMAIN=supabase.example.com"
  local p = assert(io.popen(env .. " luajit config/render.lua"))
  local out = p:read("*a")
  p:close()
  for _, plugin in ipairs(cjson.decode(out).plugins) do
    if plugin.name == "file-log" then return plugin.config.custom_fields_by_lua end
  end
end
local FIELDS = render()

local key = idp.rsa("acme-1")
local ROUTES = {
  rest = { id = "5b1f0000-0000-4000-8000-000000000011", name = "rest", paths = { "/rest/v1" } },
  functions = { id = "5b1f0000-0000-4000-8000-000000000012", name = "functions", paths = { "/functions/v1" } },
  health = { id = "5b1f0000-0000-4000-8000-000000000013", name = "health", paths = { "/health" } },
}

-- world: Redis, the tenant-manager, the credentials endpoint and two
-- Lambdas (PostgREST, functions) that take lambda_ms on a millisecond clock
-- and answer with their request id (the header as Function URLs send it).
local function world()
  local clock = { now = 1763800000, ms = 0 }
  local w = { clock = clock, redis = fakes.resty_redis(clock), lambda_ms = 37, lambda_status = 200,
    lambda_headers = { ["Content-Type"] = "application/json", ["x-amzn-RequestId"] = REQUEST_ID } }
  w.http_tm = function()
      return 200, {}, cjson.encode({ project_id = "acme-prod", function_url = FN_URL, functions_url = FUNCS_URL, jwt_secret = SECRET,
        jwt_kid = "key-1", version = 3, third_party_auth = { { issuer = ISS, custom_jwks = idp.jwks(key) } } })
  end
  w.http_creds = gateway.task_credentials(clock)
  local function lambda()
    clock.ms = clock.ms + w.lambda_ms
    if not w.lambda_status then return nil, nil, "connection refused" end
    return w.lambda_status, w.lambda_headers, "[]"
  end
  w.http = fakes.http({ [TM] = w.http_tm, [CREDS_URL] = w.http_creds, [FN_URL:sub(1, -2)] = lambda,
    [FUNCS_URL:sub(1, -2)] = lambda })
  handler.reset()
  w.errlog = fakes.ngx_errlog()
  handler.deps = gateway.deps(w, function() return w.req end)
  return w
end

-- serve(w, r) runs one request through Kong's phases as far as they go and
-- returns the entry file-log writes for it. r = {route, path, query,
-- headers, role (nil = key-auth refuses: no key in the apikey header)}.
local function serve(w, r)
  if w.req then w.req.cleanup() end
  w.req = fakes.ngx_req(nil)
  local route = ROUTES[r.route or "rest"]
  local consumer = r.role and { id = "c0000000-0000-4000-8000-000000000001", username = "acme-prod--" .. r.role }
  local k = fakes.kong_pdk({ consumer = consumer, project_id = "acme-prod", method = "GET", path = r.path,
    query = r.query, headers = r.headers, ngx_req = w.req, route = route })
  local start = w.clock.ms
  w.clock.ms = w.clock.ms + 3 -- reading the request, the plugins before the router
  local status, ctx = 401, { route = route, service = { id = "5b1f0000-0000-4000-8000-00000000000" .. (r.route == "functions" and "2" or "1"),
    name = route.name } }
  if consumer then
    ctx.authenticated_consumer = consumer
    -- key-auth's credential carries the key; the serializer writes only ids.
    ctx.authenticated_credential = { id = "d0000000-0000-4000-8000-000000000001", consumer_id = consumer.id, key = KEY_HEADER }
    local c = {}
    for name, v in pairs(conf) do c[name] = v end
    c.mode, c.strip_prefix = route.name, route.paths[1]
    handler:access(c)
    -- The router answers every request itself; Kong proxies nothing.
    assert.is_table(k.exited)
    status = k.exited.status
    handler:header_filter(c)
  end
  w.clock.ms = w.clock.ms + 2 -- sending the answer
  local elapsed = w.clock.ms - start
  ctx.KONG_RESPONSE_LATENCY = elapsed
  local query = r.query or ""
  local uri = r.path .. (query ~= "" and ("?" .. query) or "")
  local var = { scheme = "https", host = "acme-prod.supabase.example.com", server_port = "8000", request_uri = uri,
    upstream_uri = "", is_args = query ~= "" and "?" or "", args = query,
    request_time = string.format("%.3f", elapsed / 1000), request_length = "312", bytes_sent = "208" }
  local entry = fakes.log_plugin_run(FIELDS, k, { var = var, ctx = ctx, status = status })
  return entry, cjson.encode(entry), elapsed
end

local function whole(v) return type(v) == "number" and v >= 0 and v % 1 == 0 end

-- The documented fields: exactly these types, absent where unknown.
local function check_fields(entry, want)
  assert.equal("acme-prod", entry.project_id)
  assert.equal(want.key_role, entry.key_role)
  assert.equal(want.route, entry.route)
  assert.equal(want.status, entry.status)
  assert.is_true(whole(entry.latency_ms), "latency_ms")
  assert.equal(want.latency_ms, entry.latency_ms)
  assert.equal(want.upstream_ms, entry.upstream_ms)
  if want.upstream_ms ~= nil then assert.is_true(whole(entry.upstream_ms), "upstream_ms") end
  assert.is_true(whole(entry.gateway_ms), "gateway_ms")
  assert.equal(entry.latency_ms - (entry.upstream_ms or 0), entry.gateway_ms)
  assert.equal(want.lambda_request_id, entry.lambda_request_id)
  -- Kong's own figures stay next to them.
  assert.equal(entry.latency_ms, entry.latencies.request)
  assert.equal(entry.status, entry.response.status)
end

local function no_secrets(json, extra)
  local secrets = { KEY_HEADER, KEY_AUTH, KEY_QUERY, SESSION, SECRET, "task-secret-key", "redis-auth-token",
    "ada@example.com", "INHEADER", "INAUTH", "INQUERY", "INSESSION" }
  for _, s in ipairs(extra or {}) do secrets[#secrets + 1] = s end
  for _, s in ipairs(secrets) do
    assert.is_nil(json:find(s, 1, true), s .. " in " .. json)
  end
end

describe("access log line", function()
  gateway.task_env(before_each, after_each)

  it("a key in the apikey header: the key's role, the Lambda's time and request id", function()
    local w = world()
    local entry, json, elapsed = serve(w, { role = "anon", path = "/rest/v1/users", query = "select=id&email=eq.ada@example.com",
      headers = { apikey = KEY_HEADER, accept = "application/json" } })
    assert.equal(42, elapsed)
    check_fields(entry, { key_role = "anon", route = "rest", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    assert.equal(5, entry.gateway_ms)
    assert.equal("/rest/v1/users?REDACTED", entry.request.uri)
    no_secrets(json)
  end)

  it("a key in Authorization: the key's role, the key nowhere", function()
    local w = world()
    local entry, json = serve(w, { role = "service_role", path = "/rest/v1/users", query = "select=id",
      headers = { authorization = "Bearer " .. KEY_AUTH, apikey = KEY_AUTH } })
    check_fields(entry, { key_role = "service_role", route = "rest", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    assert.equal("REDACTED", entry.request.headers.authorization)
    no_secrets(json)
  end)

  it("a key in the query string: refused by key-auth, logged without the key", function()
    local w = world()
    local entry, json = serve(w, { path = "/rest/v1/users", query = "apikey=" .. KEY_QUERY .. "&select=id",
      headers = { accept = "application/json" } })
    check_fields(entry, { route = "rest", status = 401, latency_ms = 5 })
    assert.equal(5, entry.gateway_ms)
    assert.equal(0, w.http.count(FN_URL:sub(1, -2)))
    no_secrets(json)
    -- Next to a key in the header the request is served; the query still
    -- never reaches the line.
    entry, json = serve(w, { role = "anon", path = "/rest/v1/users", query = "apikey=" .. KEY_QUERY,
      headers = { apikey = KEY_HEADER } })
    check_fields(entry, { key_role = "anon", route = "rest", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    assert.equal(1, entry.request.querystring)
    no_secrets(json)
  end)

  it("a third-party bearer token: authenticated, the token nowhere", function()
    local w = world()
    local token = idp.sign(key, { iss = ISS, sub = "user-1", email = "ada@example.com", iat = w.clock.now - 5,
      exp = w.clock.now + 600 })
    local entry, json = serve(w, { role = "anon", path = "/rest/v1/todos", headers = { apikey = KEY_HEADER,
      authorization = "Bearer " .. token } })
    check_fields(entry, { key_role = "authenticated", route = "rest", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    local minted = w.http.last(FN_URL:sub(1, -2)).headers["x-client-authorization"]:match("^Bearer (.+)$")
    no_secrets(json, { token, token:match("[^.]+$"), minted, minted:match("[^.]+$") })
    -- A token that does not verify: refused before the Lambda, the key's
    -- role logged, the token nowhere.
    local forged = token:gsub("[^.]+$", "c2lnbmF0dXJl")
    entry, json = serve(w, { role = "anon", path = "/rest/v1/todos", headers = { apikey = KEY_HEADER,
      authorization = "Bearer " .. forged } })
    check_fields(entry, { key_role = "anon", route = "rest", status = 401, latency_ms = 5 })
    no_secrets(json, { forged })
  end)

  it("/functions/v1: the functions Lambda's time and request id, the role minted for it", function()
    local w = world()
    local entry, json, elapsed = serve(w, { route = "functions", role = "anon", path = "/functions/v1/hello",
      query = "token=" .. KEY_QUERY, headers = { apikey = KEY_HEADER, authorization = "Bearer " .. KEY_AUTH } })
    assert.equal(42, elapsed)
    check_fields(entry, { key_role = "anon", route = "functions", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    assert.equal(5, entry.gateway_ms)
    assert.equal(1, w.http.count(FUNCS_URL:sub(1, -2)))
    assert.equal("/functions/v1/hello?REDACTED", entry.request.uri)
    no_secrets(json)
    -- A third-party token: authenticated, neither it nor the minted JWT logged.
    local token = idp.sign(key, { iss = ISS, sub = "user-1", email = "ada@example.com", iat = w.clock.now - 5,
      exp = w.clock.now + 600 })
    entry, json = serve(w, { route = "functions", role = "anon", path = "/functions/v1/hello",
      headers = { apikey = KEY_HEADER, authorization = "Bearer " .. token } })
    check_fields(entry, { key_role = "authenticated", route = "functions", status = 200, latency_ms = 42, upstream_ms = 37,
      lambda_request_id = REQUEST_ID })
    local minted = w.http.last(FUNCS_URL:sub(1, -2)).headers["x-client-authorization"]:match("^Bearer (.+)$")
    no_secrets(json, { token, token:match("[^.]+$"), minted, minted:match("[^.]+$") })
    -- An unknown function's path: answered before any Lambda.
    entry, json = serve(w, { route = "functions", role = "anon", path = "/functions/v1/_internal/health",
      headers = { apikey = KEY_HEADER } })
    check_fields(entry, { key_role = "anon", route = "functions", status = 404, latency_ms = 5 })
    assert.equal(2, w.http.count(FUNCS_URL:sub(1, -2)))
  end)

  it("the Lambda unreachable or failing: the time waited, its id when it sent one", function()
    local w = world()
    w.lambda_status, w.lambda_ms = nil, 300
    local entry = serve(w, { role = "anon", path = "/rest/v1/users", headers = { apikey = KEY_HEADER } })
    check_fields(entry, { key_role = "anon", route = "rest", status = 502, latency_ms = 305, upstream_ms = 300 })
    w.lambda_status, w.lambda_ms = 500, 12
    entry = serve(w, { role = "anon", path = "/rest/v1/users", headers = { apikey = KEY_HEADER } })
    check_fields(entry, { key_role = "anon", route = "rest", status = 500, latency_ms = 17, upstream_ms = 12,
      lambda_request_id = REQUEST_ID })
    -- Only a value shaped like a request id is logged.
    w.lambda_status, w.lambda_headers = 200, { ["X-Amzn-RequestId"] = "a\"b, " .. KEY_AUTH .. " " .. string.rep("x", 80) }
    local json
    entry, json = serve(w, { role = "anon", path = "/rest/v1/users", headers = { apikey = KEY_HEADER } })
    assert.is_nil(entry.lambda_request_id)
    no_secrets(json)
    assert.equal("0c1d", handler.lambda_request_id({ ["X-AMZN-REQUESTID"] = "0c1d" }))
    assert.is_nil(handler.lambda_request_id({ ["x-amzn-requestid"] = string.rep("a", 65) }))
    assert.is_nil(handler.lambda_request_id(nil))
  end)

  it("other routes: no route name, no role", function()
    local w = world()
    w.req = fakes.ngx_req(nil)
    local k = fakes.kong_pdk({ project_id = nil, method = "GET", path = "/health", headers = {}, route = ROUTES.health })
    local entry = fakes.log_plugin_run(FIELDS, k, { status = 200, ctx = { route = ROUTES.health },
      var = { scheme = "https", host = "kong", server_port = "8000", request_uri = "/health", upstream_uri = "",
        is_args = "", request_time = "0.000" } })
    assert.is_nil(entry.route)
    assert.is_nil(entry.key_role)
    assert.is_nil(entry.project_id)
    assert.equal(200, entry.status)
    assert.equal(0, entry.latency_ms)
    assert.equal(0, entry.gateway_ms)
  end)
end)
