-- Single job submission, job status and the callbacker address list.
local http = require("support.http")
local emulator = require("support.emulator")
local fixture = require("support.fixture")
local contract = require("support.contract")

describe("emulator: single jobs", function()
  local ctx = fixture.servers{site = true}
  local emu, s, host
  setup(function()
    emu, s, host = ctx.emu, ctx.site, ctx.host
  end)

  it("answers a submission with 202 and a pending job object", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "universal", url = s:page_url(1)}})
    local job = http.json(res, 202)
    assert.equal("pending", job.status)
    assert.equal("universal", job.source)
    assert.equal(s:page_url(1), job.url)
    assert.is_true(contract.check_job(job, host))
  end)

  it("gives a 19-digit string id, unique per job", function()
    local raw = assert(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "universal", url = s:page_url(2)}})
    assert.equal(202, raw.status)
    -- a JSON string in the text, not a number that would lose digits
    assert.matches('"id"%s*:%s*"%d+"', raw.body)
    local a = http.json(raw)
    local b = emu:submit{source = "universal", url = s:page_url(2)}
    assert.is_true(contract.is_job_id(a.id))
    assert.is_true(contract.is_job_id(b.id))
    assert.not_equal(a.id, b.id)
  end)

  it("echoes every omitted parameter with its default", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      body = {source = "google_search", query = "adidas"}})
    local job = http.json(res, 202)
    assert.equal("adidas", job.query)
    for key, value in pairs(contract.defaults) do
      assert.are.equal(value, job[key], "default of " .. key)
    end
    assert.is_true(contract.has_empty_list(res.body, "context"), "context is []")
    assert.is_true(contract.has_empty_list(res.body, "statuses"), "statuses is []")
  end)

  it("echoes the parameters that were given", function()
    local job = emu:submit{
      source = "universal", url = s:page_url(3), domain = "de",
      geo_location = "Germany", locale = "de-de", user_agent_type = "mobile",
      render = "html", parse = true, pages = 1, start_page = 2, limit = 20,
      client_notes = "note 1", context = {{key = "follow_redirects", value = true}},
    }
    assert.equal("de", job.domain)
    assert.equal("Germany", job.geo_location)
    assert.equal("de-de", job.locale)
    assert.equal("mobile", job.user_agent_type)
    assert.equal("html", job.render)
    assert.equal(true, job.parse)
    assert.equal(2, job.start_page)
    assert.equal(20, job.limit)
    assert.equal("note 1", job.client_notes)
    assert.same({{key = "follow_redirects", value = true}}, job.context)
  end)

  it("lists the five links with their rels, hrefs on the request's host and GET", function()
    local job = emu:submit{source = "universal", url = s:page_url(4)}
    local want = contract.expected_links(job.id)
    local seen = {}
    for _, l in ipairs(job._links) do
      seen[l.rel] = true
      if want[l.rel] then
        assert.equal("http://" .. host .. want[l.rel], l.href)
        assert.equal("GET", l.method)
      end
    end
    for rel in pairs(want) do
      assert.is_true(seen[rel] == true, "link " .. rel)
    end
  end)

  it("builds link hrefs from the Host header the client sent", function()
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      headers = {Host = "data.example.test:8080"},
      body = {source = "universal", url = s:page_url(4)}})
    local job = http.json(res, 202)
    assert.equal("http://data.example.test:8080/v1/queries/" .. job.id,
      contract.link(job, "self").href)
  end)

  it("reports the job by id, done once it ran, with updated_at as its end", function()
    local job = emu:submit{source = "universal", url = s:page_url(5)}
    local done = emu:wait_status(job.id, "done", 10)
    assert.equal(job.id, done.id)
    assert.equal(s:page_url(5), done.url)
    assert.is_true(contract.check_job(done, host))
    assert.equal(job.created_at, done.created_at)
    assert.is_true(done.updated_at >= done.created_at)
  end)

  it("answers 404 with a JSON message for an unknown job id", function()
    local res = assert(emu:request{path = "/v1/queries/1234567890123456789"})
    assert.equal(404, res.status)
    assert.equal("string", type(http.json(res).message))
    res = assert(emu:request{path = "/v1/queries/1234567890123456789/results"})
    assert.equal(404, res.status)
    assert.equal("string", type(http.json(res).message))
  end)

  it("lists the callbacker addresses, 127.0.0.1 by default", function()
    local res = assert(emu:request{path = "/v1/info/callbacker_ips"})
    assert.same({ips = {"127.0.0.1"}}, http.json(res, 200))
  end)

  it("lists the callbacker addresses given with --callbacker-ip", function()
    local other = emulator.start{"--callbacker-ip", "10.0.0.1", "--callbacker-ip", "10.0.0.2"}
    finally(function() other:stop() end)
    local res = assert(other:request{path = "/v1/info/callbacker_ips"})
    assert.same({ips = {"10.0.0.1", "10.0.0.2"}}, http.json(res, 200))
  end)

  it("accepts Content-Type: application/json on GET and the SDKs' extra headers", function()
    local job = emu:submit{source = "universal", url = s:page_url(6)}
    local res = assert(emu:request{path = "/v1/queries/" .. job.id,
      headers = {["Content-Type"] = "application/json"}})
    assert.equal(200, res.status)
    assert.equal(job.id, http.json(res).id)
    res = assert(emu:request{method = "POST", path = "/v1/queries",
      headers = {["x-oxylabs-sdk"] = "oxylabs-sdk-python/2.0.0 (3.12; 64bit)",
        ["x-oxylabs-sdk-version"] = "2.0.0", ["User-Agent"] = "oxylabs-sdk-go/1.0"},
      body = {source = "universal", url = s:page_url(6)}})
    assert.equal(202, res.status)
    res = assert(emu:request{path = "/v1/info/callbacker_ips",
      headers = {["Content-Type"] = "application/json"}})
    assert.equal(200, res.status)
  end)

  it("accepts the provider's single-job sample unchanged", function()
    local body = '{"source": "google_search", "domain": "com", "query": "adidas"}'
    local res = assert(emu:request{method = "POST", path = "/v1/queries",
      headers = {["Content-Type"] = "application/json"}, body = body})
    local job = http.json(res, 202)
    assert.equal("adidas", job.query)
    assert.equal("google_search", job.source)
    assert.equal("com", job.domain)
  end)
end)
