-- The blocking driver: plain scripts outside coroutines. A wait runs the
-- core in core:wait(ms) (curl_multi_poll) until pushpull.wait ends it.
local wait = require("pushpull.wait")

local SLICE_MS = 1000 -- longest single poll; waiters are checked after each

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

-- One step of the core, blocking for at most ms (not at all when it has
-- nothing in flight), then the waiters are settled. Shared with the coro
-- scheduler.
function M.pump(host, ms)
  local c = host.core
  if c:busy() > 0 then
    c:wait(ms)
  end
  return wait.settle(host)
end

function Blocking:suspend(w)
  local host = self.host
  while not w.done do
    M.pump(host, wait.step_ms(host, SLICE_MS))
  end
  return w.ok, w.reason
end

return M
