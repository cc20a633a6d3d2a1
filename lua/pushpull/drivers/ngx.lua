-- The ngx driver: OpenResty / nginx with lua-nginx-module (LuaJIT).
--
-- nginx cannot watch curl's sockets from Lua, so the core is ticked: ONE
-- background light thread per worker (the engine, started with
-- ngx.timer.at) steps the core of every client of the worker and settles
-- its waiters (pushpull.wait); a waiting handler sleeps on its own
-- ngx.semaphore, which the end of its wait posts. Handlers never drive the
-- core themselves and never spin. A tick offers each socket curl watches
-- to core:socket_action() as ready, then runs the due timers: curl's socket
-- callback is what tells the engine sockets are in flight (perform() never
-- calls it, and an engine that believed only timers were pending slept
-- until curl's next timeout, up to a second, with answers waiting).
--
-- The worker is never held long: a tick lets other requests in after
-- wait.SLICE of core work, leaves the events that do not fit in that slice
-- to the next tick (wait.settle with a budget), and a handler taking many
-- jobs in a row from batch:completed() gets a turn taken from it after the
-- same slice (Driver:breathe). A turn is a 1 ms sleep (see give_turn).
--
-- Between ticks the engine sleeps:
--   - sockets in flight: ngx.sleep with a backoff like lua-resty-lock's --
--     1 ms after progress, doubling while nothing happens, capped at 20 ms
--     and at the core's timeout_ms();
--   - only timers pending (polls, retries, pacing): until timeout_ms();
--   - nothing to do: until a client starts new work.
-- The latter two wait on the engine's semaphore, which driver:kick() posts.
-- Sleeps are never shorter than 1 ms (ngx.sleep(0) only yields).
--
-- Waits work where lua-nginx-module lets a request yield (rewrite, access,
-- content, ngx.timer callbacks, ngx.thread, ...); elsewhere (init*,
-- set_by_lua*, header_filter, body_filter, log, balancer) a wait raises an
-- error that names the phase, unless its condition already holds.
local core = require("pushpull.core")
local wait = require("pushpull.wait")

local M = {name = "ngx"}

local ngx = rawget(_G, "ngx")
local now = core.now

local MIN_STEP = 0.001 -- seconds; ngx.sleep's useful floor
local MAX_STEP = 0.02  -- cap of the backoff while sockets are in flight
local IDLE_WAIT = 1    -- seconds between checks of ngx.worker.exiting() when idle
local WAIT_SLICE = 60  -- longest single semaphore wait of a handler

local YIELDABLE = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}

local function in_openresty()
  return ngx ~= nil and type(ngx.config) == "table" and ngx.config.ngx_lua_version ~= nil
end

-- Inside OpenResty this driver is always the one: in a phase that cannot
-- yield a wait must fail loudly, not block the worker.
function M.detect()
  return in_openresty() and type(ngx.get_phase) == "function"
end

-- True where a wait may yield.
function M.yieldable()
  return in_openresty() and YIELDABLE[ngx.get_phase()] == true
end

local semaphore -- ngx.semaphore, loaded on first use (needs the worker)

local function new_sema()
  semaphore = semaphore or require("ngx.semaphore")
  return assert(semaphore.new(0))
end

-- ---- the worker's engine: one background loop for every client

local engine = {
  drivers = setmetatable({}, {__mode = "k"}), -- driver -> true
  running = false,
  sema = nil,       -- the loop's own semaphore (kick posts it)
  sleeping = false, -- the loop waits on sema
  posted = false,
  step = MIN_STEP,
  ticks = 0,
  work = 0,         -- seconds spent stepping cores
  longest = 0,      -- the longest stretch of it without a yield
  yields = 0,       -- ticks that let other requests in midway
}

local SOCKET_TIMEOUT = core.SOCKET_TIMEOUT
local NOW_CALLS = 8 -- socket_action(timeout) calls in a row while the core is due now

