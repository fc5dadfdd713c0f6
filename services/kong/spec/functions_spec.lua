-- /functions/v1 through the real handler: each project's edge functions
-- Lambda called like its PostgREST Lambda (key bound to the project, pause
-- and rate limit, SigV4 for lambda, the minted JWT in
-- X-Client-Authorization), over the fakes of Kong, Redis, the
-- tenant-manager, an identity provider and the Function URLs.
local fakes = require("spec.helpers.fakes")
local gateway = require("spec.helpers.gateway")
local idp = require("spec.helpers.idp")
local cjson = require("cjson")
local handler = require("kong.plugins.dynamic-lambda-router.handler")
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")

local SECRET, FUNCS_URL = gateway.SECRET, gateway.FUNCS_URL
local REST_URL = "https://restrest.lambda-url.eu-west-1.on.aws/"
local FUNCS_HOST = "fnfnfnfn.lambda-url.eu-west-1.on.aws"
local TM, CREDS_URL = gateway.TM, gateway.CREDS_URL
local ISS = "https://idp.example.com/acme"
local KEY = "sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_BBBBBBBB"
local REQUEST_ID = "2f1e0d9c-8b7a-4c6d-9e5f-0a1b2c3d4e5f"
local NOW = 1763800000

local conf = gateway.conf({ upstream_timeout_ms = 155000, strip_prefix = "/functions/v1", mode = "functions" })

local idp_key = idp.rsa("acme-1")

local function doc(extra)
  local d = { project_id = "acme-prod", function_url = REST_URL, functions_url = FUNCS_URL, jwt_secret = SECRET,
    jwt_kid = "key-1", version = 4, third_party_auth = { { issuer = ISS, custom_jwks = idp.jwks(idp_key) } } }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local current_req

local function world()
  local clock = { now = NOW, ms = 0 }
  local w = { clock = clock, redis = fakes.resty_redis(clock), tm_body = cjson.encode(doc()), fn_status = 201,
    fn_headers = { ["Content-Type"] = "text/plain;charset=UTF-8", ["Set-Cookie"] = "fn=1; Path=/hello",
      ["X-Function"] = "hello", ["x-amzn-RequestId"] = REQUEST_ID, ["Connection"] = "keep-alive",
      ["Transfer-Encoding"] = "chunked", ["X-RateLimit-Limit"] = "999" },
    fn_body = "hi from hello" }
  w.http = fakes.http({
    [TM] = function() return 200, {}, w.tm_body end,
    [CREDS_URL] = gateway.task_credentials(clock),
    [REST_URL:sub(1, -2)] = function() return 200, {}, "[]" end,
    [FUNCS_URL:sub(1, -2)] = function()
      clock.ms = clock.ms + 42
      if not w.fn_status then return nil, nil, "connection refused" end
      return w.fn_status, w.fn_headers, w.fn_body
    end,
  })
  handler.reset()
  w.errlog = fakes.ngx_errlog()
  handler.deps = gateway.deps(w, function() return current_req end)
  return w
end

-- serve(opts) -> the fake PDK after the handler ran; opts = {path, query,
-- method, headers, body, role, c (plugin config)}.
local function serve(opts)
  if current_req then current_req.cleanup() end
  current_req = fakes.ngx_req(opts.body)
  local k = fakes.kong_pdk({ consumer = { username = "acme-prod--" .. (opts.role or "anon") }, project_id = "acme-prod",
    method = opts.method or "GET", path = opts.path or "/functions/v1/hello", query = opts.query or "",
    headers = opts.headers or { apikey = KEY }, ngx_req = current_req })
  handler:access(opts.c or conf)
  assert.is_table(k.exited, "the router answers every request itself")
  return k
end

local function fn_calls(w) return w.http.count(FUNCS_URL:sub(1, -2)) end

local function jwt_parts(token)
  local h, p, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
  return cjson.decode(fakes.b64decode(h)), cjson.decode(fakes.b64decode(p)), h .. "." .. p, s
end

local function json_error(k, status, code)
  assert.equal(status, k.exited.status)
  assert.equal("application/json", k.exited.headers["Content-Type"])
  local body = cjson.decode(k.exited.body)
  assert.equal(code, body.code)
  return body
end

