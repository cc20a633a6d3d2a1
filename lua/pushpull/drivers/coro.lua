-- The coro driver: pushpull.run(fn, ...) runs fn in a coroutine scheduler;
-- inside it pushpull.spawn(fn, ...) starts more coroutines. A wait in one of
-- them yields to the scheduler, which steps the core of every client that
-- has waiters, once per round for all of them (pushpull.wait ends the
-- waits), and resumes the coroutines whose wait ended.
--
-- A coroutine the scheduler does not manage (one the user resumes by hand)
-- is not a coro context: its waits block in the blocking driver, which also
-- settles the scheduler's waiters of the same client.
local blocking = require("pushpull.drivers.blocking")
local wait = require("pushpull.wait")

local SLICE_MS = 1000
local MULTI_SLICE_MS = 5 -- per client per round when several clients have waiters

local M = {name = "coro"}

local WAIT = {} -- the token a waiting coroutine yields
local stack = {} -- running schedulers, innermost last

local unpack = table.unpack or unpack

local function pack(...)
  return {n = select("#", ...), ...}
end

local Scheduler = {}
Scheduler.__index = Scheduler

local function current()
  return stack[#stack]
end

function Scheduler:spawn(fn, ...)
  local co = coroutine.create(fn)
  self.managed[co] = true
  self.ready[#self.ready + 1] = pack(co, ...)
  return co
end

-- Resumes one ready record {co, args...}.
function Scheduler:resume(rec)
  local co = rec[1]
  local res = pack(coroutine.resume(co, unpack(rec, 2, rec.n)))
  if not res[1] then
    self.managed[co] = nil
    local msg = res[2]
    if type(msg) == "string" then
      msg = debug.traceback(co, msg)
    end
    self.failure = self.failure or {msg}
  elseif coroutine.status(co) == "dead" then
    self.managed[co] = nil
    if co == self.main then
      self.results = pack(unpack(res, 2, res.n))
    end
  elseif res[2] == WAIT then
    self.waiting = self.waiting + 1
  else
    -- a plain coroutine.yield(): let the others run, then continue
    self.ready[#self.ready + 1] = {co, n = 1}
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

-- Steps the core of every client that has waiters, once.
function Scheduler:drive()
  local list = {}
  for host in pairs(self.hosts) do
    if #host.waiters > 0 then
      list[#list + 1] = host
    else
      self.hosts[host] = nil
    end
  end
  local ms = #list > 1 and MULTI_SLICE_MS or SLICE_MS
  for i = 1, #list do
    ms = wait.step_ms(list[i], ms)
  end
  for i = 1, #list do
    blocking.pump(list[i], ms)
  end
end

function Scheduler:loop()
  while true do
    self:run_ready()
    if self.failure or self.waiting == 0 then
      return
    end
    self:drive()
  end
end

-- pushpull.run(fn, ...): runs fn(...) and every coroutine spawned inside it
-- until all have finished; returns fn's results. An error in any of them is
-- raised here.
function M.run(fn, ...)
  if type(fn) ~= "function" then
    error("pushpull: run: fn must be a function, got " .. type(fn), 2)
  end
  local s = setmetatable({ready = {}, managed = {}, hosts = {}, waiting = 0}, Scheduler)
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

function Coro:suspend(w)
  local s = current()
  local co = coroutine.running()
  if not s or not co or not s.managed[co] then
    -- not a scheduler coroutine (the driver was forced): block instead
    return blocking.new(self.host):suspend(w)
  end
  s.hosts[self.host] = true
  w.resume = function(ok, reason)
    s.waiting = s.waiting - 1
    s.ready[#s.ready + 1] = {co, ok, reason, n = 3}
  end
  return coroutine.yield(WAIT)
end

return M
