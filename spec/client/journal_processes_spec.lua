-- Several processes of one host on one journal: they submit at the same
-- time, each resumes the whole journal, and every finished job is handed
-- to exactly one of them.
local h = require("support.client")
local workers = require("support.workers")

describe("a journal shared by three processes", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:600ms"}}

  it("hands each finished job to exactly one of them", function()
    local dir = h.tmpdir()
    local db = dir .. "/jobs.db"
    local ws = {}
    for k = 0, 2 do
      ws[#ws + 1] = workers.start("journal_worker.lua",
        {"share", ctx.emu.url, ctx.site.url, db, dir, tostring(k * 1000), "150"})
    end
    local given, per = workers.handed(ws, 120)
    -- they shared the work: each took some of the others' jobs too
    local busy = 0
    for i = 1, 3 do
      busy = busy + (per[i] > 0 and 1 or 0)
    end
    assert.is_true(busy >= 2, "one process took every job")
    -- every job of the three batches went to one of them
    local client = h.client(ctx.emu, {journal = db})
    local all = assert(client:jobs())
    assert.equal(450, #all)
    for _, e in ipairs(all) do
      assert.is_not_nil(given[e.id], "job " .. tostring(e.id) .. " never handed out")
      assert.is_true(e.handed)
      assert.equal(dir .. "/" .. e.id .. ".json", e.results_path)
    end
    assert.equal(0, h.values(ctx.emu).created_twice)
    local rest = assert(client:resume())
    assert.equal(0, #rest)
    client:close()
    h.rmdir(dir)
  end)
end)
