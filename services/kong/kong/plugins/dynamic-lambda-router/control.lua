-- Per-project runtime controls: pause and the request rate limit.
--
-- The tenant-manager writes the hash project:ctl:{<id>} (fields paused =
-- "1"|"0", rps, burst; absent or "0" = the gateway's default) on pause,
-- restore and limit changes. The gateway reads it and updates the token
-- bucket project:rl:{<id>} in one script call per request, so every Kong
-- task sees a pause on its next request and all tasks share one budget.
-- The braces are a cluster hash tag: both keys live in the same slot.
local M = {}

-- KEYS[1] the control hash, KEYS[2] the bucket. ARGV[1] "1" when the config
-- document says paused (used only while the hash has no paused field),
-- ARGV[2]/ARGV[3] the rps/burst used for fields absent from the hash.
-- Returns {paused, allowed, remaining, retry_after_seconds, limit};
-- remaining -1 = no limit. A paused project is refused before the bucket
-- is touched. Time comes from the Redis server, so tasks with skewed
-- clocks still share one bucket; tokens are kept to the microsecond.
M.SCRIPT = [[
if redis.replicate_commands then redis.replicate_commands() end
local ctl = redis.call('HMGET', KEYS[1], 'paused', 'rps', 'burst')
local paused = ctl[1]
if not paused then paused = ARGV[1] end
if paused == '1' then return {1, 0, 0, 0, 0} end
local rps = tonumber(ctl[2]) or 0
if rps < 1 then rps = tonumber(ARGV[2]) or 0 end
local burst = tonumber(ctl[3]) or 0
if burst < 1 then burst = tonumber(ARGV[3]) or 0 end
if rps < 1 or burst < 1 then return {0, 1, -1, 0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local st = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens, ts = tonumber(st[1]), tonumber(st[2])
if not tokens or not ts then tokens, ts = burst, now end
if now > ts then
  tokens = tokens + (now - ts) * rps / 1000000
  ts = now
end
if tokens > burst then tokens = burst end
local allowed, retry = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rps)
end
redis.call('HSET', KEYS[2], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rps) + 1000)
return {0, allowed, math.floor(tokens), retry, rps}
]]

local function sha1_hex(s)
  local raw
  local ok, digest = pcall(require, "resty.openssl.digest")
  if ok then
    raw = assert(assert(digest.new("sha1")):final(s))
  else
    raw = require("openssl.digest").new("sha1"):final(s)
  end
  return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- EVALSHA's name for the script; an EVAL of the script caches it under it.
M.SHA = sha1_hex(M.SCRIPT)

function M.ctl_key(project) return "project:ctl:{" .. project .. "}" end
function M.bucket_key(project) return "project:rl:{" .. project .. "}" end

-- limits(cfg, conf) -> rps, burst the project gets when the hash names
-- none: the config document's rate_limit, else the plugin's default.
function M.limits(cfg, conf)
  local rl = cfg and cfg.rate_limit
  if rl then return rl.rps, rl.burst end
  return conf.rate_limit_rps or 0, conf.rate_limit_burst or 0
end

-- decode(reply) -> {paused, allowed, remaining, retry_after, limit} or nil
-- when the reply is not the script's.
function M.decode(res)
  if type(res) ~= "table" or #res ~= 5 then return nil end
  for i = 1, 5 do
    if type(res[i]) ~= "number" then return nil end
  end
  return { paused = res[1] == 1, allowed = res[2] == 1, remaining = res[3], retry_after = res[4], limit = res[5] }
end

-- The same decision without Redis, from a per-worker token bucket (see
-- bucket.lua). A task runs `workers` nginx workers, each with its own
-- memory, so each gets its share of the rate and burst: together they
-- allow about the project's limit per task.
function M.local_decision(b)
  if b:take() then
    return { allowed = true, remaining = math.floor(b.tokens), limit = b.limit }
  end
  return { allowed = false, remaining = 0, limit = b.limit,
    retry_after = math.max(1, math.ceil((1 - b.tokens) / b.rate)) }
end

return M
