-- What the handler needs from OpenResty, behind one small interface so the
-- handler can be tested outside Kong with fakes of exactly these functions.
-- Only this file touches resty.http, resty.redis and ngx.
local M = {}

-- now() -> epoch seconds
function M.now()
  return ngx.time()
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

-- redis(conf) -> client with :mget(keys) -> values (nil for missing) | nil, err,
-- :set_ex(key, value, ttl) -> true | nil, err, and :close().
function M.redis(conf)
  local red = require("resty.redis"):new()
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
  local client = {}
  function client:mget(keys)
    local res, e = red:mget(unpack(keys))
    if not res then return nil, "redis mget: " .. tostring(e) end
    for i = 1, #keys do
      if res[i] == ngx.null then res[i] = nil end
    end
    return res
  end
  function client:set_ex(key, value, ttl)
    local r, e = red:set(key, value, "EX", ttl)
    if not r then return nil, "redis set: " .. tostring(e) end
    return true
  end
  function client:close()
    red:set_keepalive(60000, 64)
  end
  return client
end

return M
