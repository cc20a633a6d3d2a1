-- The /_emulator/ admin paths: request counts, job counts, reset.
local http = require("support.http")
local fixture = require("support.fixture")

describe("emulator: admin", function()
  local ctx = fixture.servers()
  local emu
  setup(function()
    emu = ctx.emu
  end)

  before_each(function()
    emu:reset()
  end)

  it("counts requests by route, jobs by state, and jobs created", function()
    local job = emu:submit{source = "google_search", query = "a"}
    emu:submit_batch{source = "google_search", query = {"b", "c"}}
    emu:wait_status(job.id, "done", 10)
    assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
    assert(emu:request{path = "/v1/queries/" .. job.id .. "/results?type=parsed"})
    local stats = emu:stats()
    assert.equal(1, stats.requests["POST /v1/queries"])
    assert.equal(1, stats.requests["POST /v1/queries/batch"])
    assert.is_true(stats.requests["GET /v1/queries/{id}"] >= 1)
    assert.equal(2, stats.requests["GET /v1/queries/{id}/results"])
    assert.equal(3, stats.jobs_created)
    local j = stats.jobs
    assert.equal(3, j.pending + j.done + j.faulted)
    assert.is_true(j.done >= 1)
    for _, key in ipairs{"429", "500", "drop", "slow"} do
      assert.equal(0, stats.injected[key], "injected " .. key)
    end
    for _, key in ipairs{"sent", "failed", "lost"} do
      assert.equal(0, stats.callbacks[key], "callbacks " .. key)
    end
  end)

  it("forgets jobs and counters on reset", function()
    local job = emu:submit{source = "google_search", query = "gone"}
    assert.equal(1, emu:stats().jobs_created)
    emu:reset()
    local stats = emu:stats()
    assert.equal(0, stats.jobs_created)
    assert.equal(0, stats.requests["POST /v1/queries"] or 0)
    assert.equal(0, stats.jobs.pending + stats.jobs.done + stats.jobs.faulted)
    local res = assert(emu:request{path = "/v1/queries/" .. job.id})
    assert.equal(404, res.status)
  end)

  it("answers stats as JSON with every documented section", function()
    local res = assert(emu:request{path = "/_emulator/stats"})
    local stats = http.json(res, 200)
    for _, key in ipairs{"requests", "jobs", "jobs_created", "injected", "callbacks"} do
      assert.is_not_nil(stats[key], key)
    end
  end)

  it("tells when a job was created and finished, to the sub-second", function()
    local before = require("socket").gettime()
    local job = emu:submit{source = "google_search", query = "timed"}
    emu:wait_status(job.id, "done", 10)
    local res = assert(emu:request{path = "/_emulator/jobs/" .. job.id})
    local info = http.json(res, 200)
    assert.equal(job.id, info.id)
    assert.equal("done", info.status)
    assert.is_true(info.created_at >= before - 1 and info.created_at <= info.finished_at)
    assert.is_true(info.finished_at <= require("socket").gettime() + 1)
    assert.equal(404, assert(emu:request{path = "/_emulator/jobs/123"}).status)
    assert.equal(404, assert(emu:request{path = "/_emulator/jobs/not-a-number"}).status)
  end)
end)
