-- Batches: the jobs of one client:submit_batch() call, in input order.
--
--   batch.jobs, batch[i], #batch, batch:size()
--   for job in batch:completed{timeout = s} do ... end
--       jobs in the order they end (done, faulted, rejected, unknown,
--       expired: inspect job.status). Each job is given once over all the
--       iterations of a batch: after a timeout a new completed() carries on.
--   batch:pending()      the jobs that have not ended yet
--   batch:wait{timeout}  true when all ended; nil, err (err.pending) on timeout
local util = require("pushpull.util")

local M = {}

local Batch = {}
local methods = {}
Batch.__index = methods

function Batch.__len(batch)
  return #batch.jobs
end

function Batch.__tostring(batch)
  return ("pushpull.batch (%d jobs, %d ended)"):format(#batch.jobs, batch._ended_count)
end

function M.new(client, jobs)
  local batch = setmetatable({
    _client = client,
    jobs = jobs,
    _queue = {}, -- jobs in the order they ended
    _next = 1, -- next queue position completed() gives out
    _ended_count = 0,
  }, Batch)
  for i = 1, #jobs do
    local job = jobs[i]
    batch[i] = job -- so that #batch works where tables have no __len (LuaJIT)
    local list = rawget(job, "_batches")
    if not list then
      list = {}
      job._batches = list
    end
    list[#list + 1] = batch
    if job._ended then
      batch:_on_end(job)
    end
  end
  return batch
end

function methods._on_end(batch, job)
  batch._ended_count = batch._ended_count + 1
  batch._queue[#batch._queue + 1] = job
end

function methods.size(batch)
  return #batch.jobs
end

function methods.pending(batch)
  local out = {}
  for _, job in ipairs(batch.jobs) do
    if not job._ended then
      out[#out + 1] = job
    end
  end
  return out
end

-- Jobs that ended, in the order they did (a copy).
function methods.ended(batch)
  local out = {}
  for i, job in ipairs(batch._queue) do
    out[i] = job
  end
  return out
end

function methods.completed(batch, opts)
  opts = util.opts("batch:completed", opts)
  local timeout = util.timeout("batch:completed", opts)
  local client = batch._client
  local deadline = timeout and (client.now() + timeout)
  local watched = false
  local function available()
    return batch._next <= #batch._queue
  end
  return function()
    if not available() then
      if batch._ended_count >= #batch.jobs then
        return nil
      end
      if not watched then
        client:_watch_all(batch.jobs)
        watched = true
      end
      local left = deadline and math.max(0, deadline - client.now())
      if not client:_wait(available, left) then
        return nil
      end
    end
    local job = batch._queue[batch._next]
    batch._next = batch._next + 1
    return job
  end
end

function methods.wait(batch, opts)
  return batch._client:wait_all(batch.jobs, opts)
end

return M
