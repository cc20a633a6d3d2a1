-- A settle with a budget (pushpull.wait.settle(host, seconds), what the
-- event-loop drivers call): the core's events that do not fit are kept, in
-- order, for the next settle; none is lost or applied twice, no wait ends
-- as "nothing in flight" while some are left, and a dispatch without a
-- budget applies them and the core's newer events.
local h = require("support.client")
local cjson = require("cjson")
local clientmod = require("pushpull.client")
local jobmod = require("pushpull.job")
local wait = require("pushpull.wait")

describe("a settle with a budget", function()
  -- jobs take 1 s, so none can end while submit_batch waits for its answer
  -- (a slow build polls sooner than that answer comes)
  local ctx = h.context{args = {"--job-time", "1s"}, client = {max_connections = 16}}

  -- Submits n jobs and steps the core until they have all ended in it,
  -- without applying a single event: they all wait in the core's queue.
  local function ended_in_core(n)
    local urls = {}
    for i = 1, n do
      urls[i] = ctx.site:page_url(i)
    end
    local batch = assert(ctx.client:submit_batch{source = "universal", url = urls})
    local host = clientmod.host(ctx.client)
    local deadline = os.time() + 60
    while host.core:busy() > 0 and os.time() < deadline do
      host.core:wait(50)
    end
    assert.equal(0, host.core:busy())
    for _, job in ipairs(batch.jobs) do
      assert.is_not.equal("done", job.status) -- nothing applied yet
    end
    return batch, host
  end

  it("applies the events that fit and keeps the rest, in order, for the next settle", function()
    local batch, host = ended_in_core(100)
    local order = {}
    for _, job in ipairs(batch.jobs) do
      jobmod.on_end(job, function(j) order[#order + 1] = j end)
    end
    -- a wait for something no event brings
    local waited = false
    host.waiters[#host.waiters + 1] = {
      cond = function() return false end,
      resume = function(ok, reason) waited = {ok, reason} end,
    }
    local settles, total, more = 0, 0, true
    while more do
      settles = settles + 1
      local n
      n, more = wait.settle(host, 0)
      total = total + n
      if more then
        -- a wait on something else is not ended as "nothing in flight"
        -- while events are left
        assert.is_false(waited)
      end
      assert.is_true(settles < 1000)
    end
    assert.is_true(settles > 5, "settles: " .. settles)
    assert.equal(100, #order)
    local seen = {}
    for _, job in ipairs(order) do
      assert.is_nil(seen[job])
      seen[job] = true
      assert.equal("done", job.status)
      assert.is_true(job.fetched)
    end
    -- with nothing left and nothing in flight, the other wait ends
    assert.same({nil, wait.IDLE}, waited)
    assert.is_true(total >= 100)
    for _, job in ipairs(batch.jobs) do
      job:release()
    end
  end)

  it("applies the events kept, then the core's newer ones, when asked without a budget", function()
    local first, host = ended_in_core(40)
    local _, more = wait.settle(host, 0)
    assert.is_true(more)
    -- a second batch straight through the core (a client call would wait,
    -- and its waits settle): its events queue behind those kept
    local urls = {}
    for i = 1, 10 do
      urls[i] = ctx.site:page_url(500 + i)
    end
    local op, handles = host.core:submit(cjson.encode{source = "universal", url = urls}, {})
    assert.truthy(op, handles)
    local second = {}
    for i, h in ipairs(handles) do
      second[i] = host:job(h)
    end
    local deadline = os.time() + 60
    while host.core:busy() > 0 and os.time() < deadline do
      host.core:wait(50)
    end
    local _, left = host:dispatch()
    assert.is_false(left)
    assert.is_true(host.core:op_done(op))
    host.core:op_free(op)
    for _, jobs in ipairs{first.jobs, second} do
      for _, job in ipairs(jobs) do
        assert.equal("done", job.status)
        job:release()
      end
    end
  end)

  it("gives the completed() iterator every job once when the events come in slices", function()
    local batch, host = ended_in_core(40)
    -- the blocking driver settles without a budget: the first slice by hand
    local _, more = wait.settle(host, 0)
    assert.is_true(more)
    local count, seen = 0, {}
    for job in batch:completed{timeout = 30} do
      assert.is_nil(seen[job])
      seen[job] = true
      count = count + 1
      assert.equal("done", job.status)
    end
    assert.equal(40, count)
    for _, job in ipairs(batch.jobs) do
      job:release()
    end
  end)
end)
