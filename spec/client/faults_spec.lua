-- The client against a misbehaving service: 429s, 500s, dropped
-- connections and slow answers, with a short client timeout. Every job must
-- end accounted for, and nothing may be submitted twice.
local h = require("support.client")

describe("pushpull under injected faults", function()
  local ctx = h.context{
    args = {"--inject", "429=0.2,500=0.2,drop=0.1,slow=0.1:2s"},
    client = {timeout = 0.5, retry_base = 0.02, retry_max = 0.3, max_retries = 8},
  }

  local values, jobs = {}, {}

  it("accounts for every job: each ends in a final state, unknown ones reported", function()
    -- single submissions
    for i = 1, 30 do
      local url = ctx.site:page_url(i)
      values[url] = true
      local job, err = ctx.client:submit{source = "universal", url = url}
      if job then
        jobs[#jobs + 1] = job
      else
        assert.is_table(err)
        assert.is_string(err.message)
        if err.job then
          jobs[#jobs + 1] = err.job
        end
      end
    end
    -- batches
    for b = 1, 4 do
      local urls = {}
      for i = 1, 25 do
        local url = ctx.site:page_url(1000 * b + i)
        urls[i] = url
        values[url] = true
      end
      local batch, err = ctx.client:submit_batch{source = "universal", url = urls}
      local list = batch and batch.jobs or (err.batch and err.batch.jobs) or {}
      for _, job in ipairs(list) do
        jobs[#jobs + 1] = job
      end
    end

    local ok, err = ctx.client:wait_all(jobs, {timeout = 120})
    assert.is_true(ok, err and tostring(err))

    local final = {done = true, faulted = true, rejected = true, unknown = true, expired = true}
    local counts = {}
    for _, job in ipairs(jobs) do
      assert.is_true(final[job.status], "job in state " .. tostring(job.status))
      counts[job.status] = (counts[job.status] or 0) + 1
      if job.status == "unknown" or job.status == "rejected" then
        local e = job:error()
        assert.is_table(e)
        assert.is_string(e.message)
      end
      if job.status == "done" then
        assert.is_true(job.fetched)
        local results = assert(job:results())
        assert.is_not_nil(h.page_number(results[1].content))
      end
    end
    assert.is_true((counts.done or 0) > 0)
    assert.is_true(ctx.client:stats().retries > 0)
  end)

  -- The emulator's drop fault creates the jobs and closes the connection
  -- without an answer: such a submission must end unknown, never be sent again.
  it("never submits a value twice", function()
    assert.is_true(next(values) ~= nil)
    local distinct = 0
    for _ in pairs(values) do
      distinct = distinct + 1
    end
    local ok_stats, stats
    for _ = 1, 20 do -- the admin path may meet an injected fault too
      ok_stats, stats = pcall(ctx.emu.stats, ctx.emu)
      if ok_stats then break end
    end
    assert(ok_stats, stats)
    assert.is_true(stats.jobs_created <= distinct,
      ("jobs_created %d > distinct values %d"):format(stats.jobs_created, distinct))
  end)
end)
