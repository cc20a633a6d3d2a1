-- The luv driver: Neovim (vim.uv / vim.loop) and plain Lua with luv.
--
-- Event driven, like curl's multi-uv example: one uv poll handle per socket
-- the core wants watched (core:take_fd_changes()) and one uv timer, armed
-- for the core's next deadline or the nearest deadline of a wait, whichever
-- comes first. Nothing wakes up while nothing is due.
--
-- The changes are applied right after every call into the core, before
-- control goes back to the loop, so a poll handle never outlives its fd (the
-- core reports "stop watching" before curl closes the socket).
--
-- Waits: in a coroutine, the coroutine yields and is resumed from the loop
-- (inside Neovim through vim.schedule, so it may call vim.api); outside one,
-- the loop runs until the wait ends (vim.wait in Neovim, uv.run("once") in
-- plain luv) -- not possible from a fast callback, which an error says.
--
-- Picked inside Neovim, or for a client made with pushpull.new{loop = uv}.
local core = require("pushpull.core")
local wait = require("pushpull.wait")

local now = core.now
local WANT_READ, WANT_WRITE, EV_ERROR = core.WANT_READ, core.WANT_WRITE, core.EV_ERROR
local SOCKET_TIMEOUT = core.SOCKET_TIMEOUT
local POLL_EVENTS = {[WANT_READ] = "r", [WANT_WRITE] = "w", [WANT_READ + WANT_WRITE] = "rw"}

-- A core that still wants a call right away after a few is not allowed to
-- spin (a curl deadline that expired without curl moving it): the timer
-- retries after an interval that doubles up to STALE_MAX_MS. It never gets
-- 0 ms: re-armed from its own callback it would run again in the same pass
-- of libuv (< 1.45) and starve every other handle.
local NOW_CALLS = 8
local STALE_MAX_MS = 50

local M = {name = "luv"}

-- For benchmarks and monitoring: every luv driver's work, in seconds (the
-- longest single drive, and its parts: the core's step and the settle; the
-- most work done in one pass of the loop, over all its callbacks).
local counters = {drives = 0, work = 0, longest = 0, longest_step = 0, longest_settle = 0, sliced = 0,
  longest_pass = 0}

local function nvim()
  local v = rawget(_G, "vim")
  if type(v) == "table" and (v.uv or v.loop) and v.schedule then
    return v
  end
  return nil
end

function M.detect(host)
  return (host ~= nil and host.loop ~= nil) or nvim() ~= nil
end

local function resolve_uv(host)
  if host.loop then
    return host.loop
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

local Driver = {}
Driver.__index = Driver

function M.new(host)
  local self = setmetatable({host = host, uv = resolve_uv(host), vim = nvim(), polls = {},
    npolls = 0, closed = false}, Driver)
  self.timer = self.uv.new_timer()
  self.on_timer = function() self:drive(SOCKET_TIMEOUT, 0) end
  return self
end

function Driver:apply_fd_changes()
  local changes = self.host.core:take_fd_changes()
  local polls = self.polls
  for i = 1, #changes do
    local fd, ev = changes[i][1], changes[i][2]
    local p = polls[fd]
    if ev == 0 then
      if p then
        polls[fd], self.npolls = nil, self.npolls - 1
        p:stop()
        p:close()
      end
    else
      if not p then
        local err
        p, err = self.uv.new_poll(fd)
        if not p then
          error("pushpull: uv.new_poll(" .. fd .. "): " .. tostring(err), 0)
        end
        polls[fd], self.npolls = p, self.npolls + 1
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

-- in_loop: called from a loop callback. Outside the loop, after calls made
-- here, the timer brings their events to the waiters soon, from the loop.
-- backlog: events are left to settle (the timer comes back in 1 ms).
function Driver:arm_timer(in_loop, backlog)
  local c = self.host.core
  local ms, n = c:timeout_ms(), 0
  while ms == 0 and n < NOW_CALLS do
    n = n + 1
    c:socket_action(SOCKET_TIMEOUT, 0)
    self:apply_fd_changes()
    ms = c:timeout_ms()
  end
  if ms ~= 0 then
    self.stale_ms = nil
  elseif c:busy() == 0 then
    ms = -1
  else
    self.stale_ms = math.min((self.stale_ms or 0.5) * 2, STALE_MAX_MS)
    ms = math.floor(self.stale_ms)
  end
  if backlog then
    ms = 0
  end
  local deadline = wait.next_deadline(self.host)
  if deadline then
    local left = math.max(0, math.ceil((deadline - now()) * 1000))
    if ms < 0 or left < ms then
      ms = left
    end
  end
  if ms < 0 and (n == 0 or in_loop) then
    self.timer:stop()
  else
    self.timer:start(ms > 0 and ms or 1, 0, self.on_timer)
  end
