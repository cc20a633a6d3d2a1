-- Batch submission: one job per value, in order, up to 5,000 values, and
-- the provider's own keywords.json samples.
local http = require("support.http")
local fixture = require("support.fixture")
local contract = require("support.contract")

local function keywords(n, prefix)
  local list = {}
  for i = 1, n do
    list[i] = (prefix or "kw") .. i
  end
  return list
end

describe("emulator: batches", function()
  local ctx = fixture.servers()
  local emu, host
  setup(function()
    emu, host = ctx.emu, ctx.host
  end)

  it("creates one job per value, in the order given", function()
    local values = {"adidas", "nike", "reebok", "puma"}
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = values, domain = "de"}})
    local jobs = http.json(res, 202).queries
    assert.equal(#values, #jobs)
    local ids = {}
    for i, job in ipairs(jobs) do
      assert.equal(values[i], job.query)
      assert.equal("de", job.domain)
      assert.equal("google_search", job.source)
      assert.is_true(contract.check_job(job, host))
      assert.is_nil(ids[job.id], "ids are unique")
      ids[job.id] = true
    end
    for _, job in ipairs(jobs) do
      assert.equal("pending", job.status)
      local got = emu:job(job.id)
      assert.equal(job.id, got.id)
    end
  end)

  it("takes url lists the same way", function()
    local urls = {"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}
    local jobs = emu:submit_batch{source = "universal", url = urls}
    assert.equal(2, #jobs)
    assert.equal(urls[1], jobs[1].url)
    assert.equal(urls[2], jobs[2].url)
  end)

  it("accepts 5,000 values in one batch", function()
    local before = emu:stats().jobs_created
    local values = keywords(5000)
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = values}, timeout = 30})
    local jobs = http.json(res, 202).queries
    assert.equal(5000, #jobs)
    assert.equal("kw1", jobs[1].query)
    assert.equal("kw5000", jobs[5000].query)
    assert.equal(before + 5000, emu:stats().jobs_created)
  end)

  it("refuses 5,001 values with 400, creating no job", function()
    local before = emu:stats().jobs_created
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = keywords(5001)}, timeout = 30})
    assert.equal(400, res.status)
    assert.equal("string", type(http.json(res).message))
    assert.equal(before, emu:stats().jobs_created)
  end)

  it("refuses a batch with both a query and a url list, naming the parameter", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = {"a", "b"}, url = {"http://x/1", "http://x/2"}}})
    assert.equal(400, res.status)
    local msg = http.json(res).message
    assert.is_truthy(msg:find("query", 1, true) or msg:find("url", 1, true), msg)
  end)

  it("refuses a list for any other field, naming it", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", query = {"a", "b"}, domain = {"com", "de"}}})
    assert.equal(400, res.status)
    local msg = http.json(res).message
    assert.is_truthy(msg:find("domain", 1, true), msg)
  end)

  it("refuses a batch without a list of values", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      body = {source = "google_search", domain = "com"}})
    assert.equal(400, res.status)
    assert.equal("string", type(http.json(res).message))
  end)

  it("accepts the provider's keywords.json query sample unchanged", function()
    local body = [[
{
  "query": [
    "adidas",
    "nike",
    "reebok"
  ],
  "source": "google_search",
  "domain": "com",
  "callback_url": "https://your.callback.url"
}
]]
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      headers = {["Content-Type"] = "application/json"}, body = body})
    local jobs = http.json(res, 202).queries
    assert.equal(3, #jobs)
    for i, q in ipairs{"adidas", "nike", "reebok"} do
      assert.equal(q, jobs[i].query)
      assert.equal("google_search", jobs[i].source)
      assert.equal("com", jobs[i].domain)
      assert.equal("https://your.callback.url", jobs[i].callback_url)
      local results = contract.link(jobs[i], "results")
      assert.equal("http://" .. host .. "/v1/queries/" .. jobs[i].id .. "/results", results.href)
      assert.equal("GET", results.method)
    end
  end)

  it("accepts the provider's keywords.json url sample unchanged", function()
    local body = [[
{
  "url": [
    "https://example.com/url1.html",
    "https://example.com/url2.html",
    "https://example.com/url3.html"
  ],
  "source": "google_search",
  "callback_url": "https://your.callback.url"
}
]]
    local res = assert(emu:request{method = "POST", path = "/v1/queries/batch",
      headers = {["Content-Type"] = "application/json"}, body = body})
    local jobs = http.json(res, 202).queries
    assert.equal(3, #jobs)
    for i = 1, 3 do
      assert.equal("https://example.com/url" .. i .. ".html", jobs[i].url)
      assert.equal("https://your.callback.url", jobs[i].callback_url)
    end
  end)
end)
