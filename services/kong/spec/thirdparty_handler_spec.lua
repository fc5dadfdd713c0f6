-- The handler with third-party tokens: the real handler, thirdparty and
-- idtoken modules over the fakes of Kong, Redis, the tenant-manager, the
-- identity provider and the Lambda.
local fakes = require("spec.helpers.fakes")
local gateway = require("spec.helpers.gateway")
local idp = require("spec.helpers.idp")
local cjson = require("cjson")
local handler = require("kong.plugins.dynamic-lambda-router.handler")
local deps = require("kong.plugins.dynamic-lambda-router.deps")

local SECRET, FN_URL = gateway.SECRET, gateway.FN_URL
local TM, CREDS_URL = gateway.TM, gateway.CREDS_URL
local ISS_A = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_ProjectA"
local ISS_B = "https://idp.example.com/project-b"
local JWKS_A = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_ProjectA/.well-known/jwks.json"

local conf = gateway.conf({ rate_limit_rps = 0, rate_limit_burst = 0 })

local key_a, key_b = idp.rsa("a-1"), idp.ec("b-1")

local function doc(project, tpa)
  return cjson.encode({ project_id = project, function_url = FN_URL, jwt_secret = SECRET, jwt_kid = "key-1",
    version = 3, third_party_auth = tpa })
end

local current_req

local function world()
  local clock = { now = 1763800000 }
  local w = { clock = clock, redis = fakes.resty_redis(clock), lambda_calls = 0, idp_status = 200 }
  w.docs = {
    ["acme-prod"] = doc("acme-prod", { { id = "7d1c6a0e-0000-4000-8000-000000000001", issuer = ISS_A,
      jwks_url = JWKS_A, client_id = "client-a", token_use = cjson.null, audience = cjson.null, custom_jwks = cjson.null } }),
    ["beta-prod"] = doc("beta-prod", { { issuer = ISS_B, custom_jwks = idp.jwks(key_b) } }),
    ["plain-prod"] = doc("plain-prod", nil),
  }
  w.http = fakes.http({
    [TM] = function(_, url)
      local project = url:match("/project/([^/]+)/config$")
      return 200, {}, w.docs[project]
    end,
    [CREDS_URL] = gateway.task_credentials(clock),
    [JWKS_A] = function() return w.idp_status, {}, cjson.encode(idp.jwks(key_a)) end,
    ["https://abcdefgh.lambda-url.eu-west-1.on.aws"] = function()
      w.lambda_calls = w.lambda_calls + 1
      return 200, { ["Content-Type"] = "application/json" }, "[]"
    end,
  })
  handler.reset()
  local errlog = fakes.ngx_errlog()
  w.errlog = errlog
  handler.deps = gateway.deps(w, function() return current_req end, {
    fetch = function(url, timeout, max)
      local status, _, body = w.http.request("GET", url, {}, nil, timeout)
      if not status then return nil, nil, body end
      return status, body
    end,
  })
  return w
end

local function request(project, authorization, role)
  if current_req then current_req.cleanup() end
  current_req = fakes.ngx_req(nil)
  local headers = { ["X-Project-ID"] = project, ["Accept"] = "application/json", ["Authorization"] = authorization }
  local k = fakes.kong_pdk({
    consumer = { username = project .. "--" .. (role or "anon") }, project_id = project,
    method = "GET", path = "/rest/v1/todos", query = "select=*", headers = headers, ngx_req = current_req,
  })
  handler:access(conf)
  return k
end

local function minted(w)
  local call = w.http.last("https://abcdefgh")
  local p = call.headers["x-client-authorization"]:match("^Bearer [^.]+%.([^.]+)%.")
  return cjson.decode(fakes.b64decode(p))
end

local NOW = 1763800000
local function claims(extra)
  local c = { iss = ISS_A, sub = "0c3b5a1e-6f3e-4f61-9d0a-6a1c2b3d4e5f", token_use = "id", aud = "client-a",
    email = "ada@example.com", ["cognito:groups"] = { "editors" }, ["cognito:username"] = "ada",
    iat = NOW - 5, exp = NOW + 3600 }
  for k, v in pairs(extra or {}) do
    if v == false then c[k] = nil else c[k] = v end
  end
  return c
end

local function refused(k, status, reason)
  assert.is_table(k.exited)
  assert.equal(status, k.exited.status)
  local body = cjson.decode(k.exited.body)
  assert.equal(reason, body.message)
  return body