-- The sockets curl asked to watch (only curl's socket callback says which:
-- libcurl's perform() reports none).
local function apply_fd_changes(d)
  local changes = d.host.core:take_fd_changes()
  for i = 1, #changes do
    local fd, ev = changes[i][1], changes[i][2]
    if ev == 0 then
      if d.fds[fd] then
        d.fds[fd], d.nfds = nil, d.nfds - 1
      end
    else
      if not d.fds[fd] then
        d.nfds = d.nfds + 1
      end
      d.fds[fd] = ev
    end
  end
end

-- Lets the worker's other requests in: a 1 ms sleep. ngx.sleep(0) is no
-- turn without OpenResty's delayed-events patch (Debian's nginx): its 0 ms
-- timer expires in the same pass of nginx's timers that resumed the
-- caller, before nginx looks at any socket (and each call logs a warning).
local function give_turn()
  ngx.sleep(MIN_STEP)
end

-- Counts a stretch of core work that began at t0 (the worker ran nothing
-- else meanwhile).
local function worked(t0)
  local dt = now() - t0
  engine.work = engine.work + dt
  if dt > engine.longest then
    engine.longest = dt
  end
end

-- Midway through a tick whose work began at t0: once that work passed
-- wait.SLICE, a turn for the other requests. The time work (re)began, or
-- nil when the client closed during the turn.
local function pause(d, t0)
  if now() - t0 <= wait.SLICE then
    return t0
  end
  worked(t0)
  give_turn()
  engine.yields = engine.yields + 1
  if d.closed then
    return nil
  end
  return now()
end

