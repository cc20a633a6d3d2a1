-- The inside of a client: the one object the other modules of pushpull
-- (jobs, batches, waits, drivers) work with, so that none of them reaches
-- into the public client. One per client.
--
--   host.core          the binding's client (pushpull.core)
--   host.options       the options given to pushpull.new (a copy, without the password)
--   host.fetch         whether the poller downloads results (poll.fetch)
--   host.loop          the luv loop the client was given, or nil
--   host.drivers       driver name -> instance (pushpull.drivers)
--   host.waiters       the waits in progress (pushpull.wait)
--   host.closed        true once client:close() ran
--   host:dispatch(budget)  applies the core's events to the job objects
--   host:driver()      the driver for a wait made now
--   host:kick()        tells the drivers that new work was started in the core
--   host:wait(cond, timeout), host:breathe(), host:finish(op, timeout), host:job(h),
--   host:close()
local drivers = require("pushpull.drivers")
local errors = require("pushpull.errors")
local jobmod = require("pushpull.job")
local wait = require("pushpull.wait")

local now = require("pushpull.core").now

local M = {}

local Host = {}
Host.__index = Host

function M.new(c, opts, fetch)
  local options = {}
  for k, v in pairs(opts) do
    options[k] = v
  end
  options.password = nil
  return setmetatable({
    core = c,
    options = options,
    fetch = fetch,
    loop = opts.loop,
    driver_name = opts.driver,
    drivers = {},
    waiters = {},
    jobs = setmetatable({}, {__mode = "v"}), -- core handle -> job object
    job_events = {}, op_events = {}, -- filled again by each dispatch()
    closed = false,
  }, Host)
end

local CLOCK_EVERY = 8 -- events applied between two looks at the clock

-- Applies the core's events to the job objects; returns how many there
-- were and whether some are left. With a budget (seconds) it stops once
-- that much time has gone, between two events: the rest is kept, in order,
-- for the next call (on an event loop, hundreds of jobs ending at once must
-- not hold the loop). The events kept go first, then the core's newer ones.
-- take_events refills the host's two tables: the kept events are applied
-- before it is called again.
function Host:dispatch(budget)
  local stop = budget and now() + budget
  local jobs = self.jobs
  local count = 0
  repeat
    local jev, i, n = self.backlog, self.backlog_at, self.backlog_n
    local kept = jev ~= nil
    if kept then
      self.backlog = nil
    else
      local _, nj, no
      jev, _, nj, no = self.core:take_events(self.job_events, self.op_events)
      i, n, count = 1, nj, count + no
    end
    local first = i
    while i <= n do
      local job = jobs[jev[i]]
      if job then
        jobmod.apply(job, jev[i + 1])
      end
      i = i + 2
      if stop and (i - first) % (2 * CLOCK_EVERY) == 0 and i <= n and now() >= stop then
        self.backlog, self.backlog_at, self.backlog_n = jev, i, n
        return count + (i - first) / 2, true
      end
    end
    count = count + (i - first) / 2
  until not kept
  return count, false
end

function Host:driver()
  return drivers.pick(self, self.driver_name)
end

function Host:kick()
  for _, d in pairs(self.drivers) do
    if d.kick then
      d:kick()
    end
  end
end

-- true, or nil and a reason (see pushpull.wait).
function Host:wait(cond, timeout)
  return wait.wait(self, cond, timeout)
end

-- Between two items a wait hands out: lets the host loop run if the code
-- has held it for long (pushpull.wait).
function Host:breathe()
  wait.breathe(self)
end

-- Waits for an operation to finish, then frees it. Returns its HTTP status
-- and body, or nil, err.
function Host:finish(op, timeout)
  local c = self.core
  local ok, why = self:wait(function() return c:op_done(op) end, timeout)
  if not ok then
    return nil, errors.new(why)
  end
  local e = c:op_error(op)
  local status, body = c:op_status(op), c:op_body(op)
  c:op_free(op)
  if e then
    return nil, errors.from_core(e)
  end
  return status, body
end

-- The job object of core handle h (one per handle).
function Host:job(h)
  local job = self.jobs[h]
  if not job then
    job = jobmod.new(self, h)
    self.jobs[h] = job
  end
  return job
end

-- Forgets handle h (the job was released).
function Host:forget(h)
  self.jobs[h] = nil
  self.core:job_release(h)
end

function Host:close()
  if self.closed then
    return
  end
  self.closed = true
  wait.abort(self, wait.CLOSED)
  for _, d in pairs(self.drivers) do
    if d.close then
      d:close()
    end
  end
  self.core:close()
end

return M
