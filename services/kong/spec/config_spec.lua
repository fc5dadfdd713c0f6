package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local fakes = require("spec.helpers.fakes")

local BASE_ENV = {
  TENANT_MANAGER_URL = "http://tenant-manager.kong.local:8080",
  STS_ENDPOINT = "https://sts.eu-west-1.amazonaws.com",
  AWS_REGION = "eu-west-1",
  KONG_REDIS_HOST = "master.redis.cache.amazonaws.com",
  KONG_REDIS_PORT = "6379",
  JWT_TTL_SECONDS = "300",
  CACHE_TTL_SECONDS = "120",
}

local function shell_env(env)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "='" .. v:gsub("'", "'\\''") .. "'" end
  table.sort(parts)
  return "env -i PATH=\"$PATH\" " .. table.concat(parts, " ")
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.-)exit=(%d+)%s*$")
  return body, tonumber(code)
end

local function render(extra)
  local env = {}
  for k, v in pairs(BASE_ENV) do env[k] = v end
  for k, v in pairs(extra or {}) do env[k] = v end
  return run(shell_env(env) .. " luajit config/render.lua")
end

local function by_name(list)
  local out, order = {}, {}
  for _, x in ipairs(list) do out[x.name] = x; order[#order + 1] = x.name end
  return out, order
end

describe("base configuration", function()
  local out, code = render({ PLATFORM_DOMAIN = "supabase.example.com" })
  local config = code == 0 and cjson.decode(out)

  it("renders valid JSON with no placeholders left", function()
    assert.equal(0, code, out)
    assert.equal("3.0", config._format_version)
    assert.is_nil(out:find("${", 1, true))
    assert.is_nil(out:find("__PLATFORM_DOMAIN__", 1, true))
  end)

  it("has the three routes", function()
    local services = by_name(config.services)
    assert.same({ "/rest/v1" }, services.rest.routes[1].paths)
    assert.same({ "/functions/v1" }, services.functions.routes[1].paths)
    -- Nothing is proxied by Kong itself: the router calls the Lambdas.
    assert.equal("http://127.0.0.1:9", services.rest.url)
    assert.equal("http://127.0.0.1:9", services.functions.url)
    assert.is_nil(out:find("functions-service", 1, true))
    assert.same({ "/health" }, services.health.routes[1].paths)
    local health = services.health.plugins[1]
    assert.equal("request-termination", health.name)
    assert.equal(200, health.config.status_code)
  end)

  it("chains pre-function, key-auth, acl and the router on /rest/v1", function()
    local plugins, order = by_name(by_name(config.services).rest.plugins)
    assert.same({ "pre-function", "key-auth", "acl", "dynamic-lambda-router" }, order)
    assert.same({ "apikey" }, plugins["key-auth"].config.key_names)
    assert.is_true(plugins["key-auth"].config.hide_credentials)
    -- A key is accepted only from the apikey header, never from the query
    -- string (URLs end up in logs) or a form body.
    assert.is_true(plugins["key-auth"].config.key_in_header)
    assert.is_false(plugins["key-auth"].config.key_in_query)
    assert.is_false(plugins["key-auth"].config.key_in_body)
    local fplugins = by_name(by_name(config.services).functions.plugins)
    assert.is_false(fplugins["key-auth"].config.key_in_query)
    assert.is_false(fplugins["key-auth"].config.key_in_body)
    assert.same({ "anon", "admin" }, plugins.acl.config.allow)
    local router = plugins["dynamic-lambda-router"].config
    assert.equal(BASE_ENV.TENANT_MANAGER_URL, router.tenant_manager_url)
    assert.equal(BASE_ENV.STS_ENDPOINT, router.sts_endpoint)
    assert.equal("eu-west-1", router.aws_region)
    assert.equal(300, router.jwt_ttl)
    assert.equal(120, router.cache_ttl)
    assert.equal(BASE_ENV.KONG_REDIS_HOST, router.redis_host)
    assert.equal("{vault://env/kong-redis-password}", router.redis_password, "the Redis token is a vault reference, not a value")
    assert.equal(1048576, router.max_body_bytes)
    assert.equal(300, router.stale_ttl)
    assert.equal(5, router.tenant_manager_fallback_rate)
    assert.equal(10, router.tenant_manager_fallback_burst)
    assert.equal("rest", router.mode)
    assert.equal(100, router.rate_limit_rps)
    assert.equal(200, router.rate_limit_burst)
  end)

  it("binds the key to the project on /functions/v1 too (the router in functions mode)", function()
    local fplugins, forder = by_name(by_name(config.services).functions.plugins)
    assert.same({ "pre-function", "key-auth", "acl", "dynamic-lambda-router" }, forder)
    local router = fplugins["dynamic-lambda-router"].config
    assert.equal("functions", router.mode)
    assert.equal("/functions/v1", router.strip_prefix)
    assert.equal(155000, router.upstream_timeout_ms)
    assert.equal(BASE_ENV.KONG_REDIS_HOST, router.redis_host)
    assert.equal(100, router.rate_limit_rps)
    assert.equal(1048576, router.max_body_bytes)
    assert.is_true(fplugins["key-auth"].config.hide_credentials)
    local rest = by_name(by_name(config.services).rest.plugins)["dynamic-lambda-router"].config
    assert.equal("/rest/v1", rest.strip_prefix)
    assert.is_nil(rest.upstream_timeout_ms, "the schema's default")
  end)

  it("renders how long the gateway waits for a function from FUNCTIONS_TIMEOUT_SECONDS", function()
    local out2, c = render({ FUNCTIONS_TIMEOUT_SECONDS = "60" })
    assert.equal(0, c, out2)
    local router = by_name(by_name(cjson.decode(out2).services).functions.plugins)["dynamic-lambda-router"].config
    assert.equal(60000, router.upstream_timeout_ms)
    for _, bad in ipairs({ "0", "901", "1.5", "x" }) do
      local msg, code2 = render({ FUNCTIONS_TIMEOUT_SECONDS = bad })
      assert.is_not.equal(0, code2, bad)
      assert.matches("FUNCTIONS_TIMEOUT_SECONDS must be a whole number 1..900", msg)
    end
  end)

  it("renders the default rate limit from the environment, 0 turning it off", function()
    local out2, c = render({ RATE_LIMIT_RPS = "0", RATE_LIMIT_BURST = "50" })
    assert.equal(0, c, out2)
    for _, svc in ipairs({ "rest", "functions" }) do
      local router = by_name(by_name(cjson.decode(out2).services)[svc].plugins)["dynamic-lambda-router"].config
      assert.equal(0, router.rate_limit_rps, svc)
      assert.equal(50, router.rate_limit_burst, svc)
    end
    for name, bad in pairs({ RATE_LIMIT_RPS = "-1", RATE_LIMIT_BURST = "1.5" }) do
      local msg, code2 = render({ [name] = bad })
      assert.is_not.equal(0, code2, name)
      assert.matches(name .. " must be a whole number 0..1000000", msg)
    end
    local exposed = by_name(cjson.decode(out2).plugins).cors.config.exposed_headers
    for _, h in ipairs({ "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining" }) do
      assert.is_truthy(table.concat(exposed, ","):find(h, 1, true), h)
    end
  end)

  it("has CORS and a JSON access log with the project id globally", function()
    local global = by_name(config.plugins)
    assert.truthy(global.cors)
    assert.equal("/dev/stdout", global["file-log"].config.path)
    assert.equal("return kong.ctx.shared.project_id", global["file-log"].config.custom_fields_by_lua.project_id)
  end)

  it("renders the body limit and the outage settings from the environment", function()
    local out2, c = render({ MAX_BODY_BYTES = "2097152", CACHE_STALE_SECONDS = "0", TENANT_MANAGER_FALLBACK_RATE = "0.5",
      TENANT_MANAGER_FALLBACK_BURST = "2" })
    assert.equal(0, c, out2)
    local router = by_name(by_name(cjson.decode(out2).services).rest.plugins)["dynamic-lambda-router"].config
    assert.equal(2097152, router.max_body_bytes)
    assert.equal(0, router.stale_ttl)
    assert.equal(0.5, router.tenant_manager_fallback_rate)
    assert.equal(2, router.tenant_manager_fallback_burst)
    for name, bad in pairs({ MAX_BODY_BYTES = "1023", CACHE_STALE_SECONDS = "-1", TENANT_MANAGER_FALLBACK_RATE = "fast",
      TENANT_MANAGER_FALLBACK_BURST = "0" }) do
      local msg, code2 = render({ [name] = bad })
      assert.is_not.equal(0, code2, name)
      assert.matches(name .. " must be", msg)
    end
    local msg = render({ MAX_BODY_BYTES = "7000000" })
    assert.matches("MAX_BODY_BYTES must be a whole number 1024..6291456", msg)
  end)

  it("gives every entity a fixed unique id, so re-importing is an upsert", function()
    local seen = {}
    local function walk(t)
      if type(t) ~= "table" then return end
      if t.id then
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", t.id)
        assert.is_nil(seen[t.id], "duplicate id " .. t.id)
        seen[t.id] = true
      end
      for _, v in pairs(t) do walk(v) end
    end
    walk(config)
    local again = cjson.decode((render({ PLATFORM_DOMAIN = "supabase.example.com" })))
    assert.same(config, again)
  end)

  it("fails with the variable's name when the environment is incomplete", function()
    local env = {}
    for k, v in pairs(BASE_ENV) do env[k] = v end
    env.STS_ENDPOINT = nil
    local msg, c = run(shell_env(env) .. " luajit config/render.lua")
    assert.is_not.equal(0, c)
    assert.matches("STS_ENDPOINT must be set", msg)
    msg, c = render({ JWT_TTL_SECONDS = "5" })
    assert.is_not.equal(0, c)
    assert.matches("JWT_TTL_SECONDS must be a whole number 30..3600", msg)
  end)
end)

describe("access log", function()
  local fields = by_name(cjson.decode((render({ PLATFORM_DOMAIN = "supabase.example.com" }))).plugins)["file-log"].config.custom_fields_by_lua

  -- One request as Kong and nginx see it in the log phase.
  local function logged(custom_fields, req)
    local k = fakes.kong_pdk({ query = req.query, headers = req.headers, method = "GET", project_id = "acme-prod",
      response_headers = req.response_headers })
    local var = { scheme = "https", host = "acme-prod.supabase.example.com", server_port = "8000",
      request_uri = req.request_uri, upstream_uri = req.upstream_uri, is_args = req.query and req.query ~= "" and "?" or "",
      args = req.query, request_time = "0.004" }
    return fakes.log_plugin_run(custom_fields, k, { var = var, ctx = {}, status = 401 })
  end

  local leaky = {
    request_uri = "/rest/v1/users?apikey=sb_secret_INQUERY&select=id&email=eq.ada@example.com",
    query = "apikey=sb_secret_INQUERY&select=id&email=eq.ada@example.com&sb_secret_ASNAME",
    upstream_uri = "/users?apikey=sb_secret_INQUERY&select=id&email=eq.ada@example.com",
    headers = { apikey = "sb_publishable_INHEADER", authorization = "Bearer sb_secret_INAUTH",
      ["proxy-authorization"] = "Basic cHJveHk6c2VjcmV0", accept = "application/json",
      cookie = "theme=dark; sb-acme-prod-auth-token=eyJINCOOKIE", ["x-client-authorization"] = "Bearer eyJINXCLIENT" },
    response_headers = { ["Set-Cookie"] = "sb-acme-prod-auth-token=eyJINSETCOOKIE; Path=/; HttpOnly", ["Content-Type"] = "application/json" },
  }
  local SECRETS = { "sb_secret_INQUERY", "sb_secret_ASNAME", "sb_publishable_INHEADER", "sb_secret_INAUTH", "cHJveHk6c2VjcmV0", "ada@example.com",
    "eyJINCOOKIE", "eyJINXCLIENT", "eyJINSETCOOKIE" }

  it("would leak the query string and the apikey header with Kong's serializer alone", function()
    local entry = cjson.encode(logged({ project_id = fields.project_id }, leaky))
    assert.truthy(entry:find("sb_secret_INQUERY", 1, true))
    assert.truthy(entry:find("sb_publishable_INHEADER", 1, true))
    assert.truthy(entry:find("eyJINCOOKIE", 1, true))
    assert.truthy(entry:find("eyJINSETCOOKIE", 1, true))
    -- What Kong itself redacts.
    assert.falsy(entry:find("sb_secret_INAUTH", 1, true))
  end)

  it("redacts query strings and credential headers, and keeps the rest", function()
    local entry = logged(fields, leaky)
    local json = cjson.encode(entry)
    for _, secret in ipairs(SECRETS) do
      assert.is_nil(json:find(secret, 1, true), secret .. " in " .. json)
    end
    assert.equal("acme-prod", entry.project_id)
    assert.equal("/rest/v1/users?REDACTED", entry.request.uri)
    assert.equal("https://acme-prod.supabase.example.com:8000/rest/v1/users?REDACTED", entry.request.url)
    assert.equal("/users?REDACTED", entry.upstream_uri)
    assert.equal(4, entry.request.querystring, "only the number of parameters: names may be keys too")
    assert.equal("REDACTED", entry.request.headers.apikey)
    assert.equal("REDACTED", entry.request.headers.authorization)
    assert.equal("REDACTED", entry.request.headers["proxy-authorization"])
    assert.equal("REDACTED", entry.request.headers.cookie)
    assert.equal("REDACTED", entry.request.headers["x-client-authorization"])
    assert.equal("REDACTED", entry.response.headers["set-cookie"])
    assert.equal("application/json", entry.request.headers.accept)
    assert.equal("application/json", entry.response.headers["content-type"])
  end)

  it("adds nothing to a request without query or credentials", function()
    local entry = logged(fields, { request_uri = "/rest/v1/users", query = "", upstream_uri = "/users", headers = { accept = "*/*" } })
    assert.equal("/rest/v1/users", entry.request.uri)
    assert.equal("https://acme-prod.supabase.example.com:8000/rest/v1/users", entry.request.url)
    assert.equal("/users", entry.upstream_uri)
    assert.equal(0, entry.request.querystring)
    assert.same({ accept = "*/*" }, entry.request.headers)
    assert.same({}, entry.response.headers)
  end)
end)

describe("pre-function", function()
  local function code_for(domain)
    local out = assert(render({ PLATFORM_DOMAIN = domain }))
    local services = by_name(cjson.decode(out).services)
    return by_name(services.rest.plugins)["pre-function"].config.access[1]
  end

  local function run_pre(domain, req)
    local k = fakes.kong_pdk(req)
    local chunk = assert(loadstring(code_for(domain)))
    setfenv(chunk, setmetatable({ kong = k }, { __index = _G }))
    chunk()
    return k
  end

  it("takes the project from the Host's first label in domain mode, ignoring X-Project-ID", function()
    local k = run_pre("example.com", { host = "acme-prod.example.com", headers = { ["X-Project-ID"] = "victim-proj" } })
    assert.is_nil(k.exited)
    assert.equal("acme-prod", k.ctx.shared.project_id)
    assert.equal("acme-prod", k.request.get_header("X-Project-ID"))
  end)

  it("refuses hosts that are not <project>.<domain>", function()
    for _, host in ipairs({ "example.com", "a.b.example.com", "acme-prod.example.org", "ACME..example.com", "x.example.com" }) do
      local k = run_pre("example.com", { host = host })
      assert.equal(400, k.exited and k.exited.status, host)
    end
  end)

  it("takes X-Project-ID without a domain", function()
    assert.equal("acme-prod", run_pre("", { headers = { ["X-Project-ID"] = "acme-prod" } }).ctx.shared.project_id)
    assert.equal(400, run_pre("", { headers = {} }).exited.status)
    assert.equal(400, run_pre("", { headers = { ["X-Project-ID"] = "Bad_Project" } }).exited.status)
    assert.equal(400, run_pre("", { headers = { ["X-Project-ID"] = "bad--project" } }).exited.status)
  end)

  it("copies an opaque key from Authorization: Bearer to apikey", function()
    local k = run_pre("", { headers = { ["X-Project-ID"] = "acme-prod", ["Authorization"] = "Bearer sb_publishable_abc_123" } })
    assert.equal("sb_publishable_abc_123", k.request.get_header("apikey"))
    k = run_pre("", { headers = { ["X-Project-ID"] = "acme-prod", ["Authorization"] = "Bearer sb_secret_x", ["apikey"] = "sb_publishable_y" } })
    assert.equal("sb_publishable_y", k.request.get_header("apikey"))
    k = run_pre("", { headers = { ["X-Project-ID"] = "acme-prod", ["Authorization"] = "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" } })
    assert.is_nil(k.request.get_header("apikey"))
  end)
end)

describe("docker-entrypoint.sh", function()
  -- A stand-in for the kong CLI: records its arguments, answers
  -- `migrations list` with the statuses listed in $STATUSES in turn, and
  -- keeps a copy of the imported file.
  local function fake(dir)
    local f = assert(io.open(dir .. "/kong", "w"))
    f:write([[#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls"
if [ "$1 $2" = "migrations list" ]; then
  n=$(cat "$FAKE_DIR/n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$FAKE_DIR/n"
  s=$(echo "$STATUSES" | cut -d' ' -f"$n"); [ -n "$s" ] || s=$(echo "$STATUSES" | awk '{print $NF}')
  exit "$s"
fi
if [ "$1 $2" = "config db_import" ]; then cp "$3" "$FAKE_DIR/imported.json"; fi
exit 0
]])
    f:close()
    os.execute("chmod +x " .. dir .. "/kong")
  end

  local function entrypoint(statuses, extra, command)
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    fake(dir)
    local env = { RENDER_LUA = "luajit", KONG_BASE_CONFIG = dir .. "/base.json", DB_WAIT_SECONDS = "0", DB_WAIT_ATTEMPTS = "3", STATUSES = statuses, FAKE_DIR = dir }
    for k, v in pairs(BASE_ENV) do env[k] = v end
    for k, v in pairs(extra or {}) do env[k] = v end
    local cmd = shell_env(env):gsub('PATH="%$PATH"', 'PATH="' .. dir .. ':$PATH"') .. " sh config/docker-entrypoint.sh " .. (command or "echo kong-started")
    local out, code = run(cmd)
    local f = io.open(dir .. "/calls")
    local calls = f and f:read("*a") or ""
    if f then f:close() end
    local imported = io.open(dir .. "/imported.json")
    local json = imported and imported:read("*a")
    if imported then imported:close() end
    os.execute("rm -rf " .. dir)
    return out, code, calls, json
  end

  it("bootstraps a fresh database, imports the config and starts Kong", function()
    local out, code, calls, json = entrypoint("3")
    assert.equal(0, code, out)
    assert.equal("migrations list\nmigrations bootstrap\nconfig db_import " .. "", calls:match("^(.-config db_import )"))
    assert.matches("kong%-started", out)
    assert.equal("3.0", cjson.decode(json)._format_version)
  end)

  it("runs pending migrations on an existing database", function()
    local _, code, calls = entrypoint("4")
    assert.equal(0, code)
    assert.matches("^migrations list\nmigrations up\nmigrations finish\nconfig db_import ", calls)
  end)

  it("waits for the database, then gives up with a clear message", function()
    local out, code, calls = entrypoint("1 1 0")
    assert.equal(0, code, out)
    assert.matches("^migrations list\nmigrations list\nmigrations list\nconfig db_import ", calls)
    out, code = entrypoint("1")
    assert.equal(1, code)
    assert.matches("database unreachable after 3 attempts", out)
  end)

  it("sets nginx's body size to the plugin's body limit, and a small body buffer and timeout", function()
    local show = [[sh -c 'echo kong-started max=$KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE buffer=$KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE timeout=$KONG_NGINX_PROXY_CLIENT_BODY_TIMEOUT']]
    local out, code = entrypoint("0", nil, show)
    assert.equal(0, code, out)
    assert.matches("kong%-started max=1048576 buffer=65536 timeout=10s\n", out)
    -- The buffer does not follow the limit: nginx allocates it for every
    -- upload in progress.
    local json
    out, code, _, json = entrypoint("0", { MAX_BODY_BYTES = "6291456" }, show)
    assert.equal(0, code, out)
    assert.matches("kong%-started max=6291456 buffer=65536 timeout=10s\n", out)
    assert.equal(6291456, by_name(by_name(cjson.decode(json).services).rest.plugins)["dynamic-lambda-router"].config.max_body_bytes)
    out, code = entrypoint("0", { CLIENT_BODY_BUFFER_BYTES = "16384", CLIENT_BODY_TIMEOUT_SECONDS = "30" }, show)
    assert.equal(0, code, out)
    assert.matches("kong%-started max=1048576 buffer=16384 timeout=30s\n", out)
    for name, bad in pairs({ MAX_BODY_BYTES = "1m", CLIENT_BODY_BUFFER_BYTES = "1048576", CLIENT_BODY_TIMEOUT_SECONDS = "0" }) do
      out, code = entrypoint("0", { [name] = bad }, show)
      assert.is_not.equal(0, code, name)
      assert.matches(name .. " must be a whole number", out)
      assert.is_nil(out:find("kong-started", 1, true))
    end
  end)

  it("does not start Kong when the config cannot be rendered", function()
    local out, code, calls = entrypoint("0", { AWS_REGION = "" })
    assert.is_not.equal(0, code)
    assert.matches("AWS_REGION must be set", out)
    assert.is_nil(calls:find("db_import", 1, true))
    assert.is_nil(out:find("kong-started", 1, true))
  end)
end)