end

-- After any call into the core: watchers first, then the timer.
function Driver:rearm(in_loop, backlog)
  if not self.closed then
    self:apply_fd_changes()
    self:arm_timer(in_loop, backlog)
  end
end

local function count(t0, t1, t2, sliced, pass_work)
  local c = counters
  c.drives, c.work = c.drives + 1, c.work + (t2 - t0)
  c.longest_pass = math.max(c.longest_pass, pass_work)
  c.longest = math.max(c.longest, t2 - t0)
  c.longest_step = math.max(c.longest_step, t1 - t0)
  c.longest_settle = math.max(c.longest_settle, t2 - t1)
  if sliced then
    c.sliced = c.sliced + 1
  end
end

-- A poll handle or the timer fired. In one pass of the loop every ready
-- socket calls this in turn: the settles of a pass share wait.SLICE of work,
-- the events left over wait for the timer (1 ms), so the loop gets its turn.
-- (A pass is known by the loop's cached time, the same for all its
-- callbacks.)
function Driver:drive(fd, events)
  if self.closed then
    return
  end
  local t0 = now()
  local pass = self.uv.now()
  if pass ~= self.pass then
    self.pass, self.pass_work = pass, 0
  end
  self.host.core:socket_action(fd, events)
  self:rearm(true)
  local t1 = now()
  local budget = wait.SLICE - self.pass_work - (t1 - t0)
  local _, more = wait.settle(self.host, budget > 0 and budget or 0)
  self:rearm(true, more)
  local t2 = now()
  self.pass_work = self.pass_work + (t2 - t0)
  count(t0, t1, t2, more, self.pass_work)
end

function Driver:kick()
  self:rearm()
end

function Driver:can_wait()
  local co, main = coroutine.running()
  if co and not main then
    return true
  end
  if self.vim then
    if self.vim.in_fast_event() then
      return nil, "pushpull: cannot wait in a Neovim fast callback (vim.in_fast_event()): "
        .. "wait in a coroutine, or defer with vim.schedule"
    end
  elseif self.uv.loop_mode and self.uv.loop_mode() then
    return nil, "pushpull: cannot wait inside a luv callback outside a coroutine: "
      .. "wait in a coroutine (the loop resumes it)"
  end
  return true
end

local function resume_checked(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    error(debug.traceback(co, tostring(err)), 0)
  end
end

function Driver:suspend(w)
  self:rearm()
  local v = self.vim
  local co, main = coroutine.running()
  if co and not main then
    if v then
      w.resume = function(ok, reason)
        v.schedule(function() resume_checked(co, ok, reason) end)
      end
    else
      w.resume = function(ok, reason) resume_checked(co, ok, reason) end
    end
    return coroutine.yield()
  end
  -- not in a coroutine: run the loop here until the wait ends
  while not w.done do
    if v then
      local ok, code = v.wait(60000, function() return w.done end, 10)
      if not ok and code == -2 then
        wait.cancel(self.host, w, "interrupted")
      end
    else
      self.uv.run("once")
    end
  end
  return w.ok, w.reason
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
  -- Plain luv outside its loop: let the loop finish closing the handles now
  -- (a handle still closing when the Lua state goes away crashes luv).
  local uv = self.uv
  if not self.vim and uv.loop_mode and not uv.loop_mode() then
    uv.run("nowait")
  end
end

-- The counters of every luv driver (see `counters`), a copy.
function M.stats()
  local out = {}
  for k, v in pairs(counters) do
    out[k] = v
  end
  return out
end

-- For tests: how many fds are watched now.
function Driver:watched()
  return self.npolls
end

return M
