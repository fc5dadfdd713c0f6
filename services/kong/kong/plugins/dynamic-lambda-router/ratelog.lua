-- Rate limit for the plugin's error-log lines, per worker: at most one line
-- per kind (one call site) per interval, and the next line written says how
-- many were left out since the previous one. Without it an outage (Redis,
-- the tenant-manager, a Lambda) or a client repeating a refused request
-- writes the same line for every request.
local M = {}
M.__index = M

-- new(interval_seconds, now, write) with now() -> seconds and
-- write(level, msg) the error log.
function M.new(interval, now, write)
  return setmetatable({ interval = interval, now = now, write = write, next_at = {}, left_out = {} }, M)
end

-- log(kind, level, ...) writes the arguments, concatenated, unless a line
-- of this kind was written less than the interval ago. Returns whether it
-- wrote. The kinds are the plugin's fixed call sites, so the tables stay
-- small.
function M:log(kind, level, ...)
  local t = self.now()
  local next_at = self.next_at[kind]
  if next_at and t < next_at then
    self.left_out[kind] = (self.left_out[kind] or 0) + 1
    return false
  end
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  local n = self.left_out[kind]
  if n and n > 0 then
    parts[#parts + 1] = " (" .. n .. " similar lines left out since the previous one)"
  end
  self.next_at[kind], self.left_out[kind] = t + self.interval, 0
  self.write(level, table.concat(parts))
  return true
end

return M
