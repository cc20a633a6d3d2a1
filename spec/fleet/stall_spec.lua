-- A network stall between one worker of a fleet and Redis: the worker
-- reaches the store through a TCP forwarder (spec/support/tcp_proxy.lua)
-- that is stopped for longer than a store command's timeout (5 s), with
-- every socket left open, then resumed. Its commands time out, its
-- connection is dropped and made again through the forwarder once it
-- forwards again; its callbacks still come meanwhile. The worker goes on;
-- no job is lost or handed out twice, and no value is submitted twice.
--
-- The lease (15 s) outlasts the stall and the reconnect: a job handed to
-- the loop just before the stall is marked handed only when the loop asks
-- for the next one, and that mark waits behind the stall. With a lease
-- shorter than the stall the job's claim runs out at Redis first, another
-- process gets the job, and it is handed twice (the at-least-once case of
-- doc/lua-api.md's client:completed).
local h = require("support.client")
local redis = require("support.redis")
local workers = require("support.workers")
local fleet = require("support.fleet")
local socket = require("socket")

local PER = 200
local STALL = 7 -- seconds
local LEASE = 15

describe("a worker cut off from Redis by a network stall", function()
  local ctx = h.context{args = {"--job-time", "uniform:1s:10s"}}
  local server, proxy

  setup(function()
    server = redis.start()
    proxy = workers.start("tcp_proxy.lua", {"127.0.0.1", tostring(server.port)})
    assert(fleet.wait_for(proxy, "listening ", 1, 30), proxy:log())
  end)
  teardown(function()
    proxy:kill()
    proxy:cleanup()
    server:stop()
  end)

  it("reconnects and goes on; each job handed out once, each value submitted once", function()
    local through = "redis://127.0.0.1:" .. proxy:output():match("listening (%d+)")
    local results, store = h.tmpdir(), h.tmpdir()
    local ws = fleet.start_members{ctx = ctx, redis = {through, server.url, server.url},
      results = results, store = store, tag = "stall", per = PER, lease = LEASE}
    local cut = ws[1]
    for _, w in ipairs(ws) do
      assert.is_true(fleet.wait_for(w, "submitted", 1, 60), w:log())
    end
    assert.is_true(fleet.wait_total(ws, "got ", 40, 60), cut:log())
    assert.is_true(ctx.emu:stats().jobs.pending > 0, "every job ended before the stall")
    os.execute("kill -STOP " .. proxy.pid)
    socket.sleep(STALL)
    os.execute("kill -CONT " .. proxy.pid)
    local _, before = cut:output():gsub("got ", "")
    fleet.finish(ws)
    -- it took jobs again after the stall: its store is back
    local _, after = cut:output():gsub("got ", "")
    assert.is_true(after > before, "the cut worker got nothing after the stall: " .. cut:log())
    local _, times = fleet.tally(ws)
    fleet.once(times)
    fleet.check_stored(ctx, server.url, "stall", store, 3 * PER, times)
    fleet.submitted_once(ctx, 0, 3 * PER)
    fleet.cleanup(ws, results, store)
  end)
end)
