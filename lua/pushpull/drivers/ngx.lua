-- The ngx driver: OpenResty / nginx with lua-nginx-module (LuaJIT).
--
-- nginx cannot watch curl's sockets from Lua, so the core is ticked: ONE
-- background light thread per worker (started with ngx.timer.at) calls
-- core:perform() for every client of the worker, applies the events
-- (host:dispatch()) and posts the ngx.semaphore of each waiting handler
-- whose condition now holds. Handlers never drive the core themselves and
-- never spin: they sleep on their semaphore until the engine wakes them.
--
-- Between ticks the engine sleeps:
--   - sockets in flight (the core reported fds to watch): ngx.sleep with a
--     backoff like lua-resty-lock's -- 1 ms after progress, doubling while
--     nothing happens, capped at 20 ms and at the core's timeout_ms();
--   - only timers pending (polls, retries, pacing): until timeout_ms(),
--   - nothing to do: until a client starts new work.
-- The latter two wait on the engine's own semaphore, which driver:kick()
-- posts, so new work starts at once. Sleeps are never shorter than 1 ms
-- (ngx.sleep(0) only yields, and Debian's nginx warns about it).
--
-- Waits work where lua-nginx-module lets a request yield: rewrite, access,
-- content, ngx.timer callbacks, ngx.thread light threads, ssl_certificate,
-- ... Elsewhere (init_by_lua*, init_worker_by_lua*, set_by_lua*,
-- header_filter, body_filter, log, balancer) a wait raises an error naming
-- the phase, unless the condition already holds.
local core = require("pushpull.core")

local M = {name = "ngx"}

local ngx = rawget(_G, "ngx")

local MIN_STEP = 0.001     -- seconds; ngx.sleep's useful floor
local MAX_STEP = 0.02      -- cap of the backoff while sockets are in flight
local IDLE_WAIT = 1        -- seconds between checks of ngx.worker.exiting() when idle
local WAIT_SLICE = 60      -- longest single semaphore wait of a handler

-- Phases where ngx.sleep / semaphore waits may yield.
local YIELDABLE = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
  preread = true,
}

local function in_openresty()
  return ngx ~= nil and type(ngx.config) == "table" and ngx.config.ngx_lua_version ~= nil
end

-- Inside OpenResty the ngx driver is always the one: in a phase that cannot
-- yield a wait must fail loudly, not block the worker in the blocking driver.
function M.detect()
  return in_openresty() and type(ngx.get_phase) == "function"
end

local function phase()
  return ngx.get_phase()
end

function M.yieldable()
  return in_openresty() and YIELDABLE[phase()] == true
end

local function cannot_wait(p)
  local hint
  if p == "init" then
    hint = "create clients in init_worker_by_lua* or lazily in a handler; waits need a request or a timer"
  elseif p == "init_worker" then
    hint = "start the work from ngx.timer.at(0, fn) and wait inside fn"
  else
    hint = "wait in rewrite/access/content, in an ngx.timer.at callback or an ngx.thread, "
      .. "and only read results here"
  end
  return "pushpull: cannot wait in the '" .. tostring(p) .. "' phase of nginx: it cannot yield ("
    .. hint .. ")"
end

-- ---- the worker's engine: one background loop for every client

local semaphore -- ngx.semaphore, loaded on first use (needs the worker)

local function new_sema()
  if not semaphore then
    semaphore = require("ngx.semaphore")
  end
  return assert(semaphore.new(0))
end

local engine = {
  drivers = setmetatable({}, {__mode = "k"}), -- driver -> true
  running = false,
  sema = nil,        -- the loop's own semaphore (kick posts it)
  sleeping = false,  -- the loop waits on sema (a post would wake it)
  posted = false,
  step = MIN_STEP,
  ticks = 0,
}
M.engine = engine

-- One pass over a driver's core: perform, dispatch, wake. Returns
-- busy, timeout_ms, fds watched, events.
local function tick(d)
  local host = d.host
  local c = host.core
  c:perform()
  -- keep the fd count (it tells sockets from timers) and drain the queue
  local changes = c:take_fd_changes()
  local fds = d.fds
  for i = 1, #changes do
    local fd, ev = changes[i][1], changes[i][2]
    if ev == 0 then
      if fds[fd] then
        fds[fd] = nil
        d.nfds = d.nfds - 1
      end
    elseif not fds[fd] then
      fds[fd] = true
      d.nfds = d.nfds + 1
    end
  end
  local n = host:dispatch()
  local busy = c:busy()
  d:wake(busy == 0)
  return busy, c:timeout_ms(), d.nfds, n
end

local function loop_body()
  while not ngx.worker.exiting() do
    engine.ticks = engine.ticks + 1
    local any_busy, any_fds, progress = false, false, false
    local next_ms = -1
    for d in pairs(engine.drivers) do
      if not d.closed then
        local ok, busy, ms, nfds, n = pcall(tick, d)
        if not ok then
          ngx.log(ngx.ERR, "pushpull: engine tick failed: ", busy)
        else
          if busy > 0 then any_busy = true end
          if nfds > 0 and busy > 0 then any_fds = true end
          if n > 0 then progress = true end
          if ms >= 0 and (next_ms < 0 or ms < next_ms) then next_ms = ms end
        end
      end
    end
    if progress or engine.posted then
      engine.step = MIN_STEP
    end
    engine.posted = false
    -- A deadline of 0 right after a perform() is one the core could not act
    -- on yet (or a stale curl deadline): it gets the backoff, not a spin.
    if any_fds then
      -- sockets in flight: back off while nothing happens
      local step = engine.step
      if next_ms > 0 then
        step = math.min(step, math.max(next_ms / 1000, MIN_STEP))
      end
      ngx.sleep(step)
      if not progress then
        engine.step = math.min(engine.step * 2, MAX_STEP)
      end
    else
      -- timers only, or nothing: sleep until due, or until kicked
      local wait = IDLE_WAIT
      if any_busy and next_ms > 0 then
        wait = math.min(math.max(next_ms / 1000, MIN_STEP), IDLE_WAIT)
      elseif any_busy then
        -- due now again, or busy without a deadline: look again soon
        wait = engine.step
        if not progress then
          engine.step = math.min(engine.step * 2, MAX_STEP)
        end
      end
      engine.sleeping = true
      engine.sema:wait(wait)
      engine.sleeping = false
    end
  end
