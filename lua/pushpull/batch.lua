-- Batches: the jobs of one client:submit_batch() call, in input order.
--
--   batch.jobs, batch[i], #batch, batch:size()
--   for job in batch:completed{timeout = s} do ... end
--       jobs in the order they end (look at job.status). Each job is given
--       once over all the iterations of a batch: after a timeout a new
--       completed() carries on.
--   batch:pending()      the jobs that have not ended yet
--   batch:ended()        the jobs that have, in the order they did
--   batch:wait{timeout}  true when all ended; nil, err (err.pending) on timeout
--
-- With a journal, completed() hands each job to one process only: a job
-- another process sharing the journal was given first is skipped. A job
-- is handed out for good when the loop asks for the next one (or the
-- iteration ends); a process killed inside the loop body leaves its job to
-- the next client:resume().
local core = require("pushpull.core")
local jobmod = require("pushpull.job")
local journal = require("pushpull.journal")
local util = require("pushpull.util")

local M = {}

---The jobs of one client:submit_batch() call; batch[i] is batch.jobs[i].
---@class pushpull.Batch
---@field jobs pushpull.Job[] the jobs, in the order of the values submitted
---@field [integer] pushpull.Job
local Batch = {} -- the methods
local BatchMT = {__index = Batch} -- the metatable of batch objects

function BatchMT.__len(batch)
  return #batch.jobs
end

function BatchMT.__tostring(batch)
  return ("pushpull.batch (%d jobs, %d ended)"):format(#batch.jobs, #batch._queue)
end

-- A batch of the jobs of a submission; client is the client they belong to
-- (for wait) and host its inside (pushpull.host). every: completed() gives
-- every job, handed out before or not (no claims).
function M.new(client, host, jobs, every)
  local batch = setmetatable({
    jobs = jobs,
    _client = client,
    _host = host,
    _queue = {}, -- jobs in the order they ended
    _next = 1,   -- next queue position completed() gives out
    _claims = host.options.journal and not every, -- completed() claims each job
  }, BatchMT)
  local queue = batch._queue
  local function ended(job)
    queue[#queue + 1] = job
  end
  for i = 1, #jobs do
    batch[i] = jobs[i] -- so that #batch works where tables have no __len (LuaJIT)
    jobmod.on_end(jobs[i], ended)
  end
  return batch
end

---@return integer
function Batch:size()
  return #self.jobs
end

---The jobs that have not ended yet.
---@return pushpull.Job[]
function Batch:pending()
  local out = {}
  for _, job in ipairs(self.jobs) do
    if not jobmod.ended(job) then
      out[#out + 1] = job
    end
  end
  return out
end

---The jobs that have ended, in the order they did (a copy).
---@return pushpull.Job[]
function Batch:ended()
  local out = {}
  for i, job in ipairs(self._queue) do
    out[i] = job
  end
  return out
end

local TIMEOUT_ONLY = util.option_set("batch:completed, batch:wait", "timeout")

---An iterator over the jobs in the order they end; it stops when every job
---was given, or at the timeout (then batch:pending() lists the others).
---@param opts? {timeout?: number} seconds for the whole iteration (nil: no limit)
---@return fun(): pushpull.Job?
function Batch:completed(opts)
  opts = util.options("batch:completed", opts, TIMEOUT_ONLY)
  local timeout = util.timeout("batch:completed", opts)
  local host, queue = self._host, self._queue
  local deadline = timeout and (core.now() + timeout)
  local watched = false
  local function available()
    return self._next <= #queue
  end
  local claims = self._claims
  local given -- the job the loop body has, held until the loop moves on
  local function next_job()
    while true do
      if available() then
        host:breathe() -- on an event loop, a turn for the loop now and then
      end
      if not available() then
        if #queue >= #self.jobs then
          return nil
        end
        if not watched then
          jobmod.watch(self.jobs)
          watched = true
        end
        local left = deadline and math.max(0, deadline - core.now())
        if not host:wait(available, left) then
          return nil
        end
      end
      local job = queue[self._next]
      self._next = self._next + 1
      -- claimed when given, one at a time: a job claimed and not given
      -- (the loop broken, the process killed) would be held for nothing
      if not claims or journal.claim(host, job) then
        return job
      end
    end
  end
  return function()
    if given then
      -- the loop moved on: the body is done with it, it is handed for good
      journal.handed(host, given)
      given = nil
    end
    local job = next_job()
    if claims then
      given = job
    end
    return job
  end
end

---Waits until every job has ended (client:wait_all of the batch's jobs).
---@param opts? {timeout?: number}
---@return true? ok
---@return pushpull.Error? err err.pending: the jobs still out
function Batch:wait(opts)
  return self._client:wait_all(self.jobs, opts)
end

return M
