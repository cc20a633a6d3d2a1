-- Fault injection: forced 429s and 500s, dropped answers, slow answers and
-- faulted jobs.
local http = require("support.http")
local emulator = require("support.emulator")
local socket = require("socket")

local job_params = {source = "google_search", query = "faults"}

describe("emulator: fault injection", function()
  it("answers 429 for every submission with --inject 429=1", function()
    local emu = emulator.start{"--inject", "429=1"}
    finally(function() emu:stop() end)
    for _ = 1, 3 do
      local res = assert(emu:request{method = "POST", path = "/v1/queries", body = job_params})
      assert.equal(429, res.status)
      assert.equal("string", type(http.json(res).message))
    end
    local stats = emu:stats()
    assert.equal(3, stats.injected["429"])
    assert.equal(0, stats.jobs_created)
  end)

  it("answers 500 for every submission with --inject 500=1", function()
    local emu = emulator.start{"--inject", "500=1"}
    finally(function() emu:stop() end)
    local res = assert(emu:request{method = "POST", path = "/v1/queries", body = job_params})
    assert.equal(500, res.status)
    assert.equal("string", type(http.json(res).message))
    assert.equal(1, emu:stats().injected["500"])
  end)

  it("drops the answer with --inject drop=1, yet creates the job", function()
    local emu = emulator.start{"--inject", "drop=1"}
    finally(function() emu:stop() end)
    local res, err = emu:request{method = "POST", path = "/v1/queries", body = job_params,
      timeout = 5}
    assert.is_nil(res, "no answer")
    assert.is_string(err)
    local stats = emu:stats()
    assert.equal(1, stats.jobs_created)
    assert.equal(1, stats.injected.drop)
  end)

  it("delays answers with --inject slow=1:300ms", function()
    local emu = emulator.start{"--inject", "slow=1:300ms"}
    finally(function() emu:stop() end)
    local t0 = socket.gettime()
    local res = assert(emu:request{method = "POST", path = "/v1/queries", body = job_params})
    local took = socket.gettime() - t0
    assert.equal(202, res.status)
    assert.is_true(took >= 0.28, "took " .. took)
    assert.equal(1, emu:stats().injected.slow)
  end)

  it("takes several faults at once, as a comma list", function()
    local emu = emulator.start{"--inject", "429=0,500=1,drop=0"}
    finally(function() emu:stop() end)
    local res = assert(emu:request{method = "POST", path = "/v1/queries", body = job_params})
    assert.equal(500, res.status)
  end)

  it("faults every job with --fault-rate 1", function()
    local emu = emulator.start{"--fault-rate", "1"}
    finally(function() emu:stop() end)
    local jobs = emu:submit_batch{source = "google_search", query = {"a", "b"}}
    for _, job in ipairs(jobs) do
      local done = emu:wait_status(job.id, nil, 10)
      assert.equal("faulted", done.status)
      local res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
      assert.equal(200, res.status)
      assert.equal("faulted", res.headers["x-oxylabs-job-status"])
      local r = http.json(res).results[1]
      assert.equal(613, r.status_code)
      assert.equal("", r.content)
    end
    assert.equal(2, emu:stats().jobs.faulted)
  end)

  it("faults no job with --fault-rate 0", function()
    local emu = emulator.start{"--fault-rate", "0"}
    finally(function() emu:stop() end)
    local job = emu:submit(job_params)
    assert.equal("done", emu:wait_status(job.id, nil, 10).status)
  end)
end)
