-- The luv driver: Neovim (vim.uv / vim.loop) and plain Lua with luv.
--
-- Fully event driven, like curl's multi-uv example: one uv poll handle per
-- socket the core wants watched (from core:take_fd_changes()) and one uv
-- timer armed from core:timeout_ms(). Nothing wakes up while nothing is due.
--
-- A poll handle is stopped and closed as soon as its change says events = 0.
-- The core records that change before curl closes the socket, and this driver
-- applies the changes right after every call into the core, before control
-- goes back to the loop, so a handle never outlives its fd in the loop (and a
-- reused fd number gets a fresh handle, in order).
--
-- Waits:
--   - in a coroutine: the coroutine yields; the loop's callbacks resume it
--     when its condition holds (inside Neovim through vim.schedule, so the
--     resumed code may call vim.api and vim.fn);
--   - outside a coroutine in Neovim: vim.wait() runs the editor's loop until
--     the condition holds (not possible in a fast callback: an error says so);
--   - outside a coroutine in plain luv: runs uv.run("once") until it holds
--     (not possible from inside a luv callback: an error says so).
--
-- Picked automatically inside Neovim, or when the client is made with
-- pushpull.new{loop = uv} (the luv module to use, e.g. vim.loop or
-- require("luv")); driver = "luv" names it.
local core = require("pushpull.core")
local blocking = require("pushpull.drivers.blocking")

local now = core.now
local WANT_READ, WANT_WRITE, EV_ERROR = core.WANT_READ, core.WANT_WRITE, core.EV_ERROR
local SOCKET_TIMEOUT = core.SOCKET_TIMEOUT

local M = {name = "luv"}

local function nvim()
  local v = rawget(_G, "vim")
  if type(v) == "table" and (v.uv or v.loop) and v.schedule then
    return v
  end
  return nil
end

-- Chosen for a client made with a loop (pushpull.new{loop = vim.loop}), and
-- by default inside Neovim.
function M.detect(host)
  return (host ~= nil and host._loop ~= nil) or nvim() ~= nil
end

local function resolve_uv(host)
  if host._loop then
    return host._loop
  end
  local v = nvim()
  if v then
    return v.uv or v.loop
  end
  local ok, uv = pcall(require, "luv")
  if ok then
    return uv
  end
  error("pushpull: the luv driver needs luv (require('luv')) or Neovim's vim.uv", 0)
end

local POLL_EVENTS = {[WANT_READ] = "r", [WANT_WRITE] = "w", [WANT_READ + WANT_WRITE] = "rw"}

local Driver = {}
Driver.__index = Driver

function M.new(host)
  local uv = resolve_uv(host)
  local self = setmetatable({
    host = host,
    uv = uv,
    vim = nvim(),    -- inside Neovim, waiters are resumed through vim.schedule
    polls = {},      -- fd -> uv poll handle
    npolls = 0,
    waiters = {},    -- list of {cond, resume, deadline, timer}
    closed = false,
  }, Driver)
  self.timer = uv.new_timer()
  self.on_timer = function()
    self:drive(SOCKET_TIMEOUT, 0)
  end
  return self
end

-- ---- the loop side

-- Applies the core's fd interest changes to the poll handles, oldest first.
function Driver:apply_fd_changes()
  local changes = self.host.core:take_fd_changes()
  local polls, uv = self.polls, self.uv
  for i = 1, #changes do
    local fd, ev = changes[i][1], changes[i][2]
    local p = polls[fd]
    if ev == 0 then
      if p then
        polls[fd] = nil
        self.npolls = self.npolls - 1
        p:stop()
        p:close()
      end
    else
      if not p then
        local err
        p, err = uv.new_poll(fd)
        if not p then
          error("pushpull: uv.new_poll(" .. fd .. "): " .. tostring(err), 0)
        end
        polls[fd] = p
        self.npolls = self.npolls + 1
      end
      p:start(POLL_EVENTS[ev] or "rw", function(err, events)
        local flags = 0
        if err then
          flags = EV_ERROR + WANT_READ + WANT_WRITE
        elseif events then
          if events:find("r", 1, true) then flags = flags + WANT_READ end
          if events:find("w", 1, true) then flags = flags + WANT_WRITE end
          if events:find("d", 1, true) then flags = flags + EV_ERROR end
        end
        self:drive(fd, flags)
      end)
    end
  end
end

-- (Re)arms the one timer from the core's next deadline. When the core wants
-- a call right away, a few are made here; if it still wants one, the timer
-- gets at least 1 ms: a 0 ms timer re-armed from its own callback would run
-- again in the same pass of libuv (< 1.45) and starve every other handle.
-- A core that keeps saying 0 without making progress (a curl deadline that
-- expired without curl moving it) is not allowed to spin: with nothing in
-- flight the timer stops, otherwise the retry interval doubles up to 50 ms.
local NOW_CALLS = 8
local STALE_MAX_MS = 50

