-- Hand-out is at least once: a job completed() gave to a loop body that
-- never finished (the process killed inside it) comes back on the next
-- resume, while a job a live process is inside of is left to it.
local socket = require("socket")
local h = require("support.client")
local workers = require("support.workers")

-- Waits until the worker prints "inside <id>"; the id.
local function inside(w)
  local deadline = socket.gettime() + 60
  while socket.gettime() < deadline do
    local id = w:output():match("inside (%S+)")
    if id then
      return id
    end
    assert.is_true(w:running(), "the worker ended: " .. w:log())
    socket.sleep(0.05)
  end
  error("the worker never got a job: " .. w:log())
end

local function ids(batch)
  local out = {}
  for _, job in ipairs(batch.jobs) do
    out[job.id] = true
  end
  return out
end

describe("a job handed to a loop body", function()
  local ctx = h.context{args = {"--job-time", "0"}}

  it("is left to its live holder and comes back once the holder is killed", function()
    local dir = h.tmpdir()
    local db = dir .. "/jobs.db"
    local w = workers.start("journal_worker.lua", {"hold", ctx.emu.url, ctx.site.url, db, dir, "3"})
    local held = inside(w)

    -- the holder runs: another process neither resumes nor lists it as free
    local other = h.client(ctx.emu, {journal = db})
    local batch = assert(other:resume())
    assert.equal(2, #batch.jobs)
    assert.is_nil(ids(batch)[held])
    for _, e in ipairs(assert(other:jobs())) do
      assert.equal(e.id == held, e.handed, tostring(e.id))
    end
    other:close()

    assert.is_true(w:kill(), "the worker outlived SIGKILL")
    w:cleanup()

    -- killed inside the loop body: the job is given again
    local next_run = h.client(ctx.emu, {journal = db})
    batch = assert(next_run:resume())
    assert.equal(3, #batch.jobs)
    assert.is_true(ids(batch)[held])
    local given = {}
    for job in batch:completed{timeout = 30} do
      given[job.id] = true
    end
    assert.is_true(given[held], "the held job was not given again")
    -- the loop ended: every job is handed out for good
    for _, e in ipairs(assert(next_run:jobs())) do
      assert.is_true(e.handed, tostring(e.id))
    end
    next_run:close()
    local last = h.client(ctx.emu, {journal = db})
    assert.equal(0, #assert(last:resume()).jobs)
    last:close()
    h.rmdir(dir)
  end)
end)