describe("/functions/v1", function()
  gateway.task_env(before_each, after_each)

  it("sends /<slug>/x?y=1 to the project's functions Lambda, signed for lambda, the minted JWT in X-Client-Authorization and no key anywhere", function()
    local w = world()
    local body = '{"name":"Ada"}'
    local k = serve({ method = "POST", path = "/functions/v1/hello/x", query = "y=1", body = body, headers = {
      apikey = KEY, Authorization = "Bearer " .. KEY, ["Content-Type"] = "application/json", Accept = "text/plain",
      Prefer = "respond-async", ["X-Custom"] = "kept", ["Content-Length"] = tostring(#body),
      Cookie = "sb-acme-prod-auth-token=COOKIESESSION; other=1", Host = "acme-prod.supabase.example.com",
      ["X-Client-Authorization"] = "Bearer forged", Connection = "keep-alive, X-Hop", ["X-Hop"] = "1" } })

    assert.equal(1, fn_calls(w))
    assert.equal(0, w.http.count(REST_URL:sub(1, -2)))
    local call = w.http.last(FUNCS_URL:sub(1, -2))
    assert.equal("POST", call.method)
    assert.equal("https://" .. FUNCS_HOST .. "/hello/x?y=1", call.url)
    assert.equal(body, call.body)
    assert.equal(155000, call.timeout)

    -- The JWT the gateway minted for the key's role, with the project's kid.
    local bearer = call.headers["x-client-authorization"]:match("^Bearer (.+)$")
    local header, claims, signing_input, sig = jwt_parts(bearer)
    assert.same({ alg = "HS256", typ = "JWT", kid = "key-1" }, header)
    assert.same({ iss = "supabase", ref = "acme-prod", role = "anon", iat = NOW, exp = NOW + 300 }, claims)
    local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
    assert.equal(crypto.base64url(crypto.hmac_sha256(SECRET, signing_input)), sig)

    -- SigV4 for lambda in the URL's region over what was sent.
    local expected = sigv4.sign({ method = "POST", host = FUNCS_HOST, path = "/hello/x", query = "y=1",
      headers = { ["x-client-authorization"] = call.headers["x-client-authorization"], ["content-type"] = "application/json" },
      body = body }, { access_key = "ASIATASK", secret_key = "task-secret-key", session_token = "task-session-token" },
      { region = "eu-west-1", service = "lambda", now = NOW })
    assert.equal(expected.Authorization, call.headers.Authorization)
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=ASIATASK/%d+/eu%-west%-1/lambda/aws4_request, ", call.headers.Authorization)

    -- The caller's own headers, but no key, cookie or hop-by-hop header.
    assert.equal("application/json", call.headers["content-type"])
    assert.equal("text/plain", call.headers["accept"])
    assert.equal("respond-async", call.headers["prefer"])
    assert.equal("kept", call.headers["x-custom"])
    for _, name in ipairs({ "apikey", "cookie", "host", "connection", "x-hop", "content-length" }) do
      assert.is_nil(call.headers[name], name)
    end
    for name, v in pairs(call.headers) do
      assert.is_nil(tostring(v):find("sb_", 1, true), name)
      assert.is_nil(tostring(v):find("forged", 1, true), name)
      assert.is_nil(tostring(v):find("COOKIESESSION", 1, true), name)
    end
    assert.is_nil(call.url:find("sb_", 1, true))

    -- The function's answer, without hop-by-hop headers, with the
    -- project's rate-limit headers.
    assert.equal(201, k.exited.status)
    assert.equal("hi from hello", k.exited.body)
    assert.equal("text/plain;charset=UTF-8", k.exited.headers["Content-Type"])
    assert.equal("fn=1; Path=/hello", k.exited.headers["Set-Cookie"])
    assert.equal("hello", k.exited.headers["X-Function"])
    assert.is_nil(k.exited.headers["Connection"])
    assert.is_nil(k.exited.headers["Transfer-Encoding"])
    assert.equal("100", k.exited.headers["X-RateLimit-Limit"])

    -- For the access log.
    assert.equal(42, k.ctx.shared.upstream_ms)
    assert.equal(REQUEST_ID, k.ctx.shared.lambda_request_id)
    assert.equal("anon", k.ctx.shared.key_role)
  end)

  it("maps the path and keeps the query as the REST route does", function()
    local w = world()
    for _, path in ipairs({ "/functions/v1/hello", "/functions/v1/hello/", "/functions/v1/Hello_2-x/a/b.json",
      "/functions/v1/hello/a..b/.well-known/%2e%2ex/%C3%A9" }) do
      local k = serve({ path = path, query = "b=2&a=1&a=0" })
      assert.equal(201, k.exited.status, path)
      local call = w.http.last(FUNCS_URL:sub(1, -2))
      -- The path as received, less the route's prefix; the query in
      -- SigV4's canonical order, as on /rest/v1.
      assert.equal("https://" .. FUNCS_HOST .. path:sub(#"/functions/v1" + 1) .. "?a=0&a=1&b=2", call.url)
    end
  end)

  it("signs for the region of the functions URL", function()
    local w = world()
    w.tm_body = cjson.encode(doc({ functions_url = "https://fnfnfnfn.lambda-url.us-east-2.on.aws/" }))
    serve({})
    local call = w.http.last("https://fnfnfnfn.lambda-url.us-east-2.on.aws")
    assert.matches("/us%-east%-2/lambda/aws4_request", call.headers.Authorization)
  end)

  it("answers 404 function_not_found while the project has no functions_url, and calls nothing", function()
    for _, missing in ipairs({ cjson.null, false }) do
      local w = world()
      local d = doc()
      if missing == false then d.functions_url = nil else d.functions_url = missing end
      w.tm_body = cjson.encode(d)
      local k = serve({ path = "/functions/v1/hello" })
      local body = json_error(k, 404, "function_not_found")
      assert.equal("project acme-prod has no functions", body.message)
      assert.equal(0, fn_calls(w))
      assert.equal(0, w.http.count(REST_URL:sub(1, -2)))
    end
  end)

  it("answers 404 for a path that names no function, 400 for dot segments, and calls nothing", function()
    local w = world()
    for _, path in ipairs({ "/functions/v1", "/functions/v1/", "/functions/v1hello", "/functions/v1/1abc",
      "/functions/v1/_internal/health", "/functions/v1/%68ello", "/functions/v1/hel.lo", "/functions/v1//hello",
      "/functions/v1/hello\\..\\x", "/functions/v1/" .. string.rep("a", 101) }) do
      local k = serve({ path = path })
      json_error(k, 404, "function_not_found")
    end
    for _, path in ipairs({ "/functions/v1/hello/..", "/functions/v1/hello/../_internal/health", "/functions/v1/hello/.",
      "/functions/v1/hello/%2e%2E/x", "/functions/v1/hello/.%2e", "/functions/v1/hello/%2E", "/functions/v1/hello/x\\..\\y",
      "/functions/v1/hello/a/..\\b" }) do
      local k = serve({ path = path })
      json_error(k, 400, "invalid_path")
    end
    assert.equal(0, fn_calls(w))
    -- The slug may be 100 characters long.
    assert.equal(201, serve({ path = "/functions/v1/" .. string.rep("a", 100) }).exited.status)
  end)

  it("mints the service_role JWT for a secret key", function()
    local w = world()
    serve({ role = "service_role" })
    local _, claims = jwt_parts(w.http.last(FUNCS_URL:sub(1, -2)).headers["x-client-authorization"]:match("^Bearer (.+)$"))
    assert.equal("service_role", claims.role)
  end)

  it("turns a verified third-party token into the authenticated JWT; a failing one is refused with 401", function()
    local w = world()
    local token = idp.sign(idp_key, { iss = ISS, sub = "user-1", email = "ada@example.com", iat = NOW - 5, exp = NOW + 600 })
    local k = serve({ headers = { apikey = KEY, Authorization = "Bearer " .. token } })
    assert.equal(201, k.exited.status)
    assert.equal("authenticated", k.ctx.shared.key_role)
    local call = w.http.last(FUNCS_URL:sub(1, -2))
    local _, claims = jwt_parts(call.headers["x-client-authorization"]:match("^Bearer (.+)$"))
    assert.same({ iss = ISS, sub = "user-1", email = "ada@example.com", role = "authenticated", aud = "authenticated",
      ref = "acme-prod", iat = NOW, exp = NOW + 300 }, claims)
    for name, v in pairs(call.headers) do
      assert.is_nil(tostring(v):find(token:match("[^.]+$"), 1, true), name)
    end
    -- Forged, or of an issuer the project does not trust: 401, no call.
    local forged = token:gsub("[^.]+$", "c2lnbmF0dXJl")
    local other = idp.sign(idp_key, { iss = "https://other.example.com", sub = "u", iat = NOW, exp = NOW + 600 })
    for reason, t in pairs({ ["bad signature"] = forged, ["issuer not allowed"] = other }) do
      k = serve({ headers = { apikey = KEY, Authorization = "Bearer " .. t } })
      assert.equal(reason, json_error(k, 401, "invalid_token").message)
      assert.matches('^Bearer error="invalid_token"', k.exited.headers["WWW-Authenticate"])
    end
    assert.equal(1, fn_calls(w))
  end)

  it("refuses a body over the limit with 413 and calls nothing", function()
    local w = world()
    local c = {}
    for name, v in pairs(conf) do c[name] = v end
    c.max_body_bytes = 1024
    local body = string.rep("x", 1025)
    local k = serve({ method = "POST", body = body, c = c, headers = { apikey = KEY, ["Content-Length"] = tostring(#body) } })
    assert.equal(413, k.exited.status)
    assert.equal(0, fn_calls(w))
    body = string.rep("x", 1024)
    k = serve({ method = "POST", body = body, c = c, headers = { apikey = KEY, ["Content-Length"] = tostring(#body) } })
    assert.equal(201, k.exited.status)
    assert.equal(body, w.http.last(FUNCS_URL:sub(1, -2)).body)
  end)

  it("answers 502 when the functions Lambda cannot be reached and passes its errors through", function()
    local w = world()
    w.fn_status = nil
    local k = serve({})
    assert.equal(502, k.exited.status)
    w.fn_status, w.fn_headers, w.fn_body = 500, { ["Content-Type"] = "application/json" }, '{"code":"FUNCTION_ERROR"}'
    k = serve({})
    assert.equal(500, k.exited.status)
    assert.equal('{"code":"FUNCTION_ERROR"}', k.exited.body)
  end)

  it("keeps functions_url through the Redis copy", function()
    local w = world()
    serve({})
    assert.equal(FUNCS_URL, cjson.decode(w.redis.data["project:cfg:acme-prod"]).functions_url)
    -- Another task, served from Redis alone.
    handler.reset()
    w.tm_body = "{}"
    serve({})
    assert.equal(2, fn_calls(w))
    assert.equal(1, w.http.count(TM))
  end)
end)
