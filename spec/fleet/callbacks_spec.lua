-- Callbacks anywhere: a callback that reaches another process of the fleet
-- (its listener) is published in the Redis store and ends the job in the
-- process that submitted it, long before that process' safety-net poll.
local h = require("support.client")
local workers = require("support.workers")
local redis = require("support.redis")
local socket = require("socket")

describe("a callback reaching another process of the fleet", function()
  local ctx = h.context{args = {"--job-time", "uniform:100ms:400ms"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("ends the job where it was submitted", function()
    local listener = workers.start("fleet_listener.lua", {ctx.emu.url, server.url, "30"})
    local deadline = socket.gettime() + 20
    local url
    while not url and socket.gettime() < deadline do
      url = listener:output():match("listening (%S+)")
      socket.sleep(0.02)
    end
    assert.is_string(url, listener:log())
    local c = h.client(ctx.emu, {journal = server.url})
    -- this process polls its jobs only after 60 s: the callbacks the other
    -- process receives are what ends them
    assert(c:expect_callbacks(url, {safety_min = 60}))
    local before = ctx.emu:stats().requests
    local n = 20
    local batch = assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 700, n)},
      {callback = true}))
    local t0 = socket.gettime()
    local ended = 0
    for job in batch:completed{timeout = 20} do
      assert.equal("done", job.status)
      ended = ended + 1
    end
    assert.equal(n, ended)
    assert.is_true(socket.gettime() - t0 < 15)
    -- one results download a job, no status polls
    local after = ctx.emu:stats().requests
    assert.equal(n, (after["GET /v1/queries/{id}/results"] or 0)
      - (before["GET /v1/queries/{id}/results"] or 0))
    assert.equal(0, (after["GET /v1/queries/{id}"] or 0) - (before["GET /v1/queries/{id}"] or 0))
    c:close()
    listener:kill()
    listener:cleanup()
  end)
end)
