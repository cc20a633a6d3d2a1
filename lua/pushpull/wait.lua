-- The one waiter of every host. Each wait of a client (a submission, a
-- download, job:wait, batch:completed, ...) comes here with a condition and
-- a timeout; this module decides when it ends -- the condition holds, the
-- deadline passed, nothing is in flight any more, the client was closed --
-- and the driver only suspends the waiting code and resumes it when told.
--
-- A waiter is {cond, deadline, done, ok, reason, resume}. A driver's
-- suspend(w) returns w.ok, w.reason once w.done; it may set w.resume, which
-- is called (once) when the waiter ends, to resume a coroutine, post a
-- semaphore, ... A driver that steps the core calls settle(host) after each
-- step (and check(host) when only time has passed): that is what ends
-- waiters. A driver may also have breathe(), called between two items a
-- wait hands out (see M.breathe).
--
-- The host (pushpull.host) gives: host.core (the binding), host:dispatch(),
-- host:driver(), host.waiters (the list) and host.closed.
local core = require("pushpull.core")

local now = core.now

local M = {}

M.TIMEOUT = "timeout"
M.IDLE = "nothing in flight"
M.CLOSED = "client is closed"

-- Seconds of work an event-loop driver does in one go (a settle's events,
-- the code between two breathes) before the loop gets a turn.
M.SLICE = 0.001

local function finish(w, ok, reason)
  if w.done then
    return
  end
  w.done, w.ok, w.reason = true, ok, reason
  if w.resume then
    w.resume(ok, reason)
  end
end

-- Whether the host's core has nothing in flight, after one non-blocking
-- step to be sure (a transfer that just ended may not be counted yet).
function M.idle(host)
  local c = host.core
  if c:busy() > 0 then
    return false
  end
  c:perform()
  host:dispatch()
  return c:busy() == 0
end

-- Ends the waiters whose condition holds or whose deadline passed; with
-- may_idle, when the core has nothing in flight, every other one too
-- (nothing can change its condition any more).
function M.check(host, may_idle)
  local list = host.waiters
  if #list == 0 then
    return
  end
  local t = now()
  local keep, ended = {}, {}
  for i = 1, #list do
    local w = list[i]
    if w.cond() then
      ended[#ended + 1] = {w, true}
    elseif w.deadline and t >= w.deadline then
      ended[#ended + 1] = {w, nil, M.TIMEOUT}
    else
      keep[#keep + 1] = w
    end
  end
  if #keep > 0 and may_idle and M.idle(host) then
    for i = 1, #keep do
      local w = keep[i]
      if w.cond() then
        ended[#ended + 1] = {w, true}
      else
        ended[#ended + 1] = {w, nil, M.IDLE}
      end
    end
    keep = {}
  end
  -- the list is replaced before anyone is resumed: resumed code may wait again
  host.waiters = keep
  for i = 1, #ended do
    local e = ended[i]
    finish(e[1], e[2], e[3])
  end
end

-- After a step of the core: applies its events, then ends the waiters that
-- can end. Returns the number of events and whether some are left: with a
-- budget (seconds; drivers on an event loop give M.SLICE) the events that
-- did not fit wait for the next settle, which the driver makes soon.
function M.settle(host, budget)
  local n, more = host:dispatch(budget)
  M.check(host, not more)
  return n, more
end

-- Between two items a wait hands out without waiting (batch:completed()):
-- a driver on an event loop gives the loop a turn when the waiting code has
-- held it for about M.SLICE since its last yield; other drivers have no
-- breathe.
function M.breathe(host)
  local driver = host:driver()
  if driver.breathe then
    driver:breathe()
  end
end

-- Ends every waiter of host with reason (the client closed, the host loop died).
function M.abort(host, reason)
  local list = host.waiters
  host.waiters = {}
  for i = 1, #list do
    finish(list[i], nil, reason)
  end
end

-- Ends waiter w of host now (the host interrupted the wait).
function M.cancel(host, w, reason)
  local list = host.waiters
  for i = #list, 1, -1 do
    if list[i] == w then
      table.remove(list, i)
    end
  end
  finish(w, nil, reason)
end

-- The earliest deadline of host's waiters, or nil.
function M.next_deadline(host)
  local first
  local list = host.waiters
  for i = 1, #list do
    local d = list[i].deadline
    if d and (not first or d < first) then
      first = d
    end
  end
  return first
end

-- Milliseconds a driver may block for: cap_ms, or less when a waiter's
-- deadline comes first.
function M.step_ms(host, cap_ms)
  local d = M.next_deadline(host)
  if d then
    local left = math.ceil((d - now()) * 1000)
    if left < cap_ms then
      return left > 0 and left or 0
    end
  end
  return cap_ms
end

-- Waits until cond() holds, at most timeout seconds (nil: no limit), in the
-- way of the driver the host picks for the current context. true, or nil and
-- the reason: "timeout", "nothing in flight", "client is closed", or what
-- the driver says.
function M.wait(host, cond, timeout)
  if cond() then
    return true
  end
  local driver = host:driver()
  if driver.can_wait then
    local ok, why = driver:can_wait()
    if not ok then
      error(why, 0)
    end
  end
  if host.closed then
    return nil, M.CLOSED
  end
  local deadline = timeout and (now() + timeout)
  if timeout and timeout <= 0 then
    return nil, M.TIMEOUT
  end
  if M.idle(host) then
    if cond() then
      return true
    end
    return nil, M.IDLE
  end
  local w = {cond = cond, deadline = deadline}
  host.waiters[#host.waiters + 1] = w
  return driver:suspend(w)
end

return M
