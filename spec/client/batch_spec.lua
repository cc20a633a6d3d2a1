-- Batches through the Lua client: a 12,000-URL batch (three batch requests)
-- whose 12,000 results are all fetched and right, completed() order,
-- wait_all, and results streamed to a folder.
local h = require("support.client")

describe("pushpull batches", function()
  local ctx = h.context{client = {max_connections = 16}}

  local function page_urls(n)
    local urls = {}
    for i = 1, n do
      urls[i] = ctx.site:page_url(i)
    end
    return urls
  end

  it("raises on argument mistakes", function()
    local ok, err = pcall(ctx.client.submit_batch, ctx.client, {source = "universal", url = "x"})
    assert.is_false(ok)
    assert.matches("params.url", err, 1, true)
    ok, err = pcall(ctx.client.submit_batch, ctx.client, {source = "universal", url = {}})
    assert.is_false(ok)
    assert.matches("non-empty", err, 1, true)
  end)

  it("keeps a job in a few hundred bytes of Lua memory, in one table of its own", function()
    local n = 3000
    local urls = page_urls(n)
    local dir = h.tmpdir()
    collectgarbage("collect")
    local before = collectgarbage("count")
    local batch = assert(ctx.client:submit_batch({source = "universal", url = urls}, {results_dir = dir}))
    local ended = 0
    for _ in batch:completed{timeout = 120} do
      ended = ended + 1
    end
    assert.equal(n, ended)
    collectgarbage("collect")
    local per_job = (collectgarbage("count") - before) * 1024 / n
    -- the job table, its id, and its slots in the client's and the batch's
    -- lists: about 370 bytes here under Lua 5.4, 330 under LuaJIT (with a
    -- private table, a listener list and a path string of its own, a job
    -- took about 560)
    assert.is_true(per_job < 450, ("%.0f bytes per job"):format(per_job))
    for _, job in ipairs(batch.jobs) do
      for k, v in pairs(job) do
        assert.is_true(type(v) ~= "table" and type(v) ~= "function", "job." .. tostring(k))
      end
    end
    assert.equal(dir .. "/" .. batch[1].id .. ".json", batch[1].results_path)
    h.rmdir(dir)
  end)

  it("submits 12,000 URLs in three batch requests and fetches every result", function()
    local n = 12000
    local urls = page_urls(n)
    local before = ctx.emu:stats()
    local batch = assert(ctx.client:submit_batch{source = "universal", url = urls})
    assert.equal(n, #batch.jobs)
    assert.equal(n, batch:size())
    local after = ctx.emu:stats()
    assert.equal(n, after.jobs_created - before.jobs_created)
    local batch_requests = "POST /v1/queries/batch"
    assert.equal(3, after.requests[batch_requests] - before.requests[batch_requests])

    local count, seen = 0, {}
    for job in batch:completed{timeout = 240} do
      assert.equal("done", job.status)
        assert.is_true(job.fetched)
      assert.is_nil(seen[job])
      seen[job] = true
      count = count + 1
    end
    assert.equal(n, count)
    assert.same({}, batch:pending())

    -- every job's kept results are its own page
    local ids = {}
    for i, job in ipairs(batch.jobs) do
      assert.is_nil(ids[job.id])
      ids[job.id] = true
      local results = assert(job:results())
      assert.equal(i, h.page_number(results[1].content))
      job:release()
    end
  end)

  it("yields jobs in the order they end and waits for all", function()
    local urls = page_urls(20)
    local batch = assert(ctx.client:submit_batch{source = "universal", url = urls})
    assert.is_true(ctx.client:wait_all(batch.jobs, {timeout = 30}))
    assert.is_true(ctx.client:wait_all(batch, {timeout = 1}))
    local k = 0
    for job in batch:completed() do
      k = k + 1
      assert.equal("done", job.status)
        assert.is_true(job.fetched)
    end
    assert.equal(20, k)
    assert.is_nil(batch:completed()()) -- every job was given once
  end)

  it("times out completed() and wait_all, listing what is pending", function()
    local slow = h.emulator{"--job-time", "5s"}
    local c = h.client(slow)
    local batch = assert(c:submit_batch{source = "universal",
      url = {ctx.site:page_url(1), ctx.site:page_url(2), ctx.site:page_url(3)}})
    local k = 0
    for _ in batch:completed{timeout = 0.3} do
      k = k + 1
    end
    assert.equal(0, k)
    assert.equal(3, #batch:pending())
    local ok, err = c:wait_all(batch.jobs, {timeout = 0.2})
    assert.is_nil(ok)
    assert.equal("timeout", err.message)
    assert.equal(3, #err.pending)
    c:close()
    slow:stop()
  end)

  it("streams each job's results to <dir>/<id>.json", function()
    local dir = h.tmpdir()
    local urls = {}
    for i = 1, 30 do
      urls[i] = ctx.site:page_url(100 + i)
    end
    local batch = assert(ctx.client:submit_batch({source = "universal", url = urls}, {results_dir = dir}))
    assert.is_true(batch:wait{timeout = 60})
    local cjson = require("cjson")
    for i, job in ipairs(batch.jobs) do
      local text = assert(h.read_file(dir .. "/" .. job.id .. ".json"), "no file for job " .. i)
      assert.equal(100 + i, h.page_number(cjson.decode(text).results[1].content))
    end
    h.rmdir(dir)
  end)
end)
