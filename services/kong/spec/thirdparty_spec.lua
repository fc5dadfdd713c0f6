local fakes = require("spec.helpers.fakes")
local idp = require("spec.helpers.idp")
local thirdparty = require("kong.plugins.dynamic-lambda-router.thirdparty")
local deps = require("kong.plugins.dynamic-lambda-router.deps")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson")

local ISS = "https://idp.example.com/tenant-a"
local DISCOVERY = ISS .. "/.well-known/openid-configuration"
local JWKS_URL = "https://keys.idp.example.com/jwks.json"

local k1, k2 = idp.rsa("k1"), idp.ec("k2")

-- world: a clock, Redis behind the real deps.redis_client, and the
-- identity provider's discovery document and key set over a fake HTTP
-- client; workers are stores sharing them.
local function world()
  local w = { clock = { now = 1763800000 }, keys = idp.jwks(k1), logs = {}, idp_status = 200 }
  w.redis = fakes.resty_redis(w.clock)
  w.http = fakes.http({
    [DISCOVERY] = function()
      return w.idp_status, {}, cjson.encode({ issuer = ISS, jwks_uri = w.jwks_uri or JWKS_URL })
    end,
    [JWKS_URL] = function() return w.idp_status, {}, w.jwks_body or cjson.encode(w.keys) end,
  })
  function w.worker()
    return thirdparty.new({
      now = function() return w.clock.now end,
      fetch = function(url, timeout, max)
        w.last_fetch = { url = url, timeout = timeout, max = max }
        local status, _, body = w.http.request("GET", url, {}, nil, timeout)
        if not status then return nil, nil, body end
        return status, body
      end,
      redis = function()
        if w.redis.down then return nil, "connection refused" end
        return deps.redis_client(w.redis.module, fakes.NULL, { redis_timeout_ms = 200, redis_host = "redis", redis_port = 6379 })
      end,
      log = function(kind, level, ...)
        w.logs[#w.logs + 1] = kind .. " " .. level .. " " .. table.concat({ ... })
      end,
    })
  end
  return w
end

local function entry(extra)
  local e = { issuer = ISS }
  for k, v in pairs(extra or {}) do e[k] = v end
  return assert(thirdparty.entry(e))
end

local function redis_key(src) return "tpa:jwks:" .. crypto.hex(crypto.sha256(src)) end

describe("thirdparty key sets", function()
  it("discovery -> jwks_uri, fetched with the timeout and size cap, kept in memory and Redis", function()
    local w = world()
    local a = w.worker()
    local jwks = assert(a:keys(entry(), "k1"))
    assert.equal("k1", jwks.keys[1].kid)
    assert.equal(1, w.http.count(DISCOVERY))
    assert.equal(1, w.http.count(JWKS_URL))
    assert.same({ url = JWKS_URL, timeout = 3000, max = 65536 }, w.last_fetch)
    local key = redis_key("discovery:" .. ISS)
    assert.same(w.keys, cjson.decode(w.redis.data[key]))
    assert.equal(3600, w.redis.ttl[key] - w.clock.now)

    -- Every request after that: worker memory, no network, no Redis.
    local commands = #w.redis.commands
    for _ = 1, 50 do assert.truthy(a:keys(entry(), "k1")) end
    assert.equal(1, w.http.count(JWKS_URL))
    assert.equal(commands, #w.redis.commands)

    -- Another worker or task: from Redis.
    assert.truthy(w.worker():keys(entry(), "k1"))
    assert.equal(1, w.http.count(JWKS_URL))

    -- Past the memory TTL the worker reads Redis again, past Redis's the issuer.
    w.clock.now = w.clock.now + 301
    assert.truthy(a:keys(entry(), "k1"))
    assert.equal(1, w.http.count(JWKS_URL))
    w.clock.now = w.clock.now + 3600
    assert.truthy(a:keys(entry(), "k1"))
    assert.equal(2, w.http.count(JWKS_URL))
  end)

  it("jwks_url is fetched directly; custom_jwks needs no fetch", function()
    local w = world()
    assert.truthy(w.worker():keys(entry({ jwks_url = JWKS_URL }), "k1"))
    assert.equal(0, w.http.count(DISCOVERY))
    assert.equal(1, w.http.count(JWKS_URL))
    local custom = idp.jwks(k2)
    assert.equal(custom, w.worker():keys(entry({ custom_jwks = custom }), "k2"))
    assert.equal(1, #w.http.calls)
  end)

  it("only https: an http jwks_url or issuer is not configurable, an http jwks_uri is not followed", function()
    assert.same({ nil, "jwks_url is not an https URL" }, { thirdparty.entry({ issuer = ISS, jwks_url = "http://keys.example.com/jwks" }) })
    assert.same({ nil, "issuer is not an https URL" }, { thirdparty.entry({ issuer = "http://idp.example.com" }) })
    local w = world()
    w.jwks_uri = "http://keys.idp.example.com/jwks.json"
    local a = w.worker()
    assert.same({ nil, "no signing keys" }, { a:keys(entry(), "k1") })
    assert.equal(1, w.http.count(DISCOVERY))
    assert.equal(0, #w.http.calls - 1)
    assert.matches("jwks_uri is not an https URL", w.logs[#w.logs], 1, true)
  end)

  it("refuses a key set over the size cap or with too many keys", function()
    local w = world()
    local many = {}
    for i = 1, 101 do many[i] = { kty = "RSA", kid = "x" .. i, n = k1.jwk.n, e = k1.jwk.e } end
    w.jwks_body = cjson.encode({ keys = many })
    assert.is_nil((w.worker():keys(entry({ jwks_url = JWKS_URL }), "k1")))
    local w2 = world()
    w2.jwks_body = cjson.encode({ keys = { k1.jwk }, pad = string.rep("x", 65536) })
    assert.is_nil((w2.worker():keys(entry({ jwks_url = JWKS_URL }), "k1")))
  end)

  it("an unknown kid makes one refetch per minute per issuer, for all workers sharing Redis", function()
    local w = world()
    local a, b = w.worker(), w.worker()
    assert.truthy(a:keys(entry(), "k1"))
    assert.equal(1, w.http.count(JWKS_URL))

    -- Within a minute of a fetch the worker does not fetch again.
    w.keys = idp.jwks(k1, k2)
    w.clock.now = w.clock.now + 30
    assert.equal(1, #a:keys(entry(), "k2").keys)
    assert.equal(1, w.http.count(JWKS_URL))
    -- The issuer has rotated to k2: the next token with k2 a minute after
    -- the last fetch fetches once.
    w.clock.now = w.clock.now + 30
    local jwks = a:keys(entry(), "k2")
    assert.equal(2, #jwks.keys)
    assert.equal(2, w.http.count(JWKS_URL))
    -- The other worker finds k2 in Redis, without the network.
    assert.equal(2, #b:keys(entry(), "k2").keys)
    assert.equal(2, w.http.count(JWKS_URL))

    -- Unknown kids (forged tokens) within the minute: no fetch at all.
    for i = 1, 20 do
      assert.equal(2, #a:keys(entry(), "nope-" .. i).keys)
      assert.equal(2, #b:keys(entry(), "nope-" .. i).keys)
    end
    assert.equal(2, w.http.count(JWKS_URL))
    -- A minute later once more, and only one of the workers.
    w.clock.now = w.clock.now + 61
    a:keys(entry(), "nope-a")
    b:keys(entry(), "nope-b")
    assert.equal(3, w.http.count(JWKS_URL))
  end)

  it("an unreachable issuer: 503 without keys, not retried within the minute; a stale copy is used", function()
    local w = world()
    w.idp_status = 500
    local a = w.worker()
    assert.same({ nil, "no signing keys" }, { a:keys(entry(), "k1") })
    assert.is_nil((a:keys(entry(), "k1")))
    assert.equal(1, w.http.count(DISCOVERY))
    w.clock.now = w.clock.now + 60
    w.idp_status = 200
    assert.truthy(a:keys(entry(), "k1"))

    -- Memory copy past its TTL, Redis down, issuer down: the stale copy.
    w.clock.now = w.clock.now + 400
    w.redis.down = true
    w.idp_status = 503
    assert.truthy(a:keys(entry(), "k1"))
    -- Up to an hour past the memory TTL.
    w.clock.now = w.clock.now + 3600
    assert.is_nil((a:keys(entry(), "k1")))
  end)

  it("Redis down: keys straight from the issuer, once per minute per worker", function()
    local w = world()
    w.redis.down = true
    local a = w.worker()
    assert.truthy(a:keys(entry(), "k1"))
    assert.truthy(a:keys(entry(), "k1"))
    assert.equal(1, w.http.count(JWKS_URL))
    a:keys(entry(), "unknown")
    assert.equal(1, w.http.count(JWKS_URL))
    w.clock.now = w.clock.now + 60
    a:keys(entry(), "unknown")
    a:keys(entry(), "unknown")
    assert.equal(2, w.http.count(JWKS_URL))
  end)
end)

describe("thirdparty.authenticate", function()
  local NOW = 1763800000
  local function claims(iss)
    return { iss = iss or ISS, sub = "user-1", exp = NOW + 600, iat = NOW }
  end

  it("finds the project's issuer; another project's issuer, malformed or failing tokens get 401 with a reason", function()
    local w = world()
    local a = w.worker()
    local cfg = { third_party_auth = assert(thirdparty.parse_config({ { issuer = ISS, audience = cjson.null } })) }
    local c = assert(a:authenticate(cfg, idp.sign(k1, claims())))
    assert.equal("user-1", c.sub)
    -- Project B's issuer, signed by B's key: not this project's.
    local other = idp.rsa("b1")
    assert.same({ nil, 401, "invalid_token", "issuer not allowed" },
      { a:authenticate(cfg, idp.sign(other, claims("https://idp.example.com/tenant-b"))) })
    assert.same({ nil, 401, "invalid_token", "issuer not allowed" },
      { a:authenticate({}, idp.sign(k1, claims())) })
    assert.same({ nil, 401, "invalid_token", "malformed token" }, { a:authenticate(cfg, "not-a-jwt") })
    local expired = claims()
    expired.exp = NOW - 120
    assert.same({ nil, 401, "invalid_token", "token expired" }, { a:authenticate(cfg, idp.sign(k1, expired)) })
    assert.same({ nil, 401, "invalid_token", "unknown kid" }, { a:authenticate(cfg, idp.sign(idp.rsa("k9"), claims())) })
  end)

  it("503 when the keys cannot be had or the entry is unusable", function()
    local w = world()
    w.idp_status = 502
    local cfg = { third_party_auth = assert(thirdparty.parse_config({ { issuer = ISS } })) }
    assert.same({ nil, 503, "jwks_unavailable", "the issuer's signing keys are unavailable" },
      { w.worker():authenticate(cfg, idp.sign(k1, claims())) })
    local bad = { third_party_auth = assert(thirdparty.parse_config({ { issuer = ISS, jwks_url = "http://x" } })) }
    assert.same({ nil, 503, "issuer_misconfigured", "third-party auth of this issuer is misconfigured" },
      { w.worker():authenticate(bad, idp.sign(k1, claims())) })
    assert.same({ nil, "third_party_auth is not a list" }, { thirdparty.parse_config("x") })
  end)
end)

describe("thirdparty helpers", function()
  it("bearer: user tokens only; API keys are not user tokens; other schemes are refused", function()
    assert.is_nil(thirdparty.bearer(nil))
    assert.is_nil(thirdparty.bearer("Bearer sb_publishable_abc"))
    assert.equal("eyJ.a.b", thirdparty.bearer("Bearer eyJ.a.b"))
    assert.equal("eyJ.a.b", thirdparty.bearer("bearer  eyJ.a.b "))
    assert.is_false(thirdparty.bearer("Basic dXNlcjpwYXNz"))
    assert.is_false(thirdparty.bearer("Bearer a b"))
    assert.is_false(thirdparty.bearer("Bearer"))
    assert.is_false(thirdparty.bearer({ "Bearer a.b.c", "Bearer d.e.f" }))
  end)

  it("internal_claims: the provider's claims, role and aud authenticated, never longer than the token", function()
    local NOW = 1763800000
    local c = thirdparty.internal_claims({ iss = ISS, sub = "u", email = "a@b.c", ["cognito:groups"] = { "admin" },
      role = "service_role", aud = "client", exp = NOW + 100, nbf = NOW - 5, iat = NOW - 5 }, "acme-prod", NOW, 300)
    assert.same({ iss = ISS, sub = "u", email = "a@b.c", ["cognito:groups"] = { "admin" }, role = "authenticated",
      aud = "authenticated", ref = "acme-prod", iat = NOW, exp = NOW + 100 }, c)
    assert.equal(NOW + 300, thirdparty.internal_claims({ sub = "u", exp = NOW + 9999 }, "p", NOW, 300).exp)
  end)

  it("public_host_url: a DNS name on the default port only", function()
    for _, ok in ipairs({ "https://login.example.com/keys", "https://cognito-idp.eu-west-1.amazonaws.com/p/.well-known/jwks.json" }) do
      assert.is_true(thirdparty.public_host_url(ok), ok)
    end
    for _, bad in ipairs({ "https://10.0.0.5/keys", "https://169.254.169.254/", "https://[::1]/k", "https://example.com:8443/k",
      "https://user@example.com/k", "https://localhost/k", "https://0x7f.1/k", "https://2130706433/k" }) do
      assert.is_false(thirdparty.public_host_url(bad), bad)
    end
  end)

  it("internal_claims drops numbers JSON cannot carry, so the minted JWT always encodes", function()
    local NOW = 1763800000
    local decoded = cjson.decode('{"sub":"u","exp":1e999,"big":1e999,"nested":{"n":-1e999,"ok":2},"list":[1,1e999]}')
    local c = thirdparty.internal_claims(decoded, "p", NOW, 300)
    assert.is_nil(c.big)
    assert.is_nil(c.nested.n)
    assert.equal(2, c.nested.ok)
    assert.equal(NOW + 300, c.exp)
    assert.truthy(cjson.encode(c), "encodes")
  end)
end)
