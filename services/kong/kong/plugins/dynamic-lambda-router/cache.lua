-- A small per-worker memory cache with TTL and a size bound. Each nginx
-- worker holds its own; Redis is the cache shared between workers and tasks.
local M = {}
M.__index = M

function M.new(max_items, now)
  return setmetatable({ items = {}, count = 0, max = max_items or 1000, now = now or os.time }, M)
end

function M:get(key)
  local e = self.items[key]
  if not e then return nil end
  if e.expires <= self.now() then
    self.items[key] = nil
    self.count = self.count - 1
    return nil
  end
  return e.value
end

function M:set(key, value, ttl)
  if not self.items[key] then
    if self.count >= self.max then
      -- Simple and bounded: start over rather than track recency.
      self.items, self.count = {}, 0
    end
    self.count = self.count + 1
  end
  self.items[key] = { value = value, expires = self.now() + ttl }
end

function M:delete(key)
  if self.items[key] then
    self.items[key] = nil
    self.count = self.count - 1
  end
end

return M
