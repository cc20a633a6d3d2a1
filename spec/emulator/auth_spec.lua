-- Basic auth: missing or wrong credentials give 401 with an empty body;
-- one user cannot see another's jobs.
local http = require("support.http")
local fixture = require("support.fixture")

describe("emulator: auth", function()
  local ctx = fixture.servers{args = {"--user", "alice:secret1", "--user", "bob:secret2"}}
  local emu, job

  setup(function()
    emu = ctx.emu
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      user = "alice", password = "secret1",
      body = {source = "google_search", query = "shoes"}})
    job = http.json(res, 202)
  end)

  local calls = {
    {"POST", "/v1/queries", {source = "google_search", query = "x"}},
    {"POST", "/v1/queries/batch", {source = "google_search", query = {"x"}}},
    {"GET", "/v1/queries/1234567890123456789"},
    {"GET", "/v1/queries/1234567890123456789/results"},
    {"GET", "/v1/info/callbacker_ips"},
    {"GET", "/v1/schedules"},
  }

  for _, call in ipairs(calls) do
    it("answers " .. call[1] .. " " .. call[2] .. " without credentials with 401 and no body", function()
      local res = assert(emu:request{method = call[1], path = call[2], user = false, body = call[3]})
      assert.equal(401, res.status)
      assert.equal("", res.body)
    end)
  end

  it("answers a wrong password or an unknown user with 401 and no body", function()
    for _, cred in ipairs{{"alice", "wrong"}, {"carol", "secret1"}, {"alice", ""}, {"", ""}} do
      local res = assert(emu:request{path = "/v1/queries/" .. job.id,
        user = cred[1], password = cred[2]})
      assert.equal(401, res.status, cred[1] .. ":" .. cred[2])
      assert.equal("", res.body)
    end
  end)

  it("refuses malformed Authorization headers with 401", function()
    for _, value in ipairs{"Basic", "Basic !!!notbase64", "Bearer abc", "Basic " .. "YWxpY2U="} do
      local res = assert(emu:request{path = "/v1/queries/" .. job.id, user = false,
        headers = {Authorization = value}})
      assert.equal(401, res.status, value)
    end
  end)

  it("shows a job to its owner", function()
    local res = assert(emu:request{path = "/v1/queries/" .. job.id,
      user = "alice", password = "secret1"})
    assert.equal(job.id, http.json(res, 200).id)
  end)

  it("answers 404 when another user asks for the job or its results", function()
    local res = assert(emu:request{path = "/v1/queries/" .. job.id,
      user = "bob", password = "secret2"})
    assert.equal(404, res.status)
    res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results",
      user = "bob", password = "secret2"})
    assert.equal(404, res.status)
    res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results/1/content",
      user = "bob", password = "secret2"})
    assert.equal(404, res.status)
  end)

  it("gives each user a client_id of their own", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      user = "bob", password = "secret2", body = {source = "google_search", query = "x"}})
    local bobs = http.json(res, 202)
    assert.not_equal(job.client_id, bobs.client_id)
  end)
end)
