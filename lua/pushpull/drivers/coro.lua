-- The coro driver: pushpull.run(fn, ...) runs fn in a coroutine scheduler;
-- inside it pushpull.spawn(fn, ...) starts more coroutines. A wait in one of
-- them yields to the scheduler, which drives the core of every client that
-- has waiters once per round for all of them, and resumes the waiters whose
-- condition holds (or whose deadline passed).
--
-- A coroutine the scheduler does not manage (one the user resumes by hand)
-- is not a coro context: its waits block in the blocking driver, which also
-- dispatches events, so the scheduler's waiters see them afterwards.
local core = require("pushpull.core")
local blocking = require("pushpull.drivers.blocking")

local now = core.now
local SLICE_MS = 1000
local MULTI_SLICE_MS = 5 -- per client per round when several clients have waiters

local M = {name = "coro"}

local WAIT = {} -- the token a waiting coroutine yields
local stack = {} -- running schedulers, innermost last

local Scheduler = {}
Scheduler.__index = Scheduler

local function current()
  return stack[#stack]
end

local function new_scheduler()
  return setmetatable({
    ready = {}, -- {co, ok, reason} records, run in order
    waiters = {}, -- {co, cond, deadline, host}
    managed = {}, -- co -> true
    count = 0, -- live managed coroutines
    failure = nil,
  }, Scheduler)
end

function Scheduler:spawn(fn, ...)
  local co = coroutine.create(fn)
  self.managed[co] = true
  self.count = self.count + 1
  local n = select("#", ...)
  self.ready[#self.ready + 1] = {co = co, n = n, ...}
  return co
end

local unpack = table.unpack or unpack

local function pack(...)
  return {n = select("#", ...), ...}
end

function Scheduler:resume(rec)
  local co = rec.co
  local res = pack(coroutine.resume(co, unpack(rec, 1, rec.n or 0)))
  if not res[1] then
    self.managed[co] = nil
    self.count = self.count - 1
    local msg = res[2]
    if type(msg) == "string" then
      msg = debug.traceback(co, msg)
    end
    self.failure = self.failure or {msg}
    return
  end
  if coroutine.status(co) == "dead" then
    self.managed[co] = nil
    self.count = self.count - 1
    if co == self.main then
      self.results = pack(select(2, unpack(res, 1, res.n)))
    end
    return
  end
  if res[2] ~= WAIT then
    -- a plain coroutine.yield(): let the others run, then continue
    self.ready[#self.ready + 1] = {co = co, n = 0}
  end
end

function Scheduler:run_ready()
  while #self.ready > 0 and not self.failure do
    local batch = self.ready
    self.ready = {}
    for i = 1, #batch do
      self:resume(batch[i])
      if self.failure then
        return
      end
    end
  end
end

-- Moves waiters whose condition holds, or whose deadline passed, to ready.
function Scheduler:check_waiters(t)
  local keep, nkeep = {}, 0
  local ready = self.ready
  local waiters = self.waiters
  for i = 1, #waiters do
    local w = waiters[i]
    if w.cond() then
      ready[#ready + 1] = {co = w.co, n = 1, true}
    elseif w.deadline and t >= w.deadline then
      ready[#ready + 1] = {co = w.co, n = 2, nil, "timeout"}
    else
      nkeep = nkeep + 1
      keep[nkeep] = w
    end
  end
  self.waiters = keep
end

-- Drives the cores of all clients that have waiters, once.
function Scheduler:drive()
  local hosts, nhosts, seen = {}, 0, {}
  local first_deadline
  for i = 1, #self.waiters do
    local w = self.waiters[i]
    if not seen[w.host] then
      seen[w.host] = true
      nhosts = nhosts + 1
      hosts[nhosts] = w.host
    end
    if w.deadline and (not first_deadline or w.deadline < first_deadline) then
      first_deadline = w.deadline
    end
  end
  local ms = SLICE_MS
  if first_deadline then
    ms = math.max(0, math.min(ms, math.ceil((first_deadline - now()) * 1000)))
  end
  if nhosts > 1 then
    ms = math.min(ms, MULTI_SLICE_MS)
  end
  local idle = 0
  for i = 1, nhosts do
    local h = hosts[i]
    if blocking.idle(h) then
      idle = idle + 1
    else
      blocking.step(h, ms)
    end
  end
  return idle == nhosts
end

function Scheduler:loop()
  while true do
    self:run_ready()
    if self.failure then
      return
    end
    if #self.waiters == 0 then
      return
    end
    self:check_waiters(now())
    if #self.ready == 0 then
      local all_idle = self:drive()
      self:check_waiters(now())
      if all_idle and #self.ready == 0 then
        -- nothing in flight anywhere: no condition can change any more
        for i = 1, #self.waiters do
          local w = self.waiters[i]
          self.ready[#self.ready + 1] = {co = w.co, n = 2, nil, "nothing in flight"}
        end
        self.waiters = {}
      end
    end
  end
end

-- pushpull.run(fn, ...): runs fn(...) and every coroutine spawned inside it
-- until all have finished; returns fn's results. An error in any of them is
-- raised here.
function M.run(fn, ...)
  if type(fn) ~= "function" then
    error("pushpull: run: fn must be a function, got " .. type(fn), 2)
  end
  local s = new_scheduler()
  s.main = s:spawn(fn, ...)
  stack[#stack + 1] = s
  local ok, err = pcall(s.loop, s)
  for i = #stack, 1, -1 do
    if stack[i] == s then
      table.remove(stack, i)
      break
    end
  end
  if not ok then
    error(err, 0)
  end
  if s.failure then
    error(s.failure[1], 0)
  end
  local r = s.results or {n = 0}
  return unpack(r, 1, r.n)
end

-- pushpull.spawn(fn, ...): starts fn(...) as a coroutine of the running
-- scheduler (pushpull.run must be active). Returns the coroutine.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("pushpull: spawn: fn must be a function, got " .. type(fn), 2)
  end
  local s = current()
  if not s then
    error("pushpull: spawn: not inside pushpull.run", 2)
  end
  return s:spawn(fn, ...)
end

-- True inside a coroutine managed by the innermost running scheduler.
function M.detect()
  local s = current()
  if not s then
    return false
  end
  local co = coroutine.running()
  return co ~= nil and s.managed[co] == true
end

local Coro = {}
Coro.__index = Coro

function M.new(host)
  return setmetatable({host = host}, Coro)
end

function Coro:wait(cond, deadline)
  if cond() then
    return true
  end
  local s = current()
  local co = coroutine.running()
  if not s or not co or not s.managed[co] then
    -- not a scheduler coroutine (the driver was forced): block instead
    return blocking.new(self.host):wait(cond, deadline)
  end
  s.waiters[#s.waiters + 1] = {co = co, cond = cond, deadline = deadline, host = self.host}
  return coroutine.yield(WAIT)
end

return M
