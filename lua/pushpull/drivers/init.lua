--[[
pushpull.drivers: how a client waits in each kind of host.

The C core never runs a loop: it says what it waits on and the host calls
back in (socket_action / timeout_ms / take_fd_changes / perform / poll, see
core/include/pushpull.h). Deciding when a wait ends belongs to one module,
pushpull.wait (the condition, the deadline, nothing in flight, a closed
client). A *driver* is only the pump between one kind of host loop and the
core, like hiredis' adapters: it steps the core when the host says a socket
or the timer is ready, calls wait.settle(host) after each step, and
suspends and resumes the waiting code. Adding a host is adding a module
`pushpull.drivers.<name>`; nothing else changes.

THE HOST (pushpull.host, one per client; what a driver is given)
    host.core           the binding: socket_action(fd, events) (fd
                        core.SOCKET_TIMEOUT when the timer fired; events
                        core.WANT_READ | WANT_WRITE | EV_ERROR),
                        timeout_ms() (-1 nothing due, 0 now),
                        take_fd_changes() ({{fd, events}, ...}, oldest first;
                        events 0: stop watching), perform() (non-blocking
                        step), poll(ms) (blocking step), busy() (0: idle)
    host.options, host.loop   the client's options; the luv loop it was given

THE MODULE (lua/pushpull/drivers/<name>.lua) returns a table:
    name                "<name>"
    new(host)           -> the driver instance for that client (made once)
    detect(host)        optional: true when it should be picked in the current
                        context (tried in the order of M.order; blocking is the
                        fallback); a module that cannot load is skipped

THE INSTANCE:
    driver:suspend(w)   called by pushpull.wait with a waiter w: return
                        w.ok, w.reason once w.done. Step the core meanwhile
                        (or let the host loop do it) and call wait.settle(host)
                        after each step; a waiter's deadline is in w.deadline
                        (wait.next_deadline / wait.step_ms say how long one may
                        sleep). Set w.resume to be called when w ends, if the
                        waiting code must be woken (a coroutine, a semaphore).
    driver:can_wait()   optional: nil and a message when no wait is possible in
                        the current context (an nginx phase that cannot yield).
    driver:breathe()    optional: called between two items a wait hands out
                        without waiting (batch:completed()); a driver on an
                        event loop lets the loop run when the code has held it
                        for pushpull.wait.SLICE. May yield; others omit it.
                        (Such a driver also settles with wait.settle(host,
                        budget) and comes back soon when events are left.)
    driver:kick()       optional: new work was started in the core (submit,
                        fetch, watch, a callback): re-arm fd watchers and the
                        timer. Must not yield or block.
    driver:close()      optional: stop timers and watchers (client:close()).
]]

local M = {}

-- Auto-detection order; modules that are not installed are skipped.
M.order = {"ngx", "coro", "luv"}
M.fallback = "blocking"

-- Drivers that share their thread with an event loop (nginx, Neovim) and
-- so must keep every step short.
M.event_loops = {ngx = true, luv = true}

local modules = {} -- name -> module, or false when not installed

-- The driver module `name`, or nil and a message when there is none. A
-- module that exists but fails to load raises its error.
function M.load(name)
  local mod = modules[name]
  if mod ~= nil then
    return mod or nil, "no driver named '" .. name .. "'"
  end
  local modname = "pushpull.drivers." .. name
  local ok, res = pcall(require, modname)
  if ok then
    modules[name] = res
    return res
  end
  if type(res) == "string" and res:find("module '" .. modname .. "' not found", 1, true) then
    modules[name] = false
    return nil, "no driver named '" .. name .. "'"
  end
  error(res, 0)
end

-- The instance of driver `name` for host, made once.
local function instance(host, name)
  local d = host.drivers[name]
  if d then
    return d
  end
  local mod, err = M.load(name)
  if not mod then
    error("pushpull: " .. err, 3)
  end
  d = mod.new(host)
  host.drivers[name] = d
  return d
end

-- The driver a wait should use now: the forced one, else the first in
-- M.order whose detect() says yes, else the fallback.
function M.pick(host, forced)
  if forced then
    return instance(host, forced)
  end
  for i = 1, #M.order do
    local name = M.order[i]
    local ok, mod = pcall(M.load, name)
    if not ok then
      modules[name] = false -- present but cannot load here: skip it from now on
      mod = nil
    end
    if mod and mod.detect and mod.detect(host) then
      return instance(host, name)
    end
  end
  return instance(host, M.fallback)
end

-- Whether a client made with these options will wait on an event loop: it
-- names such a driver, or one of them would be detected for it.
function M.on_event_loop(opts)
  if opts.driver then
    return M.event_loops[opts.driver] == true
  end
  local probe = {loop = opts.loop, options = opts}
  for name in pairs(M.event_loops) do
    local ok, mod = pcall(M.load, name)
    if ok and mod and mod.detect and mod.detect(probe) then
      return true
    end
  end
  return false
end

return M
