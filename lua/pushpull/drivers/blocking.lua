-- The blocking driver: plain scripts outside coroutines. A wait runs the
-- core in core:wait(ms) (curl_multi_poll) until its condition holds.
local core = require("pushpull.core")

local now = core.now
local SLICE_MS = 1000 -- longest single poll; conditions are re-checked after it

local M = {name = "blocking"}

local Blocking = {}
Blocking.__index = Blocking

function M.new(host)
  return setmetatable({host = host}, Blocking)
end

-- Blocking is the fallback; it is never picked by detection.
function M.detect()
  return false
end

-- One step of the core for up to ms, then apply its events. Returns the
-- number of events applied. Shared with the coro scheduler.
function M.step(host, ms)
  host.core:wait(ms)
  return host:dispatch()
end

-- When the core has nothing in flight: one non-blocking step to be sure,
-- then true if it is still idle.
function M.idle(host)
  local c = host.core
  if c:busy() > 0 then
    return false
  end
  c:perform()
  host:dispatch()
  return c:busy() == 0
end

function Blocking:wait(cond, deadline)
  local host = self.host
  while true do
    if cond() then
      return true
    end
    local ms = SLICE_MS
    if deadline then
      local left = deadline - now()
      if left <= 0 then
        return nil, "timeout"
      end
      ms = math.min(ms, math.ceil(left * 1000))
    end
    if M.idle(host) then
      if cond() then
        return true
      end
      return nil, "nothing in flight"
    end
    M.step(host, ms)
  end
end

return M
