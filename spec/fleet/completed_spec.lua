-- client:completed{tag} across a fleet sharing one Redis store: three
-- worker processes submit parts of one tag's jobs and take the finished
-- ones; each job is handed to one of them, one worker killed midway loses
-- its claims and its pending jobs to the others once their leases run out,
-- and a Redis killed and restarted (append-only file) loses nothing.
local h = require("support.client")
local workers = require("support.workers")
local redis = require("support.redis")
local socket = require("socket")
local fleet = require("support.fleet")

local PER = 200

-- How many keys t has.
local function count(t)
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n
end

-- lease: seconds; a job is handed twice only when its holder cannot reach
-- Redis for longer than that
local function start(ctx, server, dir, tag, lease, offset)
  local ws = {}
  for k = 0, 2 do
    ws[#ws + 1] = workers.start("fleet_worker.lua", {ctx.emu.url, ctx.site.url, server.url, dir,
      tostring(offset + k * PER), tostring(PER), tag, tostring(lease)})
  end
  return ws
end

describe("client:completed{tag} on a Redis store shared by three processes", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:800ms"}}
  local server

  before_each(function() server = redis.start{persist = true} end)
  after_each(function() server:stop() end)

  it("hands each job to one process; a killed one's jobs go to the others", function()
    local dir = h.tmpdir()
    local ws = start(ctx, server, dir, "crawl", 2, 0)
    local victim = ws[2]
    assert.is_true(fleet.wait_for(victim, "got ", 10, 60), victim:log())
    local by, times = fleet.kill_one(ws, 2)
    assert.equal(3 * PER, count(times))
    assert.is_true(#by[1] > 0 and #by[3] > 0)
    fleet.submitted_once(ctx, 0, 3 * PER)
    fleet.cleanup(ws, dir)
  end)

  it("survives Redis killed and restarted mid-run", function()
    local dir = h.tmpdir()
    local ws = start(ctx, server, dir, "restart", 6, 10000)
    assert.is_true(fleet.wait_for(ws[1], "got ", 20, 60), ws[1]:log())
    server:kill()
    socket.sleep(0.5)
    server:restart()
    fleet.finish(ws)
    local _, times = fleet.tally(ws)
    fleet.once(times)
    assert.equal(3 * PER, count(times))
    fleet.submitted_once(ctx, 10000, 3 * PER)
    fleet.cleanup(ws, dir)
  end)
end)
