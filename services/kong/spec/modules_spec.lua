package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local fakes = require("spec.helpers.fakes")
local jwt = require("kong.plugins.dynamic-lambda-router.jwt")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local credentials = require("kong.plugins.dynamic-lambda-router.credentials")
local cache = require("kong.plugins.dynamic-lambda-router.cache")

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
    assert.same({ iss = "supabase", ref = "p1x", role = "anon", iat = 1, exp = 301 }, cjson.decode(fakes.b64decode(p)))
    assert.equal(crypto.base64url(crypto.hmac_sha256("secret", h .. "." .. p)), s)
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
    assert.same({ access_key = "A", secret_key = "S", session_token = "T", expires = credentials.parse_iso8601("2099-01-01T00:00:00Z") }, got)
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
  end)
end)
