-- Schedules: create, list, get, change state, runs, and a tick that runs a
-- schedule now.
local http = require("support.http")
local fixture = require("support.fixture")
local contract = require("support.contract")

local int = contract.int

describe("emulator: schedules", function()
  local ctx = fixture.servers{site = true}
  local emu, s
  setup(function()
    emu, s = ctx.emu, ctx.site
  end)

  local function create(items, cron)
    local res = assert(emu:request{method = "POST", path = "/v1/schedules", body = {
      cron = cron or "0 3 * * *",
      items = items or {{source = "universal", url = s:page_url(1)}},
      end_time = "2099-12-31 00:00:00",
    }})
    assert.is_true(res.status == 200 or res.status == 201,
      "create answered " .. res.status .. ": " .. res.body)
    return http.json(res), res
  end

  it("creates a schedule and describes it", function()
    local sch = create({{source = "universal", url = s:page_url(1)},
      {source = "google_search", query = "adidas"}})
    assert.equal("number", type(sch.schedule_id))
    assert.equal(math.floor(sch.schedule_id), sch.schedule_id)
    assert.is_true(sch.active)
    assert.equal(2, sch.items_count)
    assert.equal("0 3 * * *", sch.cron)
    assert.equal("2099-12-31 00:00:00", sch.end_time)
    assert.is_true(contract.is_timestamp(sch.next_run_at), tostring(sch.next_run_at))
    assert.equal("03:00:00", sch.next_run_at:sub(12))
  end)

  it("lists and gets schedules, with stats", function()
    local a = create()
    local b = create()
    assert.not_equal(a.schedule_id, b.schedule_id)
    local list = http.json(assert(emu:request{path = "/v1/schedules"}), 200).schedules
    local found = {}
    for _, entry in ipairs(list) do
      local id = type(entry) == "table" and entry.schedule_id or entry
      found[int(id)] = true
    end
    assert.is_true(found[int(a.schedule_id)], "first schedule listed")
    assert.is_true(found[int(b.schedule_id)], "second schedule listed")
    local got = http.json(assert(emu:request{path = "/v1/schedules/" .. int(a.schedule_id)}), 200)
    assert.equal(a.schedule_id, got.schedule_id)
    assert.equal("0 3 * * *", got.cron)
    assert.equal(1, got.items_count)
    assert.equal("table", type(got.stats))
  end)

  it("deactivates and reactivates a schedule with 202 and an empty body", function()
    local sch = create()
    local path = "/v1/schedules/" .. int(sch.schedule_id)
    local res = assert(emu:request{method = "PUT", path = path .. "/state", body = {active = false}})
    assert.equal(202, res.status)
    assert.equal("", res.body)
    assert.is_false(http.json(assert(emu:request{path = path}), 200).active)
    res = assert(emu:request{method = "PUT", path = path .. "/state", body = {active = true}})
    assert.equal(202, res.status)
    assert.is_true(http.json(assert(emu:request{path = path}), 200).active)
  end)

  it("refuses a bad cron expression with 400", function()
    for _, cron in ipairs{"not a cron", "61 * * * *", "* * *"} do
      local res = assert(emu:request{method = "POST", path = "/v1/schedules", body = {
        cron = cron, items = {{source = "universal", url = s:page_url(1)}},
        end_time = "2099-12-31 00:00:00"}})
      assert.equal(400, res.status, cron)
      assert.equal("string", type(http.json(res).message))
    end
  end)

  it("refuses a state that is not a boolean and unknown schedules", function()
    local sch = create()
    local res = assert(emu:request{method = "PUT",
      path = "/v1/schedules/" .. int(sch.schedule_id) .. "/state", body = {active = "yes"}})
    assert.equal(400, res.status)
    res = assert(emu:request{path = "/v1/schedules/987654321"})
    assert.equal(404, res.status)
    res = assert(emu:request{path = "/v1/schedules/987654321/runs"})
    assert.equal(404, res.status)
  end)

  it("runs a schedule on a tick: jobs are created and reported in runs", function()
    local sch = create({{source = "universal", url = s:page_url(5)},
      {source = "universal", url = s:page_url(6)}})
    local path = "/v1/schedules/" .. int(sch.schedule_id)
    local runs = http.json(assert(emu:request{path = path .. "/runs"}), 200).runs
    assert.equal(0, #runs)
    local before = emu:stats().jobs_created
    local res = assert(emu:request{method = "POST",
      path = "/_emulator/schedules/" .. int(sch.schedule_id) .. "/tick"})
    assert.is_true(res.status >= 200 and res.status < 300, "tick answered " .. res.status)
    assert.equal(before + 2, emu:stats().jobs_created)
    runs = http.json(assert(emu:request{path = path .. "/runs"}), 200).runs
    assert.equal(1, #runs)
    local run = runs[1]
    assert.is_not_nil(run.run_id)
    assert.equal(2, #run.jobs)
    for _, j in ipairs(run.jobs) do
      assert.is_true(contract.is_job_id(j.id), tostring(j.id))
      assert.is_true(contract.is_timestamp(j.created_at))
      assert.is_not_nil(j.create_status_code)
      local done = emu:wait_status(j.id, "done", 10)
      assert.equal(j.id, done.id)
    end
    local final = contract.eventually(function()
      local r = http.json(assert(emu:request{path = path .. "/runs"}), 200).runs[1]
      return (r.success_rate == 1 or r.success_rate == 100) and r
    end, 5)
    assert.truthy(final, "success_rate reaches 1 once both jobs are done")
    assert.equal("done", final.jobs[1].result_status)
    assert.equal("done", final.jobs[2].result_status)
    assert.is_true(contract.is_timestamp(final.jobs[1].result_created_at))
  end)
end)
