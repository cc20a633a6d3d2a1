-- The coroutine driver: pushpull.run and pushpull.spawn; every wait yields
-- to one scheduler that drives the core for all waiting coroutines.
local h = require("support.client")
local pushpull = require("pushpull")

describe("pushpull.run", function()
  local ctx = h.context{client = {max_connections = 16}}

  it("returns fn's results and raises its errors", function()
    assert.same({1, 2}, {pushpull.run(function(a, b) return a, b end, 1, 2)})
    assert.has_error(function()
      pushpull.run(function() error("boom") end)
    end)
    assert.has_error(function() pushpull.spawn(function() end) end,
      "pushpull: spawn: not inside pushpull.run")
  end)

  it("runs 1,000 coroutines, each waiting on its own job", function()
    local n = 1000
    local done = {}
    local yields = 0
    pushpull.run(function()
      for i = 1, n do
        pushpull.spawn(function()
          local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(i)})
          assert(require("pushpull.drivers.coro").detect())
          assert(job:wait{timeout = 120})
          local results = assert(job:results())
          done[i] = h.page_number(results[1].content)
          job:release()
        end)
      end
      -- the scheduler keeps running the spawned coroutines while this one yields
      coroutine.yield()
      yields = yields + 1
    end)
    assert.equal(1, yields)
    for i = 1, n do
      assert.equal(i, done[i])
    end
  end)

  it("picks the coro driver inside run and blocking outside", function()
    local host = require("pushpull.client").host(ctx.client)
    local inside
    pushpull.run(function()
      inside = host:driver()
    end)
    local outside = host:driver()
    assert.equal(host.drivers.coro, inside)
    assert.equal(host.drivers.blocking, outside)
  end)

  it("lets coroutines wait on a batch and on single jobs together", function()
    local order = {}
    pushpull.run(function()
      local batch = assert(ctx.client:submit_batch{source = "universal",
        url = {ctx.site:page_url(1), ctx.site:page_url(2), ctx.site:page_url(3)}})
      pushpull.spawn(function()
        local j = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(9)})
        assert(j:wait{timeout = 30})
        order[#order + 1] = "single"
      end)
      for job in batch:completed{timeout = 30} do
        order[#order + 1] = job.status
      end
    end)
    table.sort(order)
    assert.same({"done", "done", "done", "single"}, order)
  end)

  it("times out a wait inside a coroutine without blocking the others", function()
    local slow = h.emulator{"--job-time", "5s"}
    local c = h.client(slow)
    local result = {}
    pushpull.run(function()
      local j = assert(c:submit{source = "universal", url = ctx.site:page_url(1)})
      pushpull.spawn(function()
        local fast = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(2)})
        result.fast = fast:wait{timeout = 30}
      end)
      local ok, err = j:wait{timeout = 0.5}
      result.ok, result.err = ok, err
    end)
    assert.is_true(result.fast)
    assert.is_nil(result.ok)
    assert.equal("timeout", result.err.message)
    c:close()
    slow:stop()
  end)
end)
