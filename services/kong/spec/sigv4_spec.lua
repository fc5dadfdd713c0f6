package.path = "./?.lua;" .. package.path
local sigv4 = require("kong.plugins.dynamic-lambda-router.sigv4")

-- Cases of the AWS Signature Version 4 test suite (credentials AKIDEXAMPLE,
-- 2015-08-30T12:36:00Z, us-east-1, service "service", host
-- example.amazonaws.com). Randomized comparisons with aws-sdk-go-v2 are in
-- crosscheck/ (Go).
local creds = { access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local opts = { region = "us-east-1", service = "service", now = 1440938160 }

local cases = {
  { "get-vanilla", { method = "GET", path = "/" }, "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
  { "get-vanilla-empty-query-key", { method = "GET", path = "/", query = "Param1=value1" }, "host;x-amz-date", "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
  { "get-vanilla-query-order-key-case", { method = "GET", path = "/", query = "Param2=value2&Param1=value1" }, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
  { "get-vanilla-query-order-key-case (table)", { method = "GET", path = "/", query = { Param2 = "value2", Param1 = "value1" } }, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
  { "get-unreserved", { method = "GET", path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" }, "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
  { "get-utf8", { method = "GET", path = "/\225\136\180" }, "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
  { "post-vanilla", { method = "POST", path = "/" }, "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
  { "post-x-www-form-urlencoded", { method = "POST", path = "/", headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = "Param1=value1" },
    "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
  { "get-header-value-trim", { method = "GET", path = "/", headers = { ["My-Header1"] = " value1", ["My-Header2"] = ' "a   b   c"' } },
    "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
}

describe("sigv4.sign", function()
  for _, c in ipairs(cases) do
    it(c[1], function()
      local req = c[2]
      req.host = "example.amazonaws.com"
      local headers = sigv4.sign(req, creds, opts)
      assert.equal("20150830T123600Z", headers["X-Amz-Date"])
      assert.equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="
        .. c[3] .. ", Signature=" .. c[4], headers["Authorization"])
      assert.is_nil(headers["X-Amz-Security-Token"])
    end)
  end

  it("adds and signs the session token", function()
    local h = sigv4.sign({ method = "GET", host = "example.amazonaws.com", path = "/" },
      { access_key = "AKIDEXAMPLE", secret_key = "x", session_token = "tok" }, opts)
    assert.equal("tok", h["X-Amz-Security-Token"])
    assert.matches("SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token,", h["Authorization"])
  end)

  it("encodes paths once more and queries in sorted, strict form", function()
    assert.equal("/a%2520b/%C3%A9", sigv4.uri_encode("/a%20b/\195\169", true))
    assert.equal("a=1&a=2&b=%20%2A&c=", sigv4.canonical_query("b=+%2a&a=2&a=1&c"))
  end)

  it("rejects missing credentials", function()
    assert.has_error(function() sigv4.sign({ method = "GET", host = "h", path = "/" }, {}, opts) end)
  end)
end)