end

local function loop(premature)
  if premature then
    engine.running = false
    return
  end
  local ok, err = pcall(loop_body)
  engine.running = false
  if not ok then
    ngx.log(ngx.ERR, "pushpull: engine loop stopped: ", err)
  end
  -- wake every waiter so that none sleeps forever on a dead engine; they
  -- restart the engine when they wait again
  for d in pairs(engine.drivers) do
    d:wake(false, true)
  end
end

-- Starts the worker's engine if it is not running (needs a phase where
-- ngx.timer.at works: not init_by_lua*). Returns true, or nil, err.
local function ensure_engine()
  if engine.running then
    return true
  end
  if phase() == "init" then
    return nil, "the engine cannot start in init_by_lua*"
  end
  if not engine.sema then
    engine.sema = new_sema()
  end
  local ok, err = ngx.timer.at(0, loop)
  if not ok then
    return nil, "cannot start the engine timer: " .. tostring(err)
  end
  engine.running = true
  engine.step = MIN_STEP
  return true
end
M.ensure_engine = ensure_engine

local function poke()
  engine.step = MIN_STEP
  engine.posted = true
  if engine.sleeping and engine.sema and engine.sema:count() <= 0 then
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
  local d = setmetatable({
    host = host,
    waiters = {},  -- list of {cond, sema, deadline, ok, reason}
    fds = {},
    nfds = 0,
    closed = false,
  }, Driver)
  engine.drivers[d] = true
  return d
end

-- Posts the semaphore of each waiter whose condition holds; when the core
-- is idle (nothing in flight) or the engine died, every waiter is told.
function Driver:wake(idle, dead)
  local waiters = self.waiters
  if #waiters == 0 then
    return
  end
  local keep = {}
  for i = 1, #waiters do
    local w = waiters[i]
    if w.cond() then
      w.ok = true
      w.sema:post(1)
    elseif idle then
      w.reason = "nothing in flight"
      w.sema:post(1)
    elseif dead then
      w.reason = "engine stopped"
      w.sema:post(1)
    else
      keep[#keep + 1] = w
    end
  end
  self.waiters = keep
end

function Driver:kick()
  if self.closed then
    return
  end
  if not engine.running then
    if phase() ~= "init" then
      ensure_engine()
    end
    return
  end
  poke()
end

local function remove(list, w)
  for i = #list, 1, -1 do
    if list[i] == w then
      table.remove(list, i)
    end
  end
end

function Driver:wait(cond, deadline)
  if cond() then
    return true
  end
  local p = phase()
  if not YIELDABLE[p] then
    error(cannot_wait(p), 3)
  end
  local now = core.now
  if self.closed or (deadline and now() >= deadline) then
    return nil, self.closed and "client is closed" or "timeout"
  end
  local ok, err = ensure_engine()
  if not ok then
    error("pushpull: " .. err, 3)
  end
  local w = {cond = cond, sema = new_sema()}
  self.waiters[#self.waiters + 1] = w
  poke()
  while true do
    local slice = WAIT_SLICE
    if deadline then
      slice = deadline - now()
      if slice <= 0 then
        remove(self.waiters, w)
        if cond() then
          return true
        end
        return nil, "timeout"
      end
      slice = math.max(slice, MIN_STEP)
    end
    local got, werr = w.sema:wait(slice)
    if got then
      if w.ok or cond() then
        return true
      end
      return nil, w.reason or "woken"
    end
    if werr ~= "timeout" then
      remove(self.waiters, w)
      return nil, werr
    end
    if cond() then
      remove(self.waiters, w)
      return true
    end
    if not engine.running then
      -- the engine died or the worker is exiting
      ensure_engine()
    end
  end
end

function Driver:close()
  if self.closed then
    return
  end
  self.closed = true
  engine.drivers[self] = nil
  local waiters = self.waiters
  self.waiters = {}
  for i = 1, #waiters do
    waiters[i].reason = "client is closed"
    waiters[i].sema:post(1)
  end
end

-- After a callback was fed to client from a request handler: wakes at once
-- the client's waiting handlers whose condition now holds, and the engine
-- (for the results download the callback started), instead of leaving both
-- to the engine's next tick.
function M.notify(client)
  local d = client._drivers and client._drivers[M.name]
  if d and not d.closed then
    d:wake(false)
    if engine.running then
      poke()
    end
  end
end

-- For tests and monitoring: the engine's counters.
function M.stats()
  local n = 0
  for _ in pairs(engine.drivers) do n = n + 1 end
  return {running = engine.running, ticks = engine.ticks, clients = n, step = engine.step}
end

return M