end

describe("third-party tokens through the gateway", function()
  gateway.task_env(before_each, after_each)

  it("a valid token runs as authenticated with sub and the provider's claims", function()
    local w = world()
    local k = request("acme-prod", "Bearer " .. idp.sign(key_a, claims()))
    assert.equal(200, k.exited.status)
    local c = minted(w)
    assert.same({ iss = ISS_A, sub = "0c3b5a1e-6f3e-4f61-9d0a-6a1c2b3d4e5f", token_use = "id", role = "authenticated",
      aud = "authenticated", ref = "acme-prod", email = "ada@example.com", ["cognito:groups"] = { "editors" },
      ["cognito:username"] = "ada", iat = NOW, exp = NOW + 300 }, c)
    -- The user's token itself does not reach the Lambda.
    local token = idp.sign(key_a, claims())
    request("acme-prod", "Bearer " .. token)
    local call = w.http.last("https://abcdefgh")
    local signature = token:match("[^.]+$")
    for name, v in pairs(call.headers) do
      assert.is_nil(tostring(v):find(signature, 1, true), name)
    end
    assert.matches("^AWS4%-HMAC%-SHA256 ", call.headers["Authorization"])
    -- ES256 through custom_jwks on another project.
    request("beta-prod", "Bearer " .. idp.sign(key_b, claims({ iss = ISS_B, token_use = false, aud = false })))
    assert.equal("authenticated", minted(w).role)
  end)

  it("the API key alone, or repeated in Authorization, keeps the key's role", function()
    local w = world()
    request("acme-prod", nil)
    assert.equal("anon", minted(w).role)
    request("acme-prod", "Bearer sb_publishable_abcdefghijklmnopqrstuv_abcdefgh")
    assert.equal("anon", minted(w).role)
    request("acme-prod", nil, "service_role")
    assert.equal("service_role", minted(w).role)
  end)

  it("a failing token is refused with 401 and a reason, never served as anon", function()
    local w = world()
    local cases = {
      { idp.sign(key_a, claims({ iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other" })), "issuer not allowed" },
      { idp.sign(key_a, claims({ exp = NOW - 61 })), "token expired" },
      { idp.sign(key_a, claims({ nbf = NOW + 120 })), "token not yet valid" },
      { idp.sign(key_a, claims({ aud = "client-x" })), "client_id mismatch" },
      { idp.sign(key_a, claims({ token_use = "refresh" })), "token_use mismatch" },
      { idp.sign(idp.rsa("a-1"), claims()), "bad signature" },
      { idp.sign(idp.rsa("a-2"), claims()), "unknown kid" },
      { idp.hs256(key_a.pem, { alg = "HS256", kid = "a-1" }, claims()), "unsupported alg" },
      { idp.unsigned({ alg = "none" }, claims(), "c2ln"), "unsupported alg" },
      { idp.unsigned({ alg = "none" }, claims(), ""), "malformed token" },
      { "not.a.jwt", "malformed token" },
    }
    for _, c in ipairs(cases) do
      local k = request("acme-prod", "Bearer " .. c[1])
      local body = refused(k, 401, c[2])
      assert.equal("invalid_token", body.code)
      assert.equal('Bearer error="invalid_token", error_description="' .. c[2] .. '"', k.exited.headers["WWW-Authenticate"])
    end
    refused(request("acme-prod", "Basic YTpi"), 401, "Authorization is not Bearer <token>")
    -- Even with the secret key: the token decides, or nothing does.
    refused(request("acme-prod", "Bearer " .. idp.sign(key_a, claims({ exp = NOW - 100 })), "service_role"), 401, "token expired")
    assert.equal(0, w.lambda_calls)
  end)

  it("project A's issuer and token used on project B (or a project without third-party auth): 401", function()
    local w = world()
    local token = idp.sign(key_a, claims())
    request("acme-prod", "Bearer " .. token)
    assert.equal(1, w.lambda_calls)
    refused(request("beta-prod", "Bearer " .. token), 401, "issuer not allowed")
    refused(request("plain-prod", "Bearer " .. token), 401, "issuer not allowed")
    assert.equal(1, w.lambda_calls)
  end)

  it("keys unavailable: 503 with a reason, not anon; keys fetched once, not per request", function()
    local w = world()
    w.idp_status = 500
    local k = request("acme-prod", "Bearer " .. idp.sign(key_a, claims()))
    local body = refused(k, 503, "the issuer's signing keys are unavailable")
    assert.equal("jwks_unavailable", body.code)
    assert.equal(0, w.lambda_calls)
    w.clock.now = w.clock.now + 60
    w.idp_status = 200
    for _ = 1, 10 do
      assert.equal(200, request("acme-prod", "Bearer " .. idp.sign(key_a, claims())).exited.status)
    end
    assert.equal(2, w.http.count(JWKS_A))
    -- The log names the issuer, never a token.
    for _, line in ipairs(w.errlog.run_timers()) do
      assert.is_nil(line:find("eyJ", 1, true), line)
    end
  end)

  it("the config document keeps third_party_auth through the Redis refill", function()
    local w = world()
    request("acme-prod", "Bearer " .. idp.sign(key_a, claims()))
    local cached = cjson.decode(w.redis.data["project:cfg:acme-prod"])
    assert.equal(ISS_A, cached.third_party_auth[1].issuer)
    assert.equal(JWKS_A, cached.third_party_auth[1].jwks_url)
    -- Another task reading that copy accepts the same token.
    handler.reset()
    w.http.calls = {}
    assert.equal(200, request("acme-prod", "Bearer " .. idp.sign(key_a, claims())).exited.status)
    assert.equal(0, w.http.count(TM))
    assert.equal(0, w.http.count(JWKS_A))
  end)
end)

describe("deps.https_get", function()
  -- A fake of lua-resty-http following its README: parse_uri(uri, false)
  -- -> {scheme, host, port, path, query}; connect(opts); request(params)
  -- -> res with status, headers and body_reader(max_chunk) -> chunk | nil.
  local function fake_http(status, headers, body, chunk_delay)
    local f = { closed = 0 }
    f.clock = { now = 0 }
    function f.parse_uri(_, uri)
      local scheme, host, path, query = uri:match("^(https?)://([^/:?]+)([^?]*)%??(.*)$")
      if not scheme then return nil, "bad uri" end
      return { scheme, host, scheme == "https" and 443 or 80, path ~= "" and path or "/", query }
    end
    function f.new()
      local c = {}
      function c:set_timeouts(...) f.timeouts = { ... } end
      function c:connect(opts) f.connected = opts return true end
      function c:request(params)
        f.params = params
        local pos = 1
        return { status = status, headers = headers, body_reader = function(max)
          if pos > #body then return nil end
          local chunk = body:sub(pos, pos + max - 1)
          pos = pos + #chunk
          f.clock.now = f.clock.now + (chunk_delay or 0)
          return chunk
        end }
      end
      function c:close() f.closed = f.closed + 1 end
      return c
    end
    return f
  end

  it("GETs over verified https and returns the body", function()
    local f = fake_http(200, {}, '{"keys":[]}')
    local get = deps.https_get(f, function() return f.clock.now end)
    assert.same({ 200, '{"keys":[]}' }, { get("https://idp.example.com/jwks?x=1", 3000, 65536) })
    assert.same({ scheme = "https", host = "idp.example.com", port = 443, ssl_verify = true, ssl_server_name = "idp.example.com" }, f.connected)
    assert.equal("/jwks?x=1", f.params.path)
    assert.same({ 3000, 3000, 3000 }, f.timeouts)
    assert.same({ nil, nil, "not an https URL" }, { get("http://idp.example.com/jwks", 3000, 65536) })
  end)

  it("gives up beyond the size cap (declared or read) and past the overall timeout", function()
    local big = string.rep("x", 70000)
    local f = fake_http(200, {}, big)
    assert.same({ nil, nil, "body over 65536 bytes" }, { deps.https_get(f, function() return 0 end)("https://i/j", 3000, 65536) })
    local f2 = fake_http(200, { ["Content-Length"] = "70000" }, "{}")
    assert.same({ nil, nil, "body over 65536 bytes" }, { deps.https_get(f2, function() return 0 end)("https://i/j", 3000, 65536) })
    local f3 = fake_http(200, {}, string.rep("x", 40000), 1)
    assert.same({ nil, nil, "timeout" }, { deps.https_get(f3, function() return f3.clock.now end)("https://i/j", 3000, 65536) })
    assert.equal(1, f.closed)
  end)
end)
