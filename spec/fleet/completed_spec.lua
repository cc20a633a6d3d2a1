-- client:completed{tag} across a fleet sharing one Redis store: three
-- worker processes submit parts of one tag's jobs and take the finished
-- ones; each job is handed to one of them, one worker killed midway loses
-- its claims (and the jobs whose marks it had not sent yet) and its
-- pending jobs to the others once their leases run out,
-- and a Redis killed and restarted (append-only file) loses nothing.
local h = require("support.client")
local workers = require("support.workers")
local redis = require("support.redis")
local socket = require("socket")

local PER = 200

-- Waits until pattern occurs count times in the worker's output.
local function wait_for(w, pattern, count, timeout)
  local deadline = socket.gettime() + timeout
  while socket.gettime() < deadline do
    local _, k = w:output():gsub(pattern, "")
    if k >= count then
      return true
    end
    socket.sleep(0.02)
  end
  return false
end

-- The ids each worker printed as got, and how often each was got overall.
local function tally(ws)
  local by, times = {}, {}
  for i, w in ipairs(ws) do
    by[i] = {}
    for id in w:output():gmatch("got (%S+) done") do
      by[i][#by[i] + 1] = id
      times[id] = (times[id] or 0) + 1
    end
  end
  return by, times
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

-- The emulator saw each value of pages offset+1 .. offset+n submitted once.
local function submitted_once(ctx, offset, n)
  local values = h.values(ctx.emu)
  local count = 0
  for url, times in pairs(values.url) do
    local page = tonumber(url:match("/page/(%d+)$"))
    if page > offset and page <= offset + n then
      assert.equal(1, times, url .. " submitted " .. times .. " times")
      count = count + 1
    end
  end
  assert.equal(n, count)
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
    assert.is_true(wait_for(victim, "got ", 10, 60), victim:log())
    victim:kill()
    assert.is_nil(victim:output():find("finished", 1, true), "the victim ended before the kill")
    for i, w in ipairs(ws) do
      if w ~= victim then
        assert.is_true(w:wait(90), "worker " .. i .. " did not end")
        assert.matches("finished", w:output(), 1, true, w:log())
      end
    end
    local by, times = tally(ws)
    -- only jobs the victim was handed may be given twice: the one it held
    -- when it died, and those whose marks waited for its next claim or
    -- engine step (sent together); they went to another after the lease
    local victims = {}
    for _, id in ipairs(by[2]) do
      victims[id] = true
    end
    local total = 0
    for id, k in pairs(times) do
      if victims[id] then
        assert.is_true(k <= 2, id .. " handed out " .. k .. " times")
      else
        assert.equal(1, k, id .. " handed out " .. k .. " times")
      end
      total = total + 1
    end
    assert.equal(3 * PER, total)
    assert.is_true(#by[1] > 0 and #by[3] > 0)
    submitted_once(ctx, 0, 3 * PER)
    for _, w in ipairs(ws) do w:cleanup() end
    h.rmdir(dir)
  end)

  it("survives Redis killed and restarted mid-run", function()
    local dir = h.tmpdir()
    local ws = start(ctx, server, dir, "restart", 6, 10000)
    assert.is_true(wait_for(ws[1], "got ", 20, 60), ws[1]:log())
    server:kill()
    socket.sleep(0.5)
    server:restart()
    for i, w in ipairs(ws) do
      assert.is_true(w:wait(90), "worker " .. i .. " did not end")
      assert.matches("finished", w:output(), 1, true, w:log())
    end
    local _, times = tally(ws)
    local total = 0
    for id, k in pairs(times) do
      assert.equal(1, k, id .. " handed out " .. k .. " times")
      total = total + 1
    end
    assert.equal(3 * PER, total)
    submitted_once(ctx, 10000, 3 * PER)
    for _, w in ipairs(ws) do w:cleanup() end
    h.rmdir(dir)
  end)
end)
