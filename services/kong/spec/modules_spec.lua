package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local fakes = require("spec.helpers.fakes")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local credentials = require("kong.plugins.dynamic-lambda-router.credentials")
local cache = require("kong.plugins.dynamic-lambda-router.cache")
local bucket = require("kong.plugins.dynamic-lambda-router.bucket")
local cfgcache = require("kong.plugins.dynamic-lambda-router.cfgcache")

describe("crypto", function()
  it("uses luaossl outside Kong", function() assert.equal("luaossl", crypto.backend) end)
  it("computes RFC 4231 HMAC-SHA256 test case 2", function()
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      crypto.hex(crypto.hmac_sha256("Jefe", "what do ya want for nothing?")))
  end)
  it("computes SHA-256 of the empty string", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", crypto.hex(crypto.sha256("")))
  end)
  it("encodes base64 and base64url (RFC 4648 vectors)", function()
    for plain, b64 in pairs({ [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==", fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }) do
      assert.equal(b64, crypto.base64(plain))
      assert.equal((b64:gsub("=", "")), crypto.base64url(plain))
    end
    assert.equal("-_8", crypto.base64url("\251\255"))
  end)
end)

describe("jwt.sign_hs256", function()
  it("makes a compact JWS whose signature is the HMAC of its first two parts", function()
    local token = assert(jwt.sign_hs256({ iss = "supabase", ref = "p1x", role = "anon", iat = 1, exp = 301 }, "secret"))
    local h, p, s = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
    assert.truthy(h and p and s)
    assert.same({ alg = "HS256", typ = "JWT" }, cjson.decode(fakes.b64decode(h)))
    assert.is_nil(fakes.b64decode(h):find("kid", 1, true), "no kid without one")
    assert.same({ iss = "supabase", ref = "p1x", role = "anon", iat = 1, exp = 301 }, cjson.decode(fakes.b64decode(p)))
    assert.equal(crypto.base64url(crypto.hmac_sha256("secret", h .. "." .. p)), s)
  end)
  it("names the key in the header when given a kid", function()
    for _, kid in ipairs({ "0b6f3c2e-4a51-4c1e-9d1a-5b2f6f0c9e11", 'odd "kid"/\\' }) do
      local token = assert(jwt.sign_hs256({ ref = "p1x" }, "secret", kid))
      local h, p, s = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
      assert.same({ alg = "HS256", typ = "JWT", kid = kid }, cjson.decode(fakes.b64decode(h)))
      assert.equal(crypto.base64url(crypto.hmac_sha256("secret", h .. "." .. p)), s)
    end
    assert.is_nil((jwt.sign_hs256({}, "secret", "")))
    assert.is_nil((jwt.sign_hs256({}, "secret", 7)))
  end)

  it("refuses an empty secret", function()
    local token, err = jwt.sign_hs256({}, "")
    assert.is_nil(token)
    assert.matches("empty secret", err)
  end)
end)

describe("credentials", function()
  local function env(t) return function(k) return t[k] end end

  it("parses ISO 8601 UTC times", function()
    assert.equal(0, credentials.parse_iso8601("1970-01-01T00:00:00Z"))
    assert.equal(1763812345, credentials.parse_iso8601(os.date("!%Y-%m-%dT%H:%M:%SZ", 1763812345)))
    assert.equal(951782400, credentials.parse_iso8601("2000-02-29T00:00:00Z"))
  end)

  it("uses the full URI with the token from a file", function()
    local seen
    local c = credentials.new({
      getenv = env({ AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1:1338/creds", AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = "/token" }),
      read_file = function(p) assert.equal("/token", p) return "tok-123\n" end,
      http = function(url, headers)
        seen = { url = url, headers = headers }
        return 200, cjson.encode({ AccessKeyId = "A", SecretAccessKey = "S", Token = "T", Expiration = "2099-01-01T00:00:00Z" })
      end,
    })
    local got = assert(c:get())
    local exp = credentials.parse_iso8601("2099-01-01T00:00:00Z")
    assert.same({ access_key = "A", secret_key = "S", session_token = "T", expires = exp, expiration = exp }, got)
    assert.equal("http://127.0.0.1:1338/creds", seen.url)
    assert.equal("tok-123", seen.headers.Authorization)
  end)

  it("keeps unexpired credentials when a refresh fails, and fails once they expire", function()
    local now, ok = 1000, true
    local c = credentials.new({
      getenv = env({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/x" }),
      now = function() return now end,
      http = function()
        if not ok then return 500, "" end
        return 200, cjson.encode({ AccessKeyId = "A", SecretAccessKey = "S", Expiration = os.date("!%Y-%m-%dT%H:%M:%SZ", 1000 + 600) })
      end,
    })
    assert.equal("A", c:get().access_key)
    ok, now = false, 1400 -- inside the refresh window, still valid
    assert.equal("A", c:get().access_key)
    now = 1700 -- expired
    local got, err = c:get()
    assert.is_nil(got)
    assert.matches("answered 500", err)
  end)

  it("has no expiration when the endpoint gives none, and is refetched within 15 minutes", function()
    local now, calls = 1000, 0
    local c = credentials.new({
      getenv = env({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/x" }),
      now = function() return now end,
      http = function()
        calls = calls + 1
        return 200, cjson.encode({ AccessKeyId = "A", SecretAccessKey = "S" })
      end,
    })
    local got = assert(c:get())
    assert.is_nil(got.expiration)
    assert.equal(1900, got.expires)
    now = 1601 -- inside the refresh window of the assumed 15 minutes
    c:get()
    assert.equal(2, calls)
  end)

  it("says what is missing without container credentials", function()
    local got, err = credentials.new({ getenv = env({}), http = function() error("no call") end }):get()
    assert.is_nil(got)
    assert.matches("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", err)
  end)
end)

describe("cache", function()
  it("expires entries and stays bounded", function()
    local now = 0
    local c = cache.new(2, function() return now end)
    c:set("a", 1, 10)
    assert.equal(1, c:get("a"))
    now = 10
    assert.is_nil(c:get("a"))
    c:set("a", 1, 10); c:set("b", 2, 10); c:set("c", 3, 10)
    assert.is_true(c.count <= 2)
    assert.equal(3, c:get("c"))
  end)

  it("keeps an expired entry for get_stale only, for its grace period", function()
    local now = 0
    local c = cache.new(10, function() return now end)
    c:set("a", "A", 30, 300)
    now = 29
    assert.same({ "A", 0 }, { c:get_stale("a") })
    now = 30
    assert.is_nil(c:get("a"))
    assert.same({ "A", 0 }, { c:get_stale("a") })
    now = 329
    assert.is_nil(c:get("a"))
    assert.same({ "A", 299 }, { c:get_stale("a") })
    now = 330
    assert.is_nil(c:get_stale("a"))
    assert.equal(0, c.count)
    c:set("b", "B", 30) -- no grace period
    now = 360
    assert.is_nil(c:get_stale("b"))
  end)

  it("evicts dead entries first, then the one closest to its end, never all at once", function()
    local now = 0
    local c = cache.new(3, function() return now end)
    c:set("old", 1, 10, 0)
    c:set("a", 2, 30, 300)
    now = 5
    c:set("b", 3, 30, 300)
    now = 20 -- "old" is past its end
    c:set("c", 4, 30, 300)
    assert.is_nil(c.items.old)
    assert.same({ 2, 3, 4 }, { (c:get_stale("a")), (c:get_stale("b")), (c:get_stale("c")) })
    c:set("d", 5, 30, 300) -- full of live entries: "a" ends first
    assert.equal(3, c.count)
    assert.is_nil(c:get_stale("a"))
    assert.same({ 3, 4, 5 }, { (c:get_stale("b")), (c:get_stale("c")), (c:get_stale("d")) })
  end)
end)

describe("bucket", function()
  it("allows the burst, then the rate", function()
    local now = 100
    local b = bucket.new(2, 3, function() return now end)
    assert.same({ true, true, true, false }, { b:take(), b:take(), b:take(), b:take() })
    now = 101
    assert.same({ true, true, false }, { b:take(), b:take(), b:take() })
    now = 200 -- refills up to the burst, not beyond
    assert.same({ true, true, true, false }, { b:take(), b:take(), b:take(), b:take() })
  end)
end)

describe("cfgcache", function()
  it("parses the config document, a missing version counting as 0", function()
    local doc = { project_id = "acme-prod", function_url = "https://x.lambda-url.eu-west-1.on.aws/", jwt_secret = "s", jwt_kid = "k1" }
    assert.same({ project_id = "acme-prod", function_url = doc.function_url, jwt_secret = "s", jwt_kid = "k1", version = 0,
      paused = false },
      cfgcache.parse(cjson.encode(doc), "acme-prod"))
    doc.version = 2 ^ 53 - 1
    assert.equal(2 ^ 53 - 1, cfgcache.parse(doc, "acme-prod").version)
    doc.jwt_kid = nil
    assert.is_nil(cfgcache.parse(doc, "acme-prod").jwt_kid)
    for _, bad in ipairs({ { version = 2 ^ 53 }, { version = -1 }, { version = 0.5 }, { version = "1" }, { jwt_secret = "" },
      { function_url = "http://x/" }, { project_id = "other" }, { jwt_kid = false } }) do
      local d = { project_id = "acme-prod", function_url = "https://x/", jwt_secret = "s", version = 1 }
      for k, v in pairs(bad) do d[k] = v end
      assert.is_nil(cfgcache.parse(d, "acme-prod"), cjson.encode(bad))
    end
    assert.is_nil(cfgcache.parse("not json", "acme-prod"))
  end)

  it("encodes versions up to 2^53-1 exactly", function()
    local cfg = { project_id = "acme-prod", function_url = "https://x/", jwt_secret = "s/\"", jwt_kid = "k", version = 2 ^ 53 - 1,
      paused = false }
    local doc, version = cfgcache.encode(cfg)
    assert.equal("9007199254740991", version)
    assert.matches(',"version":9007199254740991}$', doc)
    assert.same(cfg, cfgcache.parse(doc, "acme-prod"))
    cfg.jwt_kid = nil
    assert.same(cfg, cfgcache.parse((cfgcache.encode(cfg)), "acme-prod"))
  end)

  it("takes functions_url when it is an https URL, absent or null meaning none", function()
    local base = { project_id = "acme-prod", function_url = "https://x/", jwt_secret = "s", version = 1 }
    local function with(v)
      local d = {}
      for k, x in pairs(base) do d[k] = x end
      d.functions_url = v
      return d
    end
    local url = "https://fn.lambda-url.eu-west-1.on.aws/"
    local cfg = cfgcache.parse(with(url), "acme-prod")
    assert.equal(url, cfg.functions_url)
    assert.same(cfg, cfgcache.parse((cfgcache.encode(cfg)), "acme-prod"))
    assert.is_nil(cfgcache.parse(with(nil), "acme-prod").functions_url)
    assert.is_nil(cfgcache.parse(cjson.encode(with(cjson.null)), "acme-prod").functions_url)
    for _, bad in ipairs({ "http://fn/", "", "https://", "https://:443/", 1, true, {} }) do
      local _, why = cfgcache.parse(with(bad), "acme-prod")
      assert.equal("functions_url is not an https URL", why, cjson.encode(bad))
    end
  end)
end)

describe("body.read", function()
  local LIMIT = 4096
  local function read(body, headers_len, req_opts)
    local q = fakes.ngx_req(body, req_opts)
    local a, b, c, d = require("kong.plugins.dynamic-lambda-router.body").read(q, { limit = LIMIT, content_length = headers_len })
    q.cleanup()
    return a, b, c, d, q
  end
  local function bytes(n)
    local t = {}
    for i = 1, n do t[i] = string.char((i * 131 + 7) % 256) end
    return table.concat(t)
  end

  it("returns bodies kept in memory and bodies written to a file, byte for byte", function()
    for _, n in ipairs({ 0, 1, 1000, LIMIT - 1, LIMIT }) do
      local b = bytes(n)
      for _, ro in ipairs({ { buffer = 8 * 1024 }, { buffer = 512 }, { in_file = true } }) do
        assert.equal(b, (read(b, tostring(n), ro)), n)  -- Content-Length
        assert.equal(b, (read(b, nil, ro)), n)          -- chunked
      end
    end
  end)

  it("refuses bodies over the limit with 413, before reading when declared", function()
    local _, status, msg, _, q = read(bytes(LIMIT + 1), tostring(LIMIT + 1))
    assert.equal(413, status)
    assert.equal("Request body too large: the limit is 4096 bytes", msg)
    assert.is_false(q.read)
    for _, ro in ipairs({ { buffer = 512 }, { buffer = 1e6 } }) do
      _, status = read(bytes(LIMIT + 1), nil, ro)
      assert.equal(413, status)
    end
  end)

  it("refuses a body it cannot read, never returning it as empty", function()
    local body, status = read(bytes(100), "100", { in_file = true, remove_file = true })
    assert.is_nil(body); assert.equal(500, status)
    body, status = read(bytes(100), nil, { in_file = true, remove_file = true })
    assert.is_nil(body); assert.equal(500, status)
    body, status = read(bytes(100), "100", { read_error = "client aborted" })
    assert.is_nil(body); assert.equal(400, status)
    body, status = read(nil, "100") -- declared, but nginx has none (discarded)
    assert.is_nil(body); assert.equal(500, status)
    body, status = read("x", "abc")
    assert.is_nil(body); assert.equal(400, status)
  end)
end)

describe("schema", function()
  it("declares the plugin's config with safe defaults", function()
    package.loaded["kong.db.schema.typedefs"] = {
      no_consumer = { type = "foreign" }, protocols_http = { type = "set" },
      url = function(t) t.type = "string"; return t end,
      port = function(t) t.type = "integer"; return t end,
    }
    local schema = require("kong.plugins.dynamic-lambda-router.schema")
    assert.equal("dynamic-lambda-router", schema.name)
    local fields = {}
    for _, f in ipairs(schema.fields[3].config.fields) do
      local name, def = next(f)
      fields[name] = def
    end
    assert.equal(300, fields.jwt_ttl.default)
    assert.equal(300, fields.cache_ttl.default)
    assert.is_true(fields.redis_ssl.default)
    assert.is_true(fields.redis_password.referenceable)
    assert.is_true(fields.tenant_manager_url.required)
    assert.equal("/rest/v1", fields.strip_prefix.default)
    assert.equal(1048576, fields.max_body_bytes.default)
    assert.equal(300, fields.stale_ttl.default)
    assert.equal(5, fields.tenant_manager_fallback_rate.default)
    assert.equal(100, fields.rate_limit_rps.default)
    assert.equal(200, fields.rate_limit_burst.default)
    assert.equal("rest", fields.mode.default)
    assert.same({ "rest", "functions" }, fields.mode.one_of)
  end)
end)

describe("ratelog", function()
  local ratelog = require("kong.plugins.dynamic-lambda-router.ratelog")

  it("writes one line per kind and interval, then counts the ones it left out", function()
    local clock, written = { now = 1000 }, {}
    local l = ratelog.new(10, function() return clock.now end, function(level, msg) written[#written + 1] = level .. " " .. msg end)
    assert.is_true(l:log("stale", "WARN", "serving project ", "p1", " from a config ", 3, " s past its TTL"))
    for _ = 1, 7 do assert.is_false(l:log("stale", "WARN", "serving project p2")) end
    assert.is_true(l:log("redis", "ERR", "redis down")) -- its own allowance
    clock.now = 1009
    assert.is_false(l:log("stale", "WARN", "serving project p3"))
    clock.now = 1010
    assert.is_true(l:log("stale", "WARN", "serving project p4"))
    clock.now = 1020
    assert.is_true(l:log("stale", "WARN", "serving project p5"))
    assert.same({
      "WARN serving project p1 from a config 3 s past its TTL",
      "ERR redis down",
      "WARN serving project p4 (8 similar lines left out since the previous one)",
      "WARN serving project p5",
    }, written)
  end)
end)

describe("deps.error_log", function()
  local deps = require("kong.plugins.dynamic-lambda-router.deps")

  it("writes from a timer, so nginx appends no request line with its query string", function()
    local n = fakes.ngx_errlog()
    n.request, n.host = "GET /rest/v1/users?select=id&apikey=sb_secret_INQUERY HTTP/1.1", "acme-prod.example.com"
    -- What nginx writes for a line logged in the request itself.
    n.log(n.WARN, "direct")
    assert.matches('^%[warn%] direct, client: [^,]+, server: kong, request: "GET /rest/v1/users%?select=id&apikey=sb_secret_INQUERY HTTP/1%.1", host: "acme%-prod%.example%.com"$', n.lines[1])

    local log = deps.error_log(n)
    assert.is_true(log("WARN", "redis unavailable"))
    assert.is_true(log("ERR", "tenant-manager unreachable"))
    assert.equal(1, #n.lines) -- written once the request handler has yielded
    n.run_timers()
    assert.same({
      "[warn] [dynamic-lambda-router] redis unavailable, context: ngx.timer",
      "[error] [dynamic-lambda-router] tenant-manager unreachable, context: ngx.timer",
    }, { n.lines[2], n.lines[3] })
  end)

  it("drops the line rather than writing it in the request when no timer can be had", function()
    local n = fakes.ngx_errlog()
    n.request = "GET /rest/v1/users?apikey=sb_secret_INQUERY HTTP/1.1"
    n.max_pending = 0
    assert.is_false(deps.error_log(n)("WARN", "redis unavailable"))
    n.run_timers()
    assert.same({}, n.lines)
  end)
end)
