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
    assert.equal("http://functions-service.kong.local:8080", services.functions.url)
    assert.same({ "/health" }, services.health.routes[1].paths)
    local health = services.health.plugins[1]
    assert.equal("request-termination", health.name)
    assert.equal(200, health.config.status_code)
  end)

  it("chains the plugins of SPEC §2 on /rest/v1", function()
    local plugins, order = by_name(by_name(config.services).rest.plugins)
    assert.same({ "pre-function", "key-auth", "acl", "dynamic-lambda-router" }, order)
    assert.same({ "apikey" }, plugins["key-auth"].config.key_names)
    assert.is_true(plugins["key-auth"].config.hide_credentials)
    assert.same({ "anon", "admin" }, plugins.acl.config.allow)
    local router = plugins["dynamic-lambda-router"].config
    assert.equal(BASE_ENV.TENANT_MANAGER_URL, router.tenant_manager_url)
    assert.equal(BASE_ENV.STS_ENDPOINT, router.sts_endpoint)
    assert.equal("eu-west-1", router.aws_region)
    assert.equal(300, router.jwt_ttl)
    assert.equal(120, router.cache_ttl)
    assert.equal(BASE_ENV.KONG_REDIS_HOST, router.redis_host)
    assert.equal("{vault://env/kong-redis-password}", router.redis_password, "the Redis token is a vault reference, not a value")
    local _, forder = by_name(by_name(config.services).functions.plugins)
    assert.same({ "pre-function", "key-auth", "acl" }, forder)
  end)

  it("has CORS and a JSON access log with the project id globally", function()
    local global = by_name(config.plugins)
    assert.truthy(global.cors)
    assert.equal("/dev/stdout", global["file-log"].config.path)
    assert.equal("return kong.ctx.shared.project_id", global["file-log"].config.custom_fields_by_lua.project_id)
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

  local function entrypoint(statuses, extra)
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    fake(dir)
    local env = { RENDER_LUA = "luajit", KONG_BASE_CONFIG = dir .. "/base.json", DB_WAIT_SECONDS = "0", DB_WAIT_ATTEMPTS = "3", STATUSES = statuses, FAKE_DIR = dir }
    for k, v in pairs(BASE_ENV) do env[k] = v end
    for k, v in pairs(extra or {}) do env[k] = v end
    local cmd = shell_env(env):gsub('PATH="%$PATH"', 'PATH="' .. dir .. ':$PATH"') .. " sh config/docker-entrypoint.sh echo kong-started"
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

  it("does not start Kong when the config cannot be rendered", function()
    local out, code, calls = entrypoint("0", { AWS_REGION = "" })
    assert.is_not.equal(0, code)
    assert.matches("AWS_REGION must be set", out)
    assert.is_nil(calls:find("db_import", 1, true))
    assert.is_nil(out:find("kong-started", 1, true))
  end)
end)