-- One pass over a driver's core. nginx cannot watch curl's sockets, so
-- every socket curl watches is offered to it as ready for what curl waits
-- for (a read that finds nothing costs one EAGAIN), then its due timers
-- run, then the waiters are settled. After wait.SLICE of work the pass lets
-- the worker's other requests in before the next socket or the settle, which
-- stops when the slice is spent (the events left count as work due now).
-- Returns busy, timeout_ms, whether sockets are watched, and the number of
-- events.
local function tick(d)
  local c = d.host.core
  local list = {}
  for fd, ev in pairs(d.fds) do
    list[#list + 1] = fd
    list[#list + 1] = ev
  end
  local t0 = now()
  for i = 1, #list, 2 do
    c:socket_action(list[i], list[i + 1])
    t0 = pause(d, t0)
    if not t0 then
      return 0, -1, false, 0
    end
  end
  c:socket_action(SOCKET_TIMEOUT, 0)
  apply_fd_changes(d)
  local n = 0
  while n < NOW_CALLS and c:timeout_ms() == 0 do -- transfers just added, pacing due now
    n = n + 1
    c:socket_action(SOCKET_TIMEOUT, 0)
    apply_fd_changes(d)
  end
  t0 = pause(d, t0)
  if not t0 then
    return 0, -1, false, 0
  end
  local budget = wait.SLICE - (now() - t0)
  local events, more = wait.settle(d.host, budget > 0 and budget or 0)
  worked(t0)
  if more then
    return math.max(c:busy(), 1), 0, d.nfds > 0, events
  end
  return c:busy(), c:timeout_ms(), d.nfds > 0, events
end

local function loop_body()
  while not ngx.worker.exiting() do
    engine.ticks = engine.ticks + 1
    local any_busy, any_fds, progress, next_ms = false, false, false, -1
    for d in pairs(engine.drivers) do
      local ok, busy, ms, fds, n = pcall(tick, d)
      if not ok then
        ngx.log(ngx.ERR, "pushpull: engine tick failed: ", busy)
      else
        any_busy = any_busy or busy > 0
        any_fds = any_fds or (fds and busy > 0)
        progress = progress or n > 0
        if ms >= 0 and (next_ms < 0 or ms < next_ms) then next_ms = ms end
      end
    end
    if progress or engine.posted then
      engine.step = MIN_STEP
    end
    engine.posted = false
    -- a deadline of 0 right after perform() is one the core could not act
    -- on yet (or a stale curl deadline): it gets the backoff, not a spin
    local step, backoff = engine.step, not progress
    if any_fds then
      if next_ms > 0 then
        step = math.min(step, math.max(next_ms / 1000, MIN_STEP))
      end
      ngx.sleep(step)
    else
      local sleep = IDLE_WAIT
      if any_busy and next_ms > 0 then
        sleep, backoff = math.min(math.max(next_ms / 1000, MIN_STEP), IDLE_WAIT), false
      elseif any_busy then
        sleep = step -- due now again, or busy without a deadline: look again soon
      else
        backoff = false
      end
      engine.sleeping = true
      engine.sema:wait(sleep)
      engine.sleeping = false
    end
    if backoff then
      engine.step = math.min(engine.step * 2, MAX_STEP)
    end
  end
end

local function loop(premature)
  if not premature then
    local ok, err = pcall(loop_body)
    if not ok then
      ngx.log(ngx.ERR, "pushpull: engine loop stopped: ", err)
    end
  end
  engine.running = false
  -- no waiter may sleep forever on a dead engine; waiting again restarts it
  for d in pairs(engine.drivers) do
    wait.abort(d.host, "engine stopped")
  end
end

-- Starts the worker's engine if it is not running. true, or nil, err.
local function ensure_engine()
  if engine.running then
    return true
  end
  if ngx.get_phase() == "init" then
    return nil, "the engine cannot start in init_by_lua*"
  end
  engine.sema = engine.sema or new_sema()
  local ok, err = ngx.timer.at(0, loop)
  if not ok then
    return nil, "cannot start the engine timer: " .. tostring(err)
  end
  engine.running, engine.step = true, MIN_STEP
  return true
end

local function poke()
  engine.step, engine.posted = MIN_STEP, true
  if engine.sleeping and engine.sema:count() <= 0 then
    engine.sema:post(1)
  end
end

-- ---- driver instances (one per client)

local Driver = {}
Driver.__index = Driver

function M.new(host)
  if not in_openresty() then
    error("pushpull: the ngx driver works only inside OpenResty (lua-nginx-module)", 0)
  end
  local d = setmetatable({host = host, fds = {}, nfds = 0, closed = false}, Driver)
  engine.drivers[d] = true
  return d
end

function Driver:can_wait()
  local p = ngx.get_phase()
  if YIELDABLE[p] then
    local ok, err = ensure_engine()
    return ok, ok or ("pushpull: " .. err)
  end
  local hint = "wait in rewrite/access/content, in an ngx.timer.at callback or an ngx.thread, "
    .. "and only read results here"
  if p == "init" then
    hint = "create clients in init_worker_by_lua* or lazily in a handler; waits need a request or a timer"
  elseif p == "init_worker" then
    hint = "start the work from ngx.timer.at(0, fn) and wait inside fn"
  end
  return nil, "pushpull: cannot wait in the '" .. tostring(p) .. "' phase of nginx: it cannot yield ("
    .. hint .. ")"
end

-- handler coroutine -> when it last came back from a wait or a turn
local running_since = setmetatable({}, {__mode = "k"})

function Driver:suspend(w)
  local sema = new_sema()
  w.resume = function() sema:post(1) end
  poke()
  while not w.done do
    local span = WAIT_SLICE
    if w.deadline then
      span = math.max(w.deadline - now(), MIN_STEP)
    end
    local ok, err = sema:wait(span)
    if not ok and err ~= "timeout" then
      wait.cancel(self.host, w, err)
    elseif not w.done then
      wait.check(self.host) -- its deadline, when the engine sleeps longer
      if not engine.running then
        ensure_engine() -- the engine died or the worker is exiting
      end
    end
  end
  running_since[coroutine.running()] = now()
  return w.ok, w.reason
end

-- Between two jobs batch:completed() hands out: after wait.SLICE since the
-- handler last came back from a wait or a turn, it gives the worker a turn.
function Driver:breathe()
  if not YIELDABLE[ngx.get_phase()] then
    return
  end
  local co = coroutine.running()
  local t, since = now(), running_since[co]
  if not since then
    running_since[co] = t
  elseif t - since >= wait.SLICE then
    give_turn()
    running_since[co] = now()
  end
end

function Driver:kick()
  if self.closed then
    return
  end
  if engine.running then
    poke()
  elseif ngx.get_phase() ~= "init" then
    ensure_engine()
  end
end

function Driver:close()
  self.closed = true
  engine.drivers[self] = nil
end

-- After a callback was fed to client in a request handler: the engine
-- starts the download it queued now, not at its next tick. (The client
-- itself already woke the waiters it ended.)
function M.notify()
  if engine.running then
    poke()
  end
end

-- For tests and monitoring: the engine's counters (work and longest in
-- seconds).
function M.stats()
  local n = 0
  for _ in pairs(engine.drivers) do n = n + 1 end
  return {running = engine.running, ticks = engine.ticks, clients = n, step = engine.step,
    work = engine.work, longest = engine.longest, yields = engine.yields}
end

return M
