-- What the handler needs from OpenResty, behind one small interface so the
-- handler can be tested outside Kong with fakes of exactly these functions.
-- Only this file touches resty.http, resty.redis and ngx.
local M = {}

-- now() -> epoch seconds
function M.now()
  return ngx.time()
end

-- now_ms() -> epoch milliseconds, read from the system clock: ngx.now()
-- alone is the time the event loop last looked, which can be before this
-- request's own work began.
function M.now_ms()
  ngx.update_time()
  return ngx.now() * 1000
end

-- error_log(api) -> log(level, msg), api = ngx: writes msg to nginx's
-- error log from a zero-delay timer. Written during a request, an entry
-- gets nginx's request context appended, the request line with its query
-- string included (ngx.log and kong.log alike); written by a timer it ends
-- with ", context: ngx.timer" and carries no request. level names an ngx
-- log level ("ERR", "WARN"). Returns false, dropping the line, when no
-- timer can be created (the worker is exiting, or too many are pending).
function M.error_log(api)
  local function write(_, level, msg)
    api.log(api[level], "[dynamic-lambda-router] ", msg)
  end
  return function(level, msg)
    return api.timer.at(0, write, level, msg) and true or false
  end
end

local log
function M.log(level, msg)
  log = log or M.error_log(ngx)
  return log(level, msg)
end

-- worker_count() -> the number of nginx workers of this task
function M.worker_count()
  return ngx.worker.count()
end

-- ngx_req() -> ngx.req (read_body, get_body_data, get_body_file)
function M.ngx_req()
  return ngx.req
end

-- http(method, url, headers, body, timeout_ms) -> status, headers, body
-- or nil, nil, err on a transport error or timeout.
function M.http(method, url, headers, body, timeout_ms)
  local httpc = require("resty.http").new()
  httpc:set_timeout(timeout_ms)
  local res, err = httpc:request_uri(url, {
    method = method,
    headers = headers,
    body = body,
    ssl_verify = true,
    keepalive_timeout = 60000,
    keepalive_pool = 64,
  })
  if not res then
    return nil, nil, err
  end
  return res.status, res.headers, res.body
end

-- https_get(http, clock) -> fetch(url, timeout_ms, max_bytes) -> status,
-- body, or nil, nil, err: a GET of an https URL (certificate verified)
-- over lua-resty-http (`http`), its body read in pieces and given up
-- beyond max_bytes or past timeout_ms in all (`clock` in seconds), so a
-- large or slow answer costs neither memory nor a long wait.
function M.https_get(http, clock)
  return function(url, timeout_ms, max_bytes)
    local u = http:parse_uri(url, false)
    if not u or u[1] ~= "https" or not u[2] then return nil, nil, "not an https URL" end
    local host, port, path, query = u[2], u[3], u[4], u[5]
    local deadline = clock() + timeout_ms / 1000
    local httpc = http.new()
    httpc:set_timeouts(timeout_ms, timeout_ms, timeout_ms)
    local ok, err = httpc:connect({ scheme = "https", host = host, port = port, ssl_verify = true, ssl_server_name = host })
    if not ok then return nil, nil, "connect: " .. tostring(err) end
    local function fail(why)
      httpc:close()
      return nil, nil, why
    end
    local res, rerr = httpc:request({ method = "GET", path = path .. ((query and query ~= "") and ("?" .. query) or ""),
      headers = { ["Host"] = host, ["Accept"] = "application/json" } })
    if not res then return fail("request: " .. tostring(rerr)) end
    if (tonumber(res.headers["Content-Length"]) or 0) > max_bytes then
      return fail("body over " .. max_bytes .. " bytes")
    end
    local parts, size = {}, 0
    while res.body_reader do
      local chunk, cerr = res.body_reader(8192)
      if cerr then return fail("body: " .. tostring(cerr)) end
      if not chunk then break end
      size = size + #chunk
      if size > max_bytes then return fail("body over " .. max_bytes .. " bytes") end
      if clock() > deadline then return fail("timeout") end
      parts[#parts + 1] = chunk
    end
    httpc:close()
    return res.status, table.concat(parts)
  end
end

local fetch
function M.fetch(url, timeout_ms, max_bytes)
  fetch = fetch or M.https_get(require("resty.http"), ngx.now)
  return fetch(url, timeout_ms, max_bytes)
end

-- redis_client(resty_redis, null, conf) wraps a resty.redis connection:
--   :get(key)  -> value | false when the key does not exist | nil, err
--   :eval(script, key, ...) -> the script's integer result | nil, err
--   :evalsha(sha, script, numkeys, ...) -> the script's result | nil, err,
--     true when the connection failed (not an error reply)
--   :close()   -> back to the connection pool
-- or returns nil, err when Redis cannot be reached. resty.redis answers a
-- missing key with ngx.null (passed as `null`) and a Redis error reply with
-- false and the message.
function M.redis_client(resty_redis, null, conf)
  local red = resty_redis:new()
  red:set_timeouts(conf.redis_timeout_ms, conf.redis_timeout_ms, conf.redis_timeout_ms)
  local ok, err = red:connect(conf.redis_host, conf.redis_port, {
    ssl = conf.redis_ssl,
    ssl_verify = conf.redis_ssl_verify,
    server_name = conf.redis_host,
    pool = "dlr:" .. conf.redis_host,
  })
  if not ok then
    return nil, "redis connect: " .. tostring(err)
  end
  if conf.redis_password and conf.redis_password ~= "" and red:get_reused_times() == 0 then
    ok, err = red:auth(conf.redis_password)
    if not ok then
      red:close()
      return nil, "redis auth failed" -- never echo the token
    end
  end
  local broken = false
  local client = {}
  function client:get(key)
    local res, e = red:get(key)
    if not res then
      broken = true
      return nil, "redis get: " .. tostring(e)
    end
    if res == null then return false end
    return res
  end
  function client:eval(script, key, ...)
    local res, e = red:eval(script, 1, key, ...)
    if not res then
      -- An error reply leaves the connection usable, a transport error not.
      broken = res == nil
      return nil, "redis eval: " .. tostring(e)
    end
    return res
  end
  -- evalsha(sha, script, numkeys, ...) runs a script by its SHA1 and, when
  -- Redis does not know it yet (NOSCRIPT: a new or restarted server),
  -- sends it whole once, which caches it again for the next calls.
  function client:evalsha(sha, script, numkeys, ...)
    local res, e = red:evalsha(sha, numkeys, ...)
    if res == false and tostring(e):sub(1, 8) == "NOSCRIPT" then
      res, e = red:eval(script, numkeys, ...)
    end
    if not res then
      broken = res == nil
      return nil, "redis evalsha: " .. tostring(e), broken
    end
    return res
  end
  function client:close()
    if broken then
      red:close()
    else
      red:set_keepalive(60000, 64)
    end
  end
  return client
end

function M.redis(conf)
  return M.redis_client(require("resty.redis"), ngx.null, conf)
end

return M
