-- A small per-worker memory cache with TTL and a size bound. Each nginx
-- worker holds its own; Redis is the cache shared between workers and tasks.
--
-- An entry may outlive its TTL by a bounded grace period (`keep`), during
-- which only get_stale returns it: the gateway's last resort when neither
-- Redis nor the tenant-manager answers.
local M = {}
M.__index = M

function M.new(max_items, now)
  return setmetatable({ items = {}, count = 0, max = max_items or 1000, now = now or os.time }, M)
end

local function drop(self, key)
  self.items[key] = nil
  self.count = self.count - 1
end

-- get(key) -> the value while it is fresh, else nil.
function M:get(key)
  local e = self.items[key]
  if not e then return nil end
  local now = self.now()
  if e.expires > now then return e.value end
  if e.expires + e.keep <= now then drop(self, key) end
  return nil
end

-- get_stale(key) -> value, seconds past expiry: a fresh or an expired
-- entry still inside its grace period.
function M:get_stale(key)
  local e = self.items[key]
  if not e then return nil end
  local late = self.now() - e.expires
  if late >= e.keep and late >= 0 then
    drop(self, key)
    return nil
  end
  return e.value, late > 0 and late or 0
end

-- Makes room for one entry: first entries past their grace period, then
-- the one closest to expiring, so a full cache never forgets at once all
-- the projects it could serve during an outage.
local function evict(self)
  local now = self.now()
  for key, e in pairs(self.items) do
    if e.expires + e.keep <= now then drop(self, key) end
  end
  if self.count < self.max then return end
  local victim, soonest
  for key, e in pairs(self.items) do
    if not soonest or e.expires + e.keep < soonest then victim, soonest = key, e.expires + e.keep end
  end
  if victim then drop(self, victim) end
end

-- set(key, value, ttl, keep?) keeps the value fresh for ttl seconds and
-- then stale for keep more (default 0).
function M:set(key, value, ttl, keep)
  if not self.items[key] then
    if self.count >= self.max then evict(self) end
    self.count = self.count + 1
  end
  self.items[key] = { value = value, expires = self.now() + ttl, keep = keep or 0 }
end

function M:delete(key)
  if self.items[key] then drop(self, key) end
end

return M
