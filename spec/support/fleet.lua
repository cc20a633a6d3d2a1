-- Helpers of the fleet specs: worker processes of a fleet on one Redis
-- store (spec/support/fleet_worker.lua, fleet_member.lua), what they
-- printed, and what the store and the emulator hold at the end.
local assert = require("luassert")
local socket = require("socket")
local h = require("support.client")
local files = require("support.files")
local workers = require("support.workers")

local fleet = {}

local function count(w, pattern)
  local _, k = w:output():gsub(pattern, "")
  return k
end

-- Waits until pattern occurs count times in the worker's output.
function fleet.wait_for(w, pattern, n, timeout)
  local deadline = socket.gettime() + timeout
  while socket.gettime() < deadline do
    if count(w, pattern) >= n then
      return true
    end
    socket.sleep(0.02)
  end
  return false
end

-- Waits until pattern occurs n times in the outputs of ws together.
function fleet.wait_total(ws, pattern, n, timeout)
  local deadline = socket.gettime() + timeout
  while socket.gettime() < deadline do
    local k = 0
    for _, w in ipairs(ws) do
      k = k + count(w, pattern)
    end
    if k >= n then
      return true
    end
    socket.sleep(0.05)
  end
  return false
end

-- The ids each worker printed as got, and how often each was got overall.
function fleet.tally(ws)
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

-- Waits for every worker of ws but skip to end, having printed "finished".
function fleet.finish(ws, skip)
  for i, w in ipairs(ws) do
    if w ~= skip then
      assert.is_true(w:wait(90), "worker " .. i .. " did not end")
      assert.matches("finished", w:output(), 1, true, w:log())
    end
  end
end

-- No job but except was got twice (times: id -> how often).
function fleet.once(times, except)
  for id, k in pairs(times) do
    if id ~= except then
      assert.equal(1, k, id .. " handed out " .. k .. " times")
    end
  end
end

-- SIGKILLs ws[k], which has not finished, and waits for the others to
-- finish. The job it held when it died is the only one that may be handed
-- twice: never marked handed, it went to another after the lease. Returns
-- fleet.tally's by and times.
function fleet.kill_one(ws, k)
  local victim = ws[k]
  victim:kill()
  assert.is_nil(victim:output():find("finished", 1, true), "the victim ended before the kill")
  fleet.finish(ws, victim)
  local by, times = fleet.tally(ws)
  fleet.once(times, by[k][#by[k]])
  return by, times
end

-- Removes the workers' output files and the spec's folders.
function fleet.cleanup(ws, ...)
  for _, w in ipairs(ws) do
    w:cleanup()
  end
  for _, dir in ipairs{...} do
    files.rmdir(dir)
  end
end

-- The emulator saw each value of pages offset+1 .. offset+n submitted once.
function fleet.submitted_once(ctx, offset, n)
  local values = h.values(ctx.emu)
  assert.equal(0, values.created_twice)
  local seen = 0
  for url, times in pairs(values.url) do
    local page = tonumber(url:match("/page/(%d+)$"))
    if page > offset and page <= offset + n then
      assert.equal(1, times, url .. " submitted " .. times .. " times")
      seen = seen + 1
    end
  end
  assert.equal(n, seen)
end

-- Every job of tag in the store was handed out (times: id -> how often a
-- worker got it) and stored in the folder store as its own page's results.
function fleet.check_stored(ctx, redis_url, tag, store, n, times)
  local c = h.client(ctx.emu, {journal = redis_url})
  local all = assert(c:jobs{tag = tag})
  assert.equal(n, #all)
  for _, e in ipairs(all) do
    assert.is_true(e.handed, "job " .. tostring(e.id) .. " not handed out")
    assert.is_not_nil(times[e.id], "job " .. tostring(e.id) .. " handed to no worker")
    local body = files.read(store .. "/" .. e.id .. ".json")
    assert.is_not_nil(body, "job " .. e.id .. " not stored")
    local page = tonumber(e.params.url:match("/page/(%d+)$"))
    assert.equal(page, h.page_number(body:gsub("\\/", "/")), "job " .. e.id .. " stored another page")
  end
  assert.equal(0, assert(c:resume{tag = tag}):size())
  c:close()
end

-- Starts three fleet_member.lua workers (opts: ctx, redis (a URL for each
-- worker), results, store, tag, per (jobs each), offset (0), lease, hosts
-- (more callback URLs than the workers' listeners)) and, once they listen,
-- gives them the fleet's callback URLs (in the file results/hosts).
-- Returns the workers.
function fleet.start_members(opts)
  local hosts_path = opts.results .. "/hosts"
  local ws = {}
  for k = 0, 2 do
    ws[#ws + 1] = workers.start("fleet_member.lua", {opts.ctx.emu.url, opts.ctx.site.url,
      opts.redis[k + 1], opts.results, opts.store, tostring((opts.offset or 0) + k * opts.per),
      tostring(opts.per), opts.tag, tostring(opts.lease), hosts_path})
  end
  local urls = {}
  for _, u in ipairs(opts.hosts or {}) do
    urls[#urls + 1] = u
  end
  for _, w in ipairs(ws) do
    assert(fleet.wait_for(w, "listening ", 1, 30), w:log())
    urls[#urls + 1] = w:output():match("listening (%S+)")
  end
  files.write(hosts_path .. ".tmp", table.concat(urls, "\n") .. "\n")
  assert(os.rename(hosts_path .. ".tmp", hosts_path))
  return ws
end

return fleet
