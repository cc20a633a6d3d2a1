-- Fault injection: forced 429s and 500s, dropped answers, slow answers,
-- ambiguous answers to submissions that did create jobs, batch answers that
-- repeat one id, faulted jobs; and the per-value job counts that show
-- whether a value was ever created twice.
local http = require("support.http")
local emulator = require("support.emulator")
local contract = require("support.contract")
local env = require("support.env")
local process = require("support.process")
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

  -- What an ambiguous submission got: "500", "524" or "drop" (no answer).
  local function ambiguous_outcome(res, err)
    if not res then
      assert.is_string(err)
      return "drop"
    end
    assert.is_true(res.status == 500 or res.status == 524, "status " .. res.status)
    assert.is_string(http.json(res).message)
    assert.is_nil(res.headers["x-ratelimit-jobs-remaining"], "a gateway's answer, not the service's")
    return tostring(res.status)
  end

  local function values(emu)
    return http.json(assert(emu:request{path = "/_emulator/values"}), 200)
  end

  -- Waits until every created job has run to its end.
  local function all_done(emu, n)
    return contract.eventually(function()
      local s = emu:stats()
      return s.jobs.done == n and s.jobs.pending == 0
    end, 10)
  end

  it("creates and runs the jobs of an ambiguous submission, then loses its answer", function()
    local emu = emulator.start{"--inject", "ambiguous=1"}
    finally(function() emu:stop() end)
    local outcome = ambiguous_outcome(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "google_search", query = "lost answer"}, timeout = 5})
    outcome = ambiguous_outcome(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = {"b1", "b2", "b3"}}, timeout = 5})
      .. " " .. outcome
    local stats = emu:stats()
    assert.equal(4, stats.jobs_created, outcome)
    assert.is_truthy(all_done(emu, 4), "the four jobs run to done")
    local amb = stats.injected.ambiguous
    assert.equal(2, amb["500"] + amb["524"] + amb.drop)
    local v = values(emu)
    for _, q in ipairs{"lost answer", "b1", "b2", "b3"} do
      assert.equal(1, v.query[q], q)
    end
    assert.equal(0, v.created_twice)
  end)

  it("answers ambiguous submissions with 500, 524 and dropped connections alike", function()
    local emu = emulator.start{"--inject", "ambiguous=1", "--seed", "7"}
    finally(function() emu:stop() end)
    local seen = {["500"] = 0, ["524"] = 0, drop = 0}
    local n = 45
    for i = 1, n do
      local o = ambiguous_outcome(emu:request{method = "POST", path = "/v1/queries",
        body = {source = "google_search", query = "q" .. i}, timeout = 5})
      seen[o] = seen[o] + 1
    end
    for o, count in pairs(seen) do
      assert.is_true(count > 0, o .. " never happened")
    end
    local stats = emu:stats()
    assert.same(seen, stats.injected.ambiguous)
    assert.equal(n, stats.jobs_created)
  end)

  it("picks ambiguous outcomes among the ones named after the share", function()
    local emu = emulator.start{"--inject", "ambiguous=1:524"}
    finally(function() emu:stop() end)
    for i = 1, 5 do
      local res = assert(emu:request{method = "POST", path = "/v1/queries",
        body = {source = "google_search", query = "t" .. i}})
      assert.equal(524, res.status)
    end
    emu:stop()
    emu = emulator.start{"--inject", "ambiguous=1:drop+500"}
    for i = 1, 8 do
      local o = ambiguous_outcome(emu:request{method = "POST", path = "/v1/queries",
        body = {source = "google_search", query = "d" .. i}, timeout = 5})
      assert.is_true(o == "drop" or o == "500", o)
    end
    assert.equal(0, emu:stats().injected.ambiguous["524"])
    assert.equal(8, emu:stats().jobs_created)
  end)

  it("leaves reads and refused submissions alone under ambiguous=1", function()
    local emu = emulator.start{"--inject", "ambiguous=1"}
    finally(function() emu:stop() end)
    local res = assert(emu:request{method = "POST", path = "/v1/queries", body = {source = "universal"}})
    assert.equal(400, res.status, "no job was created: the real answer")
    res = assert(emu:request{path = "/v1/info/callbacker_ips"})
    assert.equal(200, res.status)
    local amb = emu:stats().injected.ambiguous
    assert.equal(0, amb["500"] + amb["524"] + amb.drop)
    assert.equal(0, emu:stats().jobs_created)
  end)

  it("repeats the first job's id in batch answers with --inject dup-id=1", function()
    local emu = emulator.start{"--inject", "dup-id=1"}
    finally(function() emu:stop() end)
    local jobs = emu:submit_batch{source = "google_search", query = {"x1", "x2", "x3"}}
    assert.equal(3, #jobs)
    for i, job in ipairs(jobs) do
      assert.equal(jobs[1].id, job.id)
      assert.same(jobs[1]._links, job._links)
      assert.equal("x" .. i, job.query, "each entry still describes its own value")
    end
    local stats = emu:stats()
    assert.equal(3, stats.jobs_created, "the jobs are still created")
    assert.equal(1, stats.injected["dup-id"])
    assert.is_truthy(all_done(emu, 3))
    local v = values(emu)
    assert.same({x1 = 1, x2 = 1, x3 = 1}, v.query)
    -- single submissions have one id only: they are answered as usual
    local job = emu:submit(job_params)
    assert.is_true(contract.is_job_id(job.id))
    assert.is_not.equal(jobs[1].id, job.id)
    assert.equal(1, emu:stats().injected["dup-id"])
  end)

  it("counts the jobs created per submitted value, and values created twice", function()
    local emu = emulator.start{}
    finally(function() emu:stop() end)
    local v = values(emu)
    assert.same({}, v.url)
    assert.same({}, v.query)
    assert.equal(0, v.created_twice)
    assert.is_false(v.truncated)
    emu:submit{source = "google_search", query = "a"}
    emu:submit{source = "google_search", query = "a"}
    emu:submit_batch{source = "google_search", query = {"a", "b"}}
    emu:submit_batch{source = "universal", url = {"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}}
    emu:submit{source = "universal", url = "http://127.0.0.1:1/b"}
    v = values(emu)
    assert.same({a = 3, b = 1}, v.query)
    assert.same({["http://127.0.0.1:1/a"] = 1, ["http://127.0.0.1:1/b"] = 2}, v.url)
    assert.equal(2, v.created_twice)
    assert.equal(2, emu:stats().values_created_twice)
    -- refused submissions create nothing
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = {"c", 5}}})
    assert.equal(400, res.status)
    assert.is_nil(values(emu).query.c)
    emu:reset()
    v = values(emu)
    assert.same({}, v.query)
    assert.equal(0, v.created_twice)
    assert.equal(0, emu:stats().values_created_twice)
  end)

  it("does not count the jobs of schedule runs as values created again", function()
    local emu = emulator.start{}
    finally(function() emu:stop() end)
    local res = assert(emu:request{method = "POST", path = "/v1/schedules", body = {
      cron = "0 3 * * *", items = {{source = "google_search", query = "nightly"}},
      end_time = "2099-12-31 00:00:00"}})
    local sch = http.json(res)
    for _ = 1, 2 do
      res = assert(emu:request{method = "POST",
        path = "/_emulator/schedules/" .. contract.int(sch.schedule_id) .. "/tick"})
      assert.equal(200, res.status)
    end
    assert.equal(2, emu:stats().jobs_created)
    assert.is_nil(values(emu).query.nightly)
  end)

  it("refuses malformed ambiguous and dup-id faults", function()
    for _, spec in ipairs{"ambiguous=2", "ambiguous=0.5:600", "ambiguous=0.5:", "dup-id=0.5:2s",
      "dup-id=x", "ambiguous=0.6,dup-id=0.6", "500=0.5,ambiguous=0.6"} do
      assert.has_error(function()
        local p = process.start(env.bin("pushpull-emulator"), {"--port", "0", "--inject", spec},
          {timeout = 3})
        p:stop()
      end, nil, spec)
    end
  end)
end)
