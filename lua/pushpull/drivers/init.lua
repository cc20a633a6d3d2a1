--[[
pushpull.drivers: how a client waits.

The C core never runs a loop: it says what it waits on and the host calls
back in (socket_action / timeout_ms / take_fd_changes / perform / poll, see
core/include/pushpull.h). A *driver* is the piece of Lua that does that for
one kind of host, and makes every wait of the client (job:wait, a
submission, results, batch:completed, ...) fit that host: block the process,
yield a coroutine, sleep an nginx light thread, or return to the libuv loop.
Client code never knows which driver runs; adding one is adding a module
`pushpull.drivers.<name>` -- nothing else changes.

THE HOST (what a driver gets)
  A driver instance is bound to one client, given to it as `host`:
    host.core        the binding (pushpull.core client userdata):
                       host.core:socket_action(fd, events) -> true | false
                         (fd == core.SOCKET_TIMEOUT (-1) when the timer fired;
                          events: core.WANT_READ | core.WANT_WRITE | core.EV_ERROR)
                       host.core:timeout_ms() -> ms until the core needs a call,
                         -1 when nothing is due, 0 for now
                       host.core:take_fd_changes() -> {{fd, events}, ...}
                         (oldest first; events == 0: stop watching that fd)
                       host.core:perform()   non-blocking step
                       host.core:wait(ms)    blocking step (up to ms)
                       host.core:busy()      transfers + scheduled work (0: idle)
    host:dispatch()  pulls the core's events (core:take_events()) and applies
                     them to the client's job/batch/operation objects. A driver
                     MUST call it after every socket_action/perform/poll (once
                     after a burst is enough) and before it re-checks waiters'
                     conditions. Returns the number of events applied. It never
                     yields and never calls a driver.
    host.options     the options table given to pushpull.new (a copy), so
                     that a driver can take settings of its own from it
                     (e.g. `loop`, also kept as host._loop, for luv).
    drivers.now()    monotonic clock in seconds (a float); deadlines use it.

THE DRIVER MODULE (lua/pushpull/drivers/<name>.lua) returns a table:
    name             "<name>"
    new(host)        -> driver instance for that client (created lazily, once
                        per client and driver name, cached by the client)
    detect(host)     optional: true when this driver should be chosen
                        automatically in the current context for that client
                        (called at each wait when the client was not given
                        `driver = ...`; keep it cheap). Tried in the order of
                        drivers.order below; blocking is the fallback. A module
                        that cannot load (its host library is missing) is
                        skipped by detection; naming it with driver = raises.

THE DRIVER INSTANCE implements:
    driver:wait(cond, deadline) -> true | nil, reason
        Return true as soon as cond() is truthy (check it first: it may
        already hold). deadline: nil (no limit) or an absolute drivers.now()
        time; past it return nil, "timeout". While waiting, drive the core
        and call host:dispatch(), then re-check cond(). Any number of
        coroutines / light threads may be in wait() at once on one client:
        the driver drives the core once for all of them and wakes every
        waiter whose cond() now holds (cond() is cheap and side-effect free;
        a driver may call it as often as it likes). When the core is idle
        (busy() == 0 after a perform() and dispatch()) and cond() is still
        false, nothing can change it: return nil, "nothing in flight".
    driver:kick()       optional: the client calls it right after it started
        new work in the core (submit, fetch, request, refresh, watch, a fed
        callback). Event-loop drivers re-arm here: call take_fd_changes() and
        timeout_ms() (curl asks for an immediate timeout when a transfer is
        added) and update their fd watchers / timer. Must not yield or block.
    driver:close()      optional: stop timers and watchers (client:close()).

Sketches of the two event-loop drivers this interface is meant for:
  ngx: detect() = ngx present and ngx.get_phase() allows ngx.sleep (rewrite,
       access, content, timer, ...). new(host) starts one ngx.timer.at(0, ...)
       background loop per worker and client that calls core:perform(),
       host:dispatch(), then posts an ngx.semaphore for every waiter whose
       cond() holds, and sleeps with ngx.sleep(backoff) (1 ms floor, grows
       while idle, capped by timeout_ms()). wait() registers {cond, sema} and
       sema:wait(deadline - now); kick() resets the backoff (or posts the
       loop's own semaphore).
  luv: detect() = a luv loop is in use (vim.uv / vim.loop inside Neovim).
       kick() and every callback apply take_fd_changes() to one
       uv.new_poll(fd) per socket (events 0 -> poll:stop(); poll:close()) and
       (re)start one uv timer from timeout_ms(); poll callbacks call
       socket_action(fd, events), the timer socket_action(SOCKET_TIMEOUT),
       then host:dispatch() and resume the waiting coroutines whose cond()
       holds (through vim.schedule inside Neovim). wait() from a coroutine
       records {co, cond, deadline} and coroutine.yield()s; outside a
       coroutine it may run the loop (uv.run("once")) until cond() holds.

Drivers shipped here: blocking (plain scripts, waits in core:wait(ms)) and
coro (pushpull.run / pushpull.spawn: one scheduler for many coroutines).
]]

local core = require("pushpull.core")

local M = {}

-- Auto-detection order; modules that are not installed are skipped.
M.order = {"ngx", "coro", "luv"}
M.fallback = "blocking"

M.now = core.now

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

-- The instance of driver `name` for host (a client), created once.
function M.instance(host, name)
  local drivers = host._drivers
  local d = drivers[name]
  if d then
    return d
  end
  local mod, err = M.load(name)
  if not mod then
    error("pushpull: " .. err, 3)
  end
  d = mod.new(host)
  drivers[name] = d
  return d
end

-- The driver a wait should use now: the forced one, else the first in
-- M.order whose detect() says yes, else the fallback.
function M.pick(host, forced)
  if forced then
    return M.instance(host, forced)
  end
  for i = 1, #M.order do
    local name = M.order[i]
    local ok, mod = pcall(M.load, name)
    if not ok then
      modules[name] = false -- present but cannot load here: skip it from now on
      mod = nil
    end
    if mod and mod.detect and mod.detect(host) then
      return M.instance(host, name)
    end
  end
  return M.instance(host, M.fallback)
end

-- Drivers that share their thread with an event loop (nginx, Neovim) and
-- so must keep every step short.
M.event_loops = {ngx = true, luv = true}

-- Whether a client made with these options will wait on an event loop: it
-- names such a driver, or one of them would be detected for it.
function M.on_event_loop(opts)
  if opts.driver then
    return M.event_loops[opts.driver] == true
  end
  local probe = {_loop = opts.loop, options = opts}
  for name in pairs(M.event_loops) do
    local ok, mod = pcall(M.load, name)
    if ok and mod and mod.detect and mod.detect(probe) then
      return true
    end
  end
  return false
end

return M
