-- A service at its worst: it creates the jobs and then answers 500 or 524,
-- or drops the connection (a gateway timeout in front of a service that
-- did the work); it repeats one id for every job of a batch. The client
-- must never have a value created twice, must account for every job, and
-- must not crash. Counted at the emulator (GET /_emulator/values).
local h = require("support.client")

local page_urls, values = h.page_urls, h.values

describe("ambiguous submission answers", function()
  local ctx = h.context{args = {"--job-time", "0", "--inject", "ambiguous=0.4"}}

  it("make jobs unknown, never resent: no value is created twice", function()
    local client = h.client(ctx.emu, {batch_size = 10})
    local jobs = {}
    for i = 1, 20 do
      local job, err = client:submit{source = "universal", url = ctx.site:page_url(i)}
      if job then
        jobs[#jobs + 1] = job
      else
        assert.equal("unknown", err.job_status)
        assert.matches("may have created", err.message, 1, true)
      end
    end
    for b = 1, 5 do
      local batch = client:submit_batch{source = "universal", url = page_urls(ctx.site, 1000 * b, 30)}
      if batch then
        for _, job in ipairs(batch.jobs) do
          jobs[#jobs + 1] = job
        end
      end
    end
    assert(client:wait_all(jobs, {timeout = 60}))
    local fetched, unknown = 0, 0
    for _, job in ipairs(jobs) do
      if job.status == "unknown" then
        unknown = unknown + 1
        assert.matches("may have created", job:error().message, 1, true)
      else
        assert.is_true(job.status == "fetched" or job.status == "done")
        fetched = fetched + 1
      end
    end
    assert.is_true(fetched > 0)
    assert.is_true(unknown > 0)
    local v = values(ctx.emu)
    assert.equal(0, v.created_twice)
    -- every value reached the service exactly once, answered or not
    local n = 0
    for _, count in pairs(v.url) do
      assert.equal(1, count)
      n = n + 1
    end
    assert.equal(20 + 5 * 30, n)
    client:close()
  end)
end)

describe("retries", function()
  local ctx = h.context{args = {"--inject", "500=1"}}

  it("max_retries = 0 means one attempt; 2 means three", function()
    for _, retries in ipairs{0, 2} do
      local client = h.client(ctx.emu, {max_retries = retries, retry_base = 0.01, retry_max = 0.02})
      local before = ctx.emu:stats().requests["GET /v1/info/callbacker_ips"] or 0
      local ips, err = client:callbacker_ips()
      assert.is_nil(ips)
      assert.equal(500, err.status)
      local after = ctx.emu:stats().requests["GET /v1/info/callbacker_ips"] or 0
      assert.equal(retries + 1, after - before)
      client:close()
    end
  end)
end)

describe("a batch answer that repeats one id", function()
  local ctx = h.context{args = {"--job-time", "0", "--inject", "dup-id=1"}}

  it("makes the later jobs unknown, and releasing them and going on does not crash", function()
    local client = h.client(ctx.emu)
    for round = 1, 3 do
      local batch = assert(client:submit_batch{source = "universal",
        url = page_urls(ctx.site, 100 * round, 50)})
      local first = batch.jobs[1]
      assert(first:wait{timeout = 20})
      for i = 2, #batch.jobs do
        local job = batch.jobs[i]
        assert.equal("unknown", job.status)
        assert.matches("repeated an id", job:error().message, 1, true)
        job:release()
      end
    end
    assert.equal(0, values(ctx.emu).created_twice)
    client:close()
  end)
end)
