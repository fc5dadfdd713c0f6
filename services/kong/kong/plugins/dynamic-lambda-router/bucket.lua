-- Token bucket: `rate` tokens per second, at most `burst` saved up. Bounds
-- how often one worker may ask the tenant-manager while Redis is down, so
-- an outage cannot turn every cache miss into a config API call.
local M = {}
M.__index = M

function M.new(rate, burst, now)
  return setmetatable({ rate = rate, burst = burst, tokens = burst, last = now(), now = now }, M)
end

-- take() -> true when a token was available (and is now spent).
function M:take()
  local now = self.now()
  if now > self.last then
    self.tokens = math.min(self.burst, self.tokens + (now - self.last) * self.rate)
    self.last = now
  end
  if self.tokens >= 1 then
    self.tokens = self.tokens - 1
    return true
  end
  return false
end

return M
