-- A fleet sharing one job store on Redis (pushpull.new{journal =
-- "redis://..."}): client:completed{tag} hands each finished job of a tag
-- to exactly one process of the fleet. Each job is claimed with a lease the
-- core renews while this process runs; it is marked handed out when the
-- loop asks for the next job, and that mark is on its way to Redis before
-- the next job is given: a process killed inside its loop body loses that
-- one job (and only it) to another when the lease runs out. Pending jobs
-- whose poller stopped renewing its poll lease (it died) are adopted and
-- polled here.
local core = require("pushpull.core")
local errors = require("pushpull.errors")
local jobmod = require("pushpull.job")

local M = {}

local CLAIM_MAX = 16 -- jobs claimed per round trip
local IDLE_S = 0.1   -- how long to wait before asking the store again

-- One claim (or adoption, pending = true): the jobs got, and how many of
-- the tag's jobs are not handed out yet; nil, err when the store failed.
local function claim(host, tag, pending)
  local c = host.core
  local op, err = c:fleet_claim(tag, CLAIM_MAX, pending)
  if not op then
    return nil, errors.from_core(err)
  end
  host:kick()
  local ok, why = host:wait(function() return c:op_done(op) end)
  if not ok then
    return nil, errors.new(why)
  end
  local e, list, remaining = c:op_error(op), c:op_entries(op), c:op_remaining(op)
  c:op_free(op)
  if e then
    return nil, errors.from_core(e)
  end
  local jobs = {}
  for _, entry in ipairs(list) do
    if entry.job then
      local job = host:job(entry.job)
      jobmod.sync(job)
      jobs[#jobs + 1] = job
    end
  end
  return jobs, remaining
end

function M.completed(host, tag, timeout)
  local c = host.core
  local deadline = timeout and (core.now() + timeout)
  local held, last, complete = {}, nil, false
  local function ready()
    for i, job in ipairs(held) do
      jobmod.sync(job)
      if jobmod.ended(job) then
        return i
      end
    end
    return nil
  end
  -- One round: a job to hand, true when the iteration ends, or nil.
  local function step()
    local i = ready()
    if i then
      local job = table.remove(held, i)
      -- a claim whose lease may have run out (Redis away, the loop slow)
      -- may be another process' now: it is never handed here
      if c:fleet_holds(jobmod.handle(job)) then
        return job
      end
      c:fleet_release(jobmod.handle(job), false)
      return nil
    end
    if complete and #held == 0 then
      return true
    end
    if deadline and core.now() >= deadline then
      -- what this process holds goes back to the fleet at once
      for _, job in ipairs(held) do
        c:fleet_release(jobmod.handle(job), false)
      end
      c:fleet_flush()
      host:kick()
      return true
    end
    -- marks still waiting (jobs given back) go first, so that the claim
    -- counts them
    c:fleet_flush()
    local jobs, remaining = claim(host, tag, false)
    if jobs then
      for _, job in ipairs(jobs) do
        held[#held + 1] = job
      end
      if #jobs == 0 and remaining == 0 then
        complete = true
      elseif #jobs == 0 then
        claim(host, tag, true) -- a dead poller's jobs are polled here
      end
      jobmod.watch(held)
    end
    if not ready() and not (complete and #held == 0) then
      local left = deadline and math.max(0, deadline - core.now()) or IDLE_S
      local pause = math.min(IDLE_S, left)
      -- with nothing in flight (the other processes hold what is left) the
      -- wait would end at once: the nap keeps the client busy for the pause
      c:fleet_nap(math.floor(pause * 1000))
      host:wait(function() return ready() ~= nil end, pause)
    end
    return nil
  end
  return function()
    if last then
      c:fleet_release(jobmod.handle(last), true)
      -- written now, not with the step's writes: grouped, a kill in the
      -- next body would hand out again every job given since the group
      -- left (one script a job is the price of "only the job in hand")
      c:fleet_flush()
      last = nil
    end
    while true do
      local got = step()
      if got == true then
        c:fleet_flush() -- the last marks leave before the caller may exit
        return nil
      elseif got then
        last = got
        return got
      end
    end
  end
end

return M
