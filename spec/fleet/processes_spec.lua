-- Three worker processes share one job store on Redis: each submits its
-- own batch, each resumes the whole store, and every finished job is handed
-- to exactly one of them; the emulator saw each value submitted once.
local h = require("support.client")
local workers = require("support.workers")
local redis = require("support.redis")

local PER = 200

describe("a Redis store shared by three processes", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:600ms"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("hands each finished job to exactly one of them", function()
    local dir = h.tmpdir()
    local ws = {}
    for k = 0, 2 do
      ws[#ws + 1] = workers.start("journal_worker.lua",
        {"share", ctx.emu.url, ctx.site.url, server.url, dir, tostring(k * 1000), tostring(PER)})
    end
    local given, per = workers.handed(ws, 120)
    -- they shared the work: each took some of the others' jobs too
    local busy = 0
    for i = 1, 3 do
      busy = busy + (per[i] > 0 and 1 or 0)
    end
    assert.is_true(busy >= 2, "one process took every job")
    local client = h.client(ctx.emu, {journal = server.url})
    local all = assert(client:jobs())
    assert.equal(3 * PER, #all)
    for _, e in ipairs(all) do
      assert.is_not_nil(given[e.id], "job " .. tostring(e.id) .. " never handed out")
      assert.is_true(e.handed)
      assert.equal(dir .. "/" .. e.id .. ".json", e.results_path)
    end
    local values = h.values(ctx.emu)
    assert.equal(0, values.created_twice)
    local n = 0
    for url, count in pairs(values.url) do
      assert.equal(1, count, url .. " submitted " .. count .. " times")
      n = n + 1
    end
    assert.equal(3 * PER, n)
    local rest = assert(client:resume())
    assert.equal(0, rest:size())
    client:close()
    h.rmdir(dir)
  end)
end)
