-- Command-line flags: job durations, workers, bind address, bad values.
local http = require("support.http")
local emulator = require("support.emulator")
local env = require("support.env")
local process = require("support.process")
local socket = require("socket")

local query = {source = "google_search", query = "timing"}

describe("emulator: flags", function()
  it("runs jobs for --job-time 300ms: pending first, done after", function()
    local emu = emulator.start{"--job-time", "300ms"}
    finally(function() emu:stop() end)
    local t0 = socket.gettime()
    local job = emu:submit(query)
    local res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
    assert.equal(204, res.status)
    emu:wait_status(job.id, "done", 5)
    assert.is_true(socket.gettime() - t0 >= 0.25, "took the job time")
  end)

  it("takes uniform and lognormal job times", function()
    for _, spec in ipairs{"uniform:50ms:200ms", "lognormal:100ms:0.3"} do
      local emu = emulator.start{"--job-time", spec, "--seed", "7"}
      finally(function() emu:stop() end)
      local jobs = emu:submit_batch{source = "google_search", query = {"a", "b", "c"}}
      for _, job in ipairs(jobs) do
        assert.equal("done", emu:wait_status(job.id, nil, 10).status, spec)
      end
    end
  end)

  it("finishes every job with a single worker", function()
    local emu = emulator.start{"--workers", "1"}
    finally(function() emu:stop() end)
    local values = {}
    for i = 1, 20 do values[i] = "w" .. i end
    local jobs = emu:submit_batch{source = "google_search", query = values}
    for _, job in ipairs(jobs) do
      assert.equal("done", emu:wait_status(job.id, nil, 10).status)
    end
    assert.equal(20, emu:stats().jobs.done)
  end)

  it("listens on the --bind address it prints", function()
    local emu = emulator.start{"--bind", "127.0.0.1"}
    finally(function() emu:stop() end)
    assert.matches("^http://127%.0%.0%.1:%d+$", emu.url)
    local res = assert(http.request{url = emu.url .. "/v1/info/callbacker_ips",
      user = "user", password = "pass1"})
    assert.equal(200, res.status)
  end)

  it("refuses bad flag values instead of starting", function()
    for _, args in ipairs{
      {"--job-time", "soon"},
      {"--fault-rate", "2"},
      {"--inject", "429=x"},
      {"--user", "nopassword"},
      {"--no-such-flag"},
    } do
      local argv = {"--port", "0"}
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      assert.has_error(function()
        local p = process.start(env.bin("pushpull-emulator"), argv, {timeout = 3})
        p:stop()
      end, nil, table.concat(args, " "))
    end
  end)
end)
