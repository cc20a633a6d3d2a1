-- Rate limits, result retention and the request body cap.
local http = require("support.http")
local emulator = require("support.emulator")
local contract = require("support.contract")
local socket = require("socket")

describe("emulator: rate limit", function()
  local emu

  before_each(function()
    emu = emulator.start{"--rate-limit", "5"}
  end)

  after_each(function()
    if emu then emu:stop() end
  end)

  local function submit()
    return assert(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "google_search", query = "q"}})
  end

  it("sends x-ratelimit-jobs-limit and -remaining on submissions", function()
    local res = submit()
    assert.equal(202, res.status)
    assert.equal("5", res.headers["x-ratelimit-jobs-limit"])
    local first = tonumber(res.headers["x-ratelimit-jobs-remaining"])
    assert.is_not_nil(first)
    assert.is_true(first >= 0 and first <= 4)
    res = submit()
    local second = tonumber(res.headers["x-ratelimit-jobs-remaining"])
    assert.is_not_nil(second)
    assert.is_true(second <= first or res.status ~= 202)
    assert.is_nil(res.headers["retry-after"])
  end)

  it("answers 429 with a JSON message once the budget is spent", function()
    local statuses = {}
    local limited
    for _ = 1, 15 do
      local res = submit()
      statuses[#statuses + 1] = res.status
      if res.status == 429 then
        limited = res
        break
      end
    end
    assert.truthy(limited, "a 429 among " .. table.concat(statuses, ","))
    assert.equal("string", type(http.json(limited).message))
    assert.is_not_nil(limited.headers["x-ratelimit-jobs-remaining"])
    assert.equal("0", limited.headers["x-ratelimit-jobs-remaining"])
  end)

  it("refuses a batch larger than the budget whole, creating no job", function()
    local before = emu:stats().jobs_created
    local values = {}
    for i = 1, 8 do values[i] = "kw" .. i end
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = values}})
    assert.equal(429, res.status)
    assert.equal("string", type(http.json(res).message))
    assert.equal(before, emu:stats().jobs_created)
  end)

  it("does not limit status and result reads", function()
    local job = http.json(submit(), 202)
    for _ = 1, 12 do submit() end
    for _ = 1, 20 do
      assert.equal(200, assert(emu:request{path = "/v1/queries/" .. job.id}).status)
    end
  end)

  it("refills the budget after a second", function()
    for _ = 1, 8 do submit() end
    socket.sleep(1.2)
    assert.equal(202, submit().status)
  end)
end)

describe("emulator: no rate limit", function()
  it("accepts every submission with --rate-limit 0", function()
    local emu = emulator.start{"--rate-limit", "0"}
    finally(function() emu:stop() end)
    for _ = 1, 30 do
      local res = assert(emu:request{method = "POST", path = "/v1/queries",
        body = {source = "google_search", query = "q"}})
      assert.equal(202, res.status)
    end
    assert.equal(30, emu:stats().jobs_created)
  end)
end)

describe("emulator: retention", function()
  it("forgets results after --retention seconds", function()
    local emu = emulator.start{"--retention", "1"}
    finally(function() emu:stop() end)
    local job = emu:submit{source = "google_search", query = "short-lived"}
    local res = emu:results(job.id, "raw")
    assert.equal(200, res.status)
    local gone = contract.eventually(function()
      local r = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
      return r.status ~= 200 and r
    end, 4, 0.1)
    assert.truthy(gone, "results expire")
    assert.equal(404, gone.status)
    assert.equal(404, assert(emu:request{path = "/v1/queries/" .. job.id}).status)
  end)
end)

describe("emulator: body size cap", function()
  it("answers 413 over --max-body and accepts bodies under it", function()
    local emu = emulator.start{"--max-body", "1024"}
    finally(function() emu:stop() end)
    local small = assert(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "google_search", query = "fits"}})
    assert.equal(202, small.status)
    local before = emu:stats().jobs_created
    local big_body = http.encode{source = "google_search", query = ("x"):rep(4000)}
    -- A declared length over the cap: answered before the body is sent.
    local declared = assert(http.raw("127.0.0.1", emu.port,
      "POST /v1/queries HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      .. "Authorization: " .. http.basic_auth("user", "pass1") .. "\r\n"
      .. "Content-Type: application/json\r\nContent-Length: " .. #big_body .. "\r\n"
      .. "Expect: 100-continue\r\nConnection: close\r\n\r\n"))
    assert.equal(413, declared.status)
    assert.truthy(declared.headers["content-type"]:find("application/json", 1, true))
    -- A chunked body that grows over the cap: answered once it is read.
    local chunked = assert(emu:request{method = "POST", path = "/v1/queries",
      headers = {["Content-Type"] = "application/json"}, body = big_body, chunked = true})
    assert.equal(413, chunked.status)
    assert.equal("string", type(http.json(chunked).message))
    assert.equal(before, emu:stats().jobs_created)
  end)
end)