function Driver:arm_timer(in_loop)
  local c = self.host.core
  local ms = c:timeout_ms()
  local n = 0
  while ms == 0 and n < NOW_CALLS do
    n = n + 1
    c:socket_action(SOCKET_TIMEOUT, 0)
    self:apply_fd_changes()
    ms = c:timeout_ms()
  end
  local t = self.timer
  if ms == 0 then
    if c:busy() == 0 then
      ms = -1
    else
      self.stale_ms = math.min((self.stale_ms or 0.5) * 2, STALE_MAX_MS)
      ms = math.floor(self.stale_ms)
    end
  else
    self.stale_ms = nil
  end
  if ms < 0 and (n == 0 or in_loop) then
    t:stop()
  else
    -- (outside the loop, after calls made here, the timer brings their
    -- events to the waiters soon, from the loop, not from the caller's stack)
    t:start(ms > 0 and ms or 1, 0, self.on_timer)
  end
end

-- After any call into the core: watchers first (before the loop runs again),
-- then the timer.
-- in_loop: called from a loop callback, which dispatches and wakes next.
function Driver:rearm(in_loop)
  if self.closed then
    return
  end
  self:apply_fd_changes()
  self:arm_timer(in_loop)
end

-- A poll handle or the timer fired.
function Driver:drive(fd, events)
  if self.closed then
    return
  end
  self.host.core:socket_action(fd, events)
  self:rearm(true)
  self.host:dispatch()
  self:wake()
end

-- Resumes every waiter whose condition now holds; when the core has nothing
-- left to do, the others learn that nothing can change their condition.
function Driver:wake()
  local waiters = self.waiters
  if #waiters == 0 then
    return
  end
  local keep, ready = {}, {}
  for i = 1, #waiters do
    local w = waiters[i]
    if w.cond() then
      ready[#ready + 1] = {w, true}
    else
      keep[#keep + 1] = w
    end
  end
  if #keep > 0 and self.host.core:busy() == 0 then
    -- one step to be sure, as the blocking driver does
    if blocking.idle(self.host) then
      self:rearm(true)
      for i = 1, #keep do
        local w = keep[i]
        if w.cond() then
          ready[#ready + 1] = {w, true}
        else
          ready[#ready + 1] = {w, nil, "nothing in flight"}
        end
      end
      keep = {}
    end
  end
  self.waiters = keep
  for i = 1, #ready do
    local w = ready[i][1]
    self:finish(w, ready[i][2], ready[i][3])
  end
end

-- Ends one wait: stops its deadline timer and resumes it.
function Driver:finish(w, ok, reason)
  if w.finished then
    return
  end
  w.finished = true
  if w.timer then
    w.timer:stop()
    w.timer:close()
    w.timer = nil
  end
  w.resume(ok, reason)
end

function Driver:remove(w)
  local waiters = self.waiters
  for i = #waiters, 1, -1 do
    if waiters[i] == w then
      table.remove(waiters, i)
    end
  end
end

-- Adds a waiter; its deadline gets a one-shot timer.
function Driver:add(cond, deadline, resume)
  local w = {cond = cond, resume = resume}
  if deadline then
    local ms = math.max(0, math.ceil((deadline - now()) * 1000))
    w.timer = self.uv.new_timer()
    w.timer:start(ms, 0, function()
      self:remove(w)
      self:finish(w, nil, "timeout")
    end)
  end
  self.waiters[#self.waiters + 1] = w
  return w
end

-- ---- the client side (drivers/init.lua)

function Driver:kick()
  self:rearm()
end

local function resume_checked(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    error(debug.traceback(co, tostring(err)), 0)
  end
end

function Driver:wait(cond, deadline)
  if cond() then
    return true
  end
  if self.closed then
    return nil, "client is closed"
  end
  if deadline and now() >= deadline then
    return nil, "timeout"
  end
  -- nothing in flight at all: no event will ever come
  if blocking.idle(self.host) then
    self:rearm()
    if cond() then
      return true
    end
    return nil, "nothing in flight"
  end
  self:rearm()

  local co, main = coroutine.running()
  if co and not main then
    local v = self.vim
    local resume
    if v then
      resume = function(ok, reason)
        v.schedule(function() resume_checked(co, ok, reason) end)
      end
    else
      resume = function(ok, reason) resume_checked(co, ok, reason) end
    end
    self:add(cond, deadline, resume)
    return coroutine.yield()
  end

  -- not in a coroutine: run the loop here until the wait ends
  local result
  local w = self:add(cond, deadline, function(ok, reason)
    result = {ok, reason}
  end)
  local v = self.vim
  if v then
    if v.in_fast_event() then
      self:remove(w)
      self:finish(w, nil, "cancelled")
      error("pushpull: cannot wait in a Neovim fast callback (vim.in_fast_event()): "
        .. "wait in a coroutine, or defer with vim.schedule", 3)
    end
    while not result do
      local ok, code = v.wait(60000, function() return result ~= nil end, 10)
      if not ok and code == -2 then
        self:remove(w)
        self:finish(w, nil, "interrupted")
      end
    end
  else
    local uv = self.uv
    if uv.loop_mode and uv.loop_mode() then
      self:remove(w)
      self:finish(w, nil, "cancelled")
      error("pushpull: cannot wait inside a luv callback outside a coroutine: "
        .. "wait in a coroutine (the loop resumes it)", 3)
    end
    while not result do
      uv.run("once")
    end
  end
  return result[1], result[2]
end

function Driver:close()
  if self.closed then
    return
  end
  self.closed = true
  for fd, p in pairs(self.polls) do
    self.polls[fd] = nil
    p:stop()
    p:close()
  end
  self.npolls = 0
  self.timer:stop()
  self.timer:close()
  local waiters = self.waiters
  self.waiters = {}
  for i = 1, #waiters do
    self:finish(waiters[i], nil, "client is closed")
  end
  -- Plain luv outside its loop: let the loop finish closing the handles now
  -- (a handle still closing when the Lua state goes away crashes luv).
  local uv = self.uv
  if not self.vim and uv.loop_mode and not uv.loop_mode() then
    uv.run("nowait")
  end
end

-- For tests: how many fds are watched now.
function Driver:watched()
  return self.npolls
end

return M
