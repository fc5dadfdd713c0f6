-- Fakes of what the plugin uses from Kong, following the documented PDK
-- signatures (kong.request.*, kong.client.get_consumer, kong.response.exit,
-- kong.log.*), of resty.redis and ngx.req (below), and of the HTTP client.
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")

local M = {}

-- kong_pdk(req) installs a fake `kong` global for one request:
-- req = {consumer, project_id (what the pre-function put in kong.ctx.shared),
--        method, path, query, headers, host, body, ngx_req (fake ngx.req),
--        response_headers (what the log phase sees as the response's),
--        route (the matched route entity, kong.router.get_route())}
function M.kong_pdk(req)
  local headers = {}
  for k, v in pairs(req.headers or {}) do headers[k:lower()] = v end
  local k = { logs = {}, exited = nil }
  -- kong.log.* writes through nginx's error log, which appends the
  -- request's context (see ngx_errlog) to every line written in a request.
  local context = M.request_context(M.request_line(req.method, req.path, req.query), req.host or headers["host"])
  local function logger(level)
    return function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      k.logs[#k.logs + 1] = level .. ": " .. table.concat(parts) .. context
    end
  end
  k.log = { err = logger("err"), warn = logger("warn"), info = logger("info"), debug = logger("debug"), notice = logger("notice") }
  k.client = { get_consumer = function() return req.consumer end }
  k.router = { get_route = function() return req.route end }
  k.ctx = { shared = { project_id = req.project_id }, plugin = {} }
  k.request = {
    get_header = function(name) return headers[name:lower()] end,
    get_host = function() return req.host or headers["host"] end,
    get_headers = function() return headers end,
    get_method = function() return req.method or "GET" end,
    get_raw_path = function() return req.path or "/" end,
    get_path = function() return req.path or "/" end,
    get_raw_query = function() return req.query or "" end,
    -- kong.request.get_query(): the decoded arguments, a repeated key as a
    -- list, a key without "=" as true.
    get_query = function()
      local out = {}
      for part in (req.query or ""):gmatch("[^&]+") do
        local key, eq, value = part:match("^([^=]*)(=?)(.*)$")
        key = key:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
        local v = eq == "" and true or value:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
        if out[key] == nil then out[key] = v
        elseif type(out[key]) == "table" then table.insert(out[key], v)
        else out[key] = { out[key], v } end
      end
      return out
    end,
    -- Kong's kong.request.get_raw_body(): "" for no body, the body when
    -- nginx kept it in memory, and nil plus an error when nginx buffered
    -- it to a file (larger than client_body_buffer_size). Backed by the
    -- request's ngx.req fake when there is one.
    get_raw_body = function()
      local q = req.ngx_req
      if not q then return req.body or "" end
      q.read_body()
      local data = q.get_body_data()
      if data then return data end
      if q.get_body_file() then
        return nil, "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"
      end
      return ""
    end,
  }
  -- kong.service.request.set_header/clear_header change the request nginx
  -- proxies, which kong.request.get_header reads too (ngx.req.set_header).
  k.service = { request = {
    set_header = function(name, value) headers[name:lower()] = value end,
    clear_header = function(name) headers[name:lower()] = nil end,
  } }
  local response_headers = {}
  for name, v in pairs(req.response_headers or {}) do response_headers[name:lower()] = v end
  -- kong.response.exit(status, body, headers): a table body is sent as JSON.
  -- get_header/get_headers: the response's headers, case-insensitive.
  k.response = {
    get_header = function(name) return response_headers[name:lower()] end,
    set_header = function(name, value) response_headers[name:lower()] = value end,
    get_headers = function() return response_headers end,
    exit = function(status, body, hdrs)
      if type(body) == "table" then body = cjson.encode(body) end
      k.exited = { status = status, body = body, headers = hdrs or {} }
    end,
  }
  _G.kong = k
  return k
end

-- request_line(method, path, query) -> the request line nginx logs.
function M.request_line(method, path, query)
  return (method or "GET") .. " " .. (path or "/") .. ((query and query ~= "") and ("?" .. query) or "") .. " HTTP/1.1"
end

-- request_context(line, host): what nginx's HTTP module appends to an
-- error-log entry written while it handles a request.
function M.request_context(line, host)
  return ', client: 203.0.113.7, server: kong, request: "' .. line .. '"' .. (host and (', host: "' .. host .. '"') or "")
end

-- ngx_errlog() is a fake of ngx.log, the log levels and ngx.timer.at,
-- following the lua-nginx-module documentation and nginx's error-log
-- format: ngx.log(level, ...) concatenates its arguments into one entry;
-- written while a request is handled (n.request = its request line, n.host)
-- the entry ends with the request's context (request_context), written by a
-- timer with ", context: ngx.timer". ngx.timer.at(0, fn, ...) queues fn and
-- returns 1, or nil and an error when n.max_pending timers are pending;
-- run_timers() runs the queue as the event loop does once the request
-- handler has yielded, calling fn(premature = false, ...).
function M.ngx_errlog()
  local n = { lines = {}, queue = {}, ERR = 4, WARN = 5, NOTICE = 6, INFO = 7 }
  local names = { [4] = "error", [5] = "warn", [6] = "notice", [7] = "info" }
  local in_timer = false
  function n.log(level, ...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    local context = ""
    if in_timer then
      context = ", context: ngx.timer"
    elseif n.request then
      context = M.request_context(n.request, n.host)
    end
    n.lines[#n.lines + 1] = "[" .. assert(names[level], "unknown log level") .. "] " .. table.concat(parts) .. context
  end
  n.timer = {
    at = function(delay, fn, ...)
      assert(type(delay) == "number" and type(fn) == "function")
      if n.max_pending and #n.queue >= n.max_pending then return nil, "too many pending timers" end
      n.queue[#n.queue + 1] = { fn = fn, args = { n = select("#", ...), ... } }
      return 1
    end,
  }
  function n.run_timers()
    in_timer = true
    while #n.queue > 0 do
      local t = table.remove(n.queue, 1)
      t.fn(false, unpack(t.args, 1, t.args.n))
    end
    in_timer = false
    return n.lines
  end
  return n
end

-- NULL stands for ngx.null, which resty.redis returns for a missing key.
M.NULL = setmetatable({}, { __tostring = function() return "ngx.null" end })

-- resty_redis(clock) is a fake of the resty.redis module, following the
-- lua-resty-redis README: redis:new(); red:connect() returns 1, or nil and
-- "connection refused" when the server is down; red:get() returns the
-- value or ngx.null; a Redis error reply comes back as false plus the
-- message, a transport error as nil plus the message ("timeout", "closed");
-- red:eval(script, numkeys, keys..., args...) runs the script as Redis
-- does: KEYS/ARGV tables, redis.call (a missing key is false in Lua, SET
-- answers {ok = "OK"}), the cjson library, and the reply converted back
-- (number -> integer truncated, nil/false -> nil, true -> 1, a table -> a
-- list up to its first nil, elements converted alike); EVAL caches the
-- script under its SHA1 and red:evalsha(sha, numkeys, ...) runs a cached
-- one, else answers the error reply "NOSCRIPT ..." (a restarted server
-- knows none: r.scripts = {}). Hashes: HMGET (false for a missing field),
-- HSET field value ..., PEXPIRE; TIME answers the clock (clock.now seconds
-- plus clock.us microseconds) as two strings.
-- State: data, hashes, ttl (absolute expiry on the clock), down (server
-- stopped), broken (connected, but every command times out), and counters.
local function sha1_hex(s)
  local raw = require("openssl.digest").new("sha1"):final(s)
  return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function M.resty_redis(clock)
  local r = { data = {}, hashes = {}, ttl = {}, scripts = {}, down = false, broken = false, connects = 0,
    commands = {}, pooled = 0, runs = {} }

  local function expire(key)
    if r.ttl[key] and r.ttl[key] <= clock.now + (clock.us or 0) / 1e6 then
      r.data[key], r.hashes[key], r.ttl[key] = nil, nil, nil
    end
  end

  local function call(cmd, ...)
    cmd = cmd:upper()
    local args = { ... }
    if cmd == "GET" then
      expire(args[1])
      local v = r.data[args[1]]
      if v == nil then return false end
      return v
    elseif cmd == "SET" then
      assert(#args == 4 and tostring(args[3]):upper() == "EX", "fake SET supports only SET key value EX seconds")
      local ttl = tonumber(args[4])
      assert(ttl and ttl > 0, "ERR invalid expire time in 'set' command")
      r.data[args[1]], r.ttl[args[1]] = tostring(args[2]), clock.now + ttl
      r.last_ttl = ttl
      return { ok = "OK" }
    elseif cmd == "HMGET" then
      expire(args[1])
      if r.data[args[1]] ~= nil then error("WRONGTYPE Operation against a key holding the wrong kind of value") end
      local h, out = r.hashes[args[1]] or {}, {}
      for i = 2, #args do
        local v = h[tostring(args[i])]
        if v == nil then out[i - 1] = false else out[i - 1] = v end
      end
      return out
    elseif cmd == "HSET" then
      assert(#args >= 3 and #args % 2 == 1, "ERR wrong number of arguments for 'hset' command")
      expire(args[1])
      if r.data[args[1]] ~= nil then error("WRONGTYPE Operation against a key holding the wrong kind of value") end
      local h = r.hashes[args[1]] or {}
      r.hashes[args[1]] = h
      local added = 0
      for i = 2, #args, 2 do
        assert(type(args[i + 1]) == "string" or type(args[i + 1]) == "number", "ERR Lua redis lib command arguments must be strings or integers")
        if h[tostring(args[i])] == nil then added = added + 1 end
        h[tostring(args[i])] = tostring(args[i + 1])
      end
      return added
    elseif cmd == "PEXPIRE" then
      local ms = tonumber(args[2])
      assert(ms and ms % 1 == 0, "ERR value is not an integer or out of range")
      if r.data[args[1]] == nil and r.hashes[args[1]] == nil then return 0 end
      r.ttl[args[1]] = clock.now + (clock.us or 0) / 1e6 + ms / 1000
      r.last_pexpire = ms
      return 1
    elseif cmd == "TIME" then
      return { tostring(clock.now), tostring(clock.us or 0) }
    end
    error("fake redis.call does not implement " .. cmd)
  end

  local function run_script(script, numkeys, ...)
    local all = { ... }
    local keys, argv = {}, {}
    for i = 1, numkeys do keys[i] = all[i] end
    for i = numkeys + 1, #all do argv[#argv + 1] = tostring(all[i]) end
    local env = {
      KEYS = keys, ARGV = argv, redis = { call = call, replicate_commands = function() return true end },
      cjson = require("cjson"), pcall = pcall, type = type, tonumber = tonumber, tostring = tostring,
      string = string, math = math, table = table,
    }
    local chunk = assert(loadstring(script, "=user_script"))
    setfenv(chunk, env)
    r.runs[script] = (r.runs[script] or 0) + 1
    local ok, res = pcall(chunk)
    if not ok then return false, "ERR user_script: " .. tostring(res) end
    local function convert(v)
      if type(v) == "number" then return v < 0 and math.ceil(v) or math.floor(v) end
      if v == true then return 1 end
      if v == nil or v == false then return M.NULL end
      if type(v) == "table" and v.ok == nil and v.err == nil then
        local out = {}
        for i = 1, math.huge do
          if v[i] == nil then break end
          out[i] = convert(v[i])
        end
        return out
      end
      return v
    end
    return convert(res)
  end

  local Red = {}
  Red.__index = Red
  function Red:set_timeouts(c, s, rd) self.timeouts = { c, s, rd } end
  function Red:connect(host, port, opts)
    r.connects = r.connects + 1
    r.last_connect = { host = host, port = port, opts = opts }
    if r.down then return nil, "connection refused" end
    self.connected = true
    return 1
  end
  function Red:get_reused_times() return r.pooled > 0 and 1 or 0 end
  function Red:auth(password)
    r.auth = password
    return "OK"
  end
  local function command(self, name, fn)
    r.commands[#r.commands + 1] = name
    if not self.connected then return nil, "closed" end
    if r.broken then return nil, "timeout" end
    return fn()
  end
  function Red:get(key)
    return command(self, "get", function()
      expire(key)
      local v = r.data[key]
      if v == nil then return M.NULL end
      return v
    end)
  end
  function Red:eval(script, numkeys, ...)
    local args = { ... }
    return command(self, "eval", function()
      r.evals = (r.evals or 0) + 1
      r.last_script = script
      r.scripts[sha1_hex(script)] = script
      return run_script(script, numkeys, unpack(args))
    end)
  end
  function Red:evalsha(sha, numkeys, ...)
    local args = { ... }
    return command(self, "evalsha", function()
      local script = r.scripts[sha]
      if not script then return false, "NOSCRIPT No matching script. Please use EVAL." end
      return run_script(script, numkeys, unpack(args))
    end)
  end
  function Red:set_keepalive()
    self.connected = false
    r.pooled = r.pooled + 1
    return 1
  end
  function Red:close()
    self.connected = false
    return 1
  end

  r.module = { new = function() return setmetatable({}, Red) end }
  return r
end

-- ngx_req(body, opts) is a fake of ngx.req for one request, following the
-- lua-nginx-module documentation: read_body() reads the body (and throws
-- when reading fails, opts.read_error); afterwards get_body_data() returns
-- the body when nginx kept it in memory, and nil when it is empty or was
-- written to a temporary file, in which case get_body_file() returns the
-- file's name. nginx writes the body to a file when it is larger than
-- client_body_buffer_size (opts.buffer, default 8192, nginx's default on
-- x86-64), or always with client_body_in_file_only (opts.in_file).
-- Chunked or not makes no difference to these functions.
function M.ngx_req(body, opts)
  opts = opts or {}
  local q = { read = false, files = {} }
  local buffer = opts.buffer or 8192
  function q.read_body()
    if opts.read_error then error(opts.read_error) end
    q.read = true
    if body and #body > 0 and (#body > buffer or opts.in_file) then
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(body)
      f:close()
      q.path = path
      q.files[#q.files + 1] = path
      if opts.remove_file then os.remove(path) end
    end
  end
  function q.get_body_data()
    if not q.read or q.path or not body or #body == 0 then return nil end
    return body
  end
  function q.get_body_file()
    if not q.read then return nil end
    return q.path
  end
  function q.cleanup()
    for _, p in ipairs(q.files) do os.remove(p) end
  end
  return q
end

-- log_plugin_run(custom_fields_by_lua, kong_fake, ngx_fake) -> the entry a
-- Kong 3.x logging plugin (file-log) writes, following kong/pdk/log.lua and
-- the plugin's log handler:
--  * the handler calls kong.log.set_serialize_value(field, chunk()) for each
--    custom_fields_by_lua entry, the chunk loaded by Kong's sandbox with the
--    environment {kong = kong, ngx = ngx} on top of the sandbox's safe Lua
--    base (pairs, type, string, table, ...);
--  * set_serialize_value records {key, value, mode = "set"}, after the
--    default entries that replace request.headers.authorization and
--    request.headers.proxy-authorization by "REDACTED" when present;
--  * kong.log.serialize() builds the entry (request.uri = $request_uri,
--    request.url = scheme://host:port .. $request_uri, request.querystring =
--    kong.request.get_query(), request.headers = kong.request.get_headers(),
--    request.size = $request_length, upstream_uri (with $args appended),
--    response.status = ngx.status, response.headers, response.size =
--    $bytes_sent, tries, latencies {kong = KONG_PROXY_LATENCY or
--    KONG_RESPONSE_LATENCY, plus KONG_RECEIVE_TIME; proxy =
--    KONG_WAITING_TIME or -1; request = $request_time * 1000},
--    authenticated_entity {id, consumer_id} of ngx.ctx's credential, route,
--    service, consumer = ngx.ctx's entities, client_ip, started_at) and
--    applies the recorded values in order: every value must be nil, a
--    number, string, boolean or a table of those (anything else, e.g. a
--    JSON null's userdata, raises an error); a key's dots walk into
--    sub-tables ("set" creates missing ones), a nil value removes the
--    field, "replace" changes only an existing field.
local SANDBOX_BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring", "type", "unpack", "xpcall",
}
function M.log_plugin_run(custom_fields, k, ngx_fake)
  local values = {
    { key = "request.headers.authorization", value = "REDACTED", mode = "replace" },
    { key = "request.headers.proxy-authorization", value = "REDACTED", mode = "replace" },
  }
  local function set_serialize_value(key, value, options)
    assert(type(key) == "string", "key must be a string")
    assert(options == nil or type(options) == "table", "options must be a table")
    values[#values + 1] = { key = key, value = value, mode = options and options.mode or "set" }
  end
  for key, code in pairs(custom_fields) do
    local env = { kong = k, ngx = ngx_fake, string = string, table = table, math = math }
    for _, name in ipairs(SANDBOX_BASE) do env[name] = _G[name] end
    local chunk = assert(loadstring(code, "=custom_fields_by_lua:" .. key))
    setfenv(chunk, env)
    set_serialize_value(key, chunk())
  end

  local var = ngx_fake.var
  local headers = {}
  for name, v in pairs(k.request.get_headers()) do headers[name] = v end
  local upstream_uri = var.upstream_uri or ""
  if upstream_uri ~= "" and not upstream_uri:find("?", 1, true) and var.is_args == "?" then
    upstream_uri = upstream_uri .. "?" .. (var.args or "")
  end
  local ctx = ngx_fake.ctx
  local credential = ctx.authenticated_credential
  local entry = {
    request = {
      uri = var.request_uri,
      url = var.scheme .. "://" .. var.host .. ":" .. (ctx.host_port or var.server_port) .. var.request_uri,
      querystring = k.request.get_query(),
      method = k.request.get_method(),
      headers = headers,
      size = tonumber(var.request_length),
    },
    upstream_uri = upstream_uri,
    response = { status = ngx_fake.status, headers = k.response.get_headers(), size = tonumber(var.bytes_sent) },
    tries = (ctx.balancer_data or {}).tries,
    latencies = {
      kong = (ctx.KONG_PROXY_LATENCY or ctx.KONG_RESPONSE_LATENCY or 0) + (ctx.KONG_RECEIVE_TIME or 0),
      proxy = ctx.KONG_WAITING_TIME or -1,
      request = tonumber(var.request_time) * 1000,
    },
    authenticated_entity = credential and { id = credential.id, consumer_id = credential.consumer_id } or nil,
    route = ctx.route,
    service = ctx.service,
    consumer = ctx.authenticated_consumer,
    client_ip = "203.0.113.7",
    started_at = 1763800000000,
  }
  local function valid(v, seen)
    local t = type(v)
    if v == nil or t == "number" or t == "string" or t == "boolean" then return true end
    if t ~= "table" or seen[v] then return false end
    seen[v] = true
    for key, x in pairs(v) do
      local kt = type(key)
      if (kt ~= "string" and kt ~= "number" and kt ~= "boolean") or not valid(x, seen) then return false end
    end
    return true
  end
  for _, item in ipairs(values) do
    assert(valid(item.value, {}), "value must be nil, a number, string, boolean or a non-self-referencial table containing numbers, string and booleans")
    local node, parts = entry, {}
    for part in item.key:gmatch("[^%.]+") do parts[#parts + 1] = part end
    for i = 1, #parts - 1 do
      if node[parts[i]] == nil then
        if item.mode == "replace" then node = nil break end
        node[parts[i]] = {}
      end
      assert(type(node[parts[i]]) == "table", "subkey " .. parts[i] .. " is not a table")
      node = node[parts[i]]
    end
    if node then
      local last = parts[#parts]
      if item.mode == "set" or (item.mode == "add" and node[last] == nil) or (item.mode == "replace" and node[last] ~= nil) then
        node[last] = item.value
      end
    end
  end
  return entry
end

-- http(routes) is a fake HTTP client: routes maps a URL prefix to a
-- function(method, url, headers, body) -> status, headers, body.
function M.http(routes)
  local h = { calls = {} }
  function h.request(method, url, headers, body, timeout)
    h.calls[#h.calls + 1] = { method = method, url = url, headers = headers, body = body, timeout = timeout }
    local best
    for prefix, fn in pairs(routes) do
      if url:sub(1, #prefix) == prefix and (not best or #prefix > #best) then best = prefix end
    end
    if not best then return nil, nil, "no route to " .. url end
    return routes[best](method, url, headers, body)
  end
  function h.count(prefix)
    local n = 0
    for _, c in ipairs(h.calls) do
      if c.url:sub(1, #prefix) == prefix then n = n + 1 end
    end
    return n
  end
  function h.last(prefix)
    for i = #h.calls, 1, -1 do
      if h.calls[i].url:sub(1, #prefix) == prefix then return h.calls[i] end
    end
  end
  return h
end

-- base64 decoding for assertions.
function M.b64decode(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  s = s:gsub("-", "+"):gsub("_", "/"):gsub("=", "")
  local bits = s:gsub(".", function(c)
    local v = alphabet:find(c, 1, true) - 1
    local b = ""
    for i = 5, 0, -1 do b = b .. (math.floor(v / 2 ^ i) % 2) end
    return b
  end)
  return (bits:gsub("%d%d%d?%d?%d?%d?%d?%d?", function(byte8)
    if #byte8 ~= 8 then return "" end
    return string.char(tonumber(byte8, 2))
  end))
end

return M
