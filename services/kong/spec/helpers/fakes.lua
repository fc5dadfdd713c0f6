-- Fakes of what the plugin uses from Kong, following the documented PDK
-- signatures (kong.request.*, kong.client.get_consumer, kong.response.exit,
-- kong.log.*), and of the handler's deps (http, redis, now).
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")

local M = {}

-- kong_pdk(req) installs a fake `kong` global for one request:
-- req = {consumer, project_id (what the pre-function put in kong.ctx.shared),
--        method, path, query, headers, host, body}
function M.kong_pdk(req)
  local headers = {}
  for k, v in pairs(req.headers or {}) do headers[k:lower()] = v end
  local k = { logs = {}, exited = nil }
  local function logger(level)
    return function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      k.logs[#k.logs + 1] = level .. ": " .. table.concat(parts)
    end
  end
  k.log = { err = logger("err"), warn = logger("warn"), info = logger("info"), debug = logger("debug"), notice = logger("notice") }
  k.client = { get_consumer = function() return req.consumer end }
  k.ctx = { shared = { project_id = req.project_id } }
  k.request = {
    get_header = function(name) return headers[name:lower()] end,
    get_host = function() return req.host or headers["host"] end,
    get_headers = function() return headers end,
    get_method = function() return req.method or "GET" end,
    get_raw_path = function() return req.path or "/" end,
    get_path = function() return req.path or "/" end,
    get_raw_query = function() return req.query or "" end,
    get_raw_body = function() return req.body end,
  }
  k.service = { request = { set_header = function(name, value) headers[name:lower()] = value end } }
  -- kong.response.exit(status, body, headers): a table body is sent as JSON.
  k.response = {
    exit = function(status, body, hdrs)
      if type(body) == "table" then body = cjson.encode(body) end
      k.exited = { status = status, body = body, headers = hdrs or {} }
    end,
  }
  _G.kong = k
  return k
end

-- redis() is a fake Redis with TTLs on a shared clock.
function M.redis(clock)
  local r = { data = {}, ttl = {}, down = false, calls = 0 }
  function r.connect(conf)
    r.calls = r.calls + 1
    r.last_conf = conf
    if r.down then return nil, "redis connect: connection refused" end
    local client = {}
    function client:mget(keys)
      local out = {}
      for i, key in ipairs(keys) do
        if r.ttl[key] and r.ttl[key] <= clock.now then r.data[key], r.ttl[key] = nil, nil end
        out[i] = r.data[key]
      end
      return out
    end
    function client:set_ex(key, value, ttl)
      r.data[key], r.ttl[key] = value, clock.now + ttl
      r.last_ttl = ttl
      return true
    end
    function client:close() end
    return client
  end
  return r
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
