-- Kill tests: a worker process runs a 2,000-job workflow on a journal and
-- is killed with SIGKILL at random moments -- during the submission,
-- mid-batch, during the downloads -- several times in a row; each new run
-- resumes. At the end every accepted job's result is on disk and right,
-- and the emulator saw each value submitted exactly once, except values
-- the journal reported as lost answers (at most once for those). Every
-- accepted job is reported by some run; only the job a killed run was
-- inside of is reported again.
local cjson = require("cjson")
local socket = require("socket")
local h = require("support.client")
local workers = require("support.workers")

local N = 2000
-- when each killed run is killed: seconds after it started, at random
-- within these ranges (the first lands in the submission)
local KILLS = {{0.05, 0.3}, {0.2, 0.8}, {0.3, 1.2}, {0.5, 1.5}}

local function page_of(url)
  return tonumber(url:match("/page/(%d+)$"))
end

local function kill_and_resume(ctx, seed)
  math.randomseed(seed)
  local dir = h.tmpdir()
  local db = dir .. "/jobs.db"
  local args = {"workflow", ctx.emu.url, ctx.site.url, db, dir, tostring(N)}
  local got, lost_reported, log = {}, {}, {}
  -- the job a killed run reported last: its loop never moved on, so the
  -- job is handed out again (the only job a run may report again)
  local held_by_killed = {}
  local function collect(w, killed)
    local out = w:output()
    local last
    for id in out:gmatch("got (%S+) done") do
      assert.is_true(not got[id] or held_by_killed[id] == true,
        "job " .. id .. " handed out twice (seed " .. seed .. ")")
      held_by_killed[id] = nil
      got[id] = true
      last = id
    end
    if killed and last then
      held_by_killed[last] = true
    end
    for url in out:gmatch("lost (%S+)") do
      lost_reported[url] = true
    end
    log[#log + 1] = w:log()
    w:cleanup()
    return out
  end
  for round = 1, #KILLS do
    local w = workers.start("journal_worker.lua", args)
    local lo, hi = KILLS[round][1], KILLS[round][2]
    socket.sleep(lo + (hi - lo) * math.random())
    assert.is_true(w:kill(), "the worker outlived SIGKILL")
    collect(w, true)
  end
  local last = workers.start("journal_worker.lua", args)
  assert.is_true(last:wait(120), "the last run did not end (seed " .. seed .. ")")
  local out = collect(last)
  assert.matches("finished", out, 1, true, table.concat(log, "\n"))

  -- what the journal says, what the service saw, what is on disk
  local client = h.client(ctx.emu, {journal = db})
  local entries = assert(client:jobs())
  client:close()
  local accepted, lost = {}, {}
  for _, e in ipairs(entries) do
    local url = e.params.url
    if e.id then
      assert.is_nil(accepted[url], url .. " accepted twice (seed " .. seed .. ")")
      accepted[url] = e
    elseif e.sent then
      -- its answer was lost: reported by resume, or as an unknown job
      lost[url] = (lost[url] or 0) + 1
    end
  end
  local created = h.values(ctx.emu).url
  local n_lost = 0
  for i = 1, N do
    local url = ctx.site.url .. "/page/" .. i
    local e, count = accepted[url], created[url] or 0
    local may = lost[url] or 0
    n_lost = n_lost + may
    if e then
      assert.equal("done", e.status, url .. " (seed " .. seed .. ")")
      -- at least once: a job claimed by a run killed before its report
      -- came back to a later run
      assert.is_true(got[e.id], e.id .. " was never handed out (seed " .. seed .. ")")
      assert.is_true(e.handed)
      local text = h.read_file(dir .. "/" .. e.id .. ".json")
      assert.is_string(text, "no result file for " .. url)
      local body = cjson.decode(text)
      assert.equal(i, h.page_number(body.results[1].content), url)
      assert.is_true(count >= 1 and count <= 1 + may,
        ("%s created %d times, %d lost answers (seed %d)"):format(url, count, may, seed))
    else
      assert.is_true(count <= may,
        ("%s created %d times with no job, %d lost answers (seed %d)"):format(url, count, may, seed))
    end
  end
  h.rmdir(dir)
  return n_lost
end

describe("a workflow killed at random moments", function()
  local ctx = h.context{args = {"--job-time", "uniform:100ms:800ms"}}

  it("resumes each time and ends with every result, each value created once", function()
    local seed = os.time()
    kill_and_resume(ctx, seed)
  end)
end)

describe("a workflow killed at random moments under injected faults", function()
  local ctx = h.context{args = {"--job-time", "uniform:100ms:800ms",
    "--inject", "429=0.05,500=0.03,drop=0.02"}}

  it("resumes each time; values are created once except lost answers", function()
    local seed = os.time() + 1
    kill_and_resume(ctx, seed)
  end)
end)
