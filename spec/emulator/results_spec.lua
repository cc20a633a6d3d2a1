-- Results: raw, parsed, png and markdown; 204 while pending; one page's
-- content; real fetches of the test site; faulted jobs.
local http = require("support.http")
local fixture = require("support.fixture")
local contract = require("support.contract")

describe("emulator: results", function()
  local ctx = fixture.servers{site = true}
  local emu, s
  setup(function()
    emu, s = ctx.emu, ctx.site
  end)

  local function only_result(res, rtype)
    local doc = http.json(res, 200)
    assert.equal(1, #doc.results)
    local r = doc.results[1]
    if rtype then
      assert.equal(rtype, r.type)
    end
    return r
  end

  it("serves the fetched page as raw content with the target's status", function()
    local job = emu:submit{source = "universal", url = s:page_url(3)}
    local r = only_result(emu:results(job.id, "raw"), "raw")
    assert.equal(job.id, r.job_id)
    assert.equal(1, r.page)
    assert.equal(s:page_url(3), r.url)
    assert.equal(200, r.status_code)
    assert.is_true(contract.is_timestamp(r.created_at))
    assert.is_true(contract.is_timestamp(r.updated_at))
    local page = assert(http.request{url = s:page_url(3)}).body
    assert.equal(page, r.content)
  end)

  it("serves raw content when no type is asked for", function()
    local job = emu:submit{source = "universal", url = s:page_url(4)}
    local r = only_result(emu:results(job.id))
    assert.equal("string", type(r.content))
    assert.truthy(r.content:find("<title>Page 4</title>", 1, true))
  end)

  it("lands the target's 404 in the result", function()
    local job = emu:submit{source = "universal", url = s:status_url(404)}
    local done = emu:wait_status(job.id, nil, 10)
    assert.equal("done", done.status)
    local r = only_result(emu:results(job.id, "raw"))
    assert.equal(404, r.status_code)
    assert.truthy(r.content:find("404", 1, true))
  end)

  it("parses the page into its title and links", function()
    local job = emu:submit{source = "universal", url = s:page_url(7), parse = true}
    local r = only_result(emu:results(job.id, "parsed"), "parsed")
    assert.equal("table", type(r.content))
    assert.equal("Page 7", r.content.title)
    assert.equal(12000, r.content.parse_status_code)
    local next_link
    for _, l in ipairs(r.content.links) do
      assert.equal("string", type(l.href))
      assert.equal("string", type(l.text))
      if l.text == "Next" then next_link = l end
    end
    assert.is_true(#r.content.links >= 4)
    assert.truthy(next_link, "a Next link")
    assert.truthy(next_link.href:match("/page/8$"), next_link.href)
  end)

  it("renders a PNG, base64-encoded, with a valid signature and IHDR", function()
    local job = emu:submit{source = "universal", url = s:page_url(8), render = "png"}
    local r = only_result(emu:results(job.id, "png"), "png")
    local info, why = contract.png_info(r.content)
    assert.truthy(info, why)
    assert.is_true(info.width > 0 and info.height > 0)
    assert.is_true(info.depth == 8 or info.depth == 16 or info.depth < 8)
    assert.is_true(info.has_iend, "ends with IEND")
  end)

  it("converts the page to markdown", function()
    local job = emu:submit{source = "universal", url = s:page_url(9)}
    local r = only_result(emu:results(job.id, "markdown"), "markdown")
    assert.equal("string", type(r.content))
    assert.truthy(r.content:find("Page 9", 1, true))
    assert.falsy(r.content:find("<h1>", 1, true))
    assert.falsy(r.content:find("<html", 1, true))
  end)

  it("serves xhr results and one result per type for a comma list", function()
    local job = emu:submit{source = "universal", url = s:page_url(12)}
    local xhr = http.json(emu:results(job.id, "xhr"), 200)
    assert.is_true(#xhr.results >= 1)
    assert.equal(job.id, xhr.results[1].job_id)
    local both = http.json(emu:results(job.id, "raw,parsed"), 200).results
    assert.equal(2, #both)
    local by_type = {}
    for _, r in ipairs(both) do by_type[r.type] = r end
    assert.equal("string", type(by_type.raw.content))
    assert.equal("Page 12", by_type.parsed.content.title)
  end)

  it("synthesizes a page for query sources, mentioning the query", function()
    local job = emu:submit{source = "google_search", query = "blue widgets"}
    local r = only_result(emu:results(job.id, "raw"))
    assert.equal(200, r.status_code)
    assert.equal("string", type(r.content))
    assert.truthy(r.content:find("blue widgets", 1, true))
  end)

  it("serves one page's content without the JSON wrapper", function()
    local job = emu:submit{source = "universal", url = s:page_url(10)}
    emu:wait_status(job.id, "done", 10)
    local whole = only_result(assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"}))
    local res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results/1/content"})
    assert.equal(200, res.status)
    assert.equal(whole.content, res.body)
    local missing = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results/2/content"})
    assert.equal(404, missing.status)
  end)

  it("marks an unreachable target's job faulted with status code 613", function()
    local job = emu:submit{source = "universal", url = "http://127.0.0.1:1/nothing"}
    local done = emu:wait_status(job.id, nil, 20)
    assert.equal("faulted", done.status)
    local res = emu:results(job.id, "raw")
    assert.equal(200, res.status)
    assert.equal("faulted", res.headers["x-oxylabs-job-status"])
    local r = only_result(res)
    assert.equal("", r.content)
    assert.equal(613, r.status_code)
  end)
end)

describe("emulator: results of pending jobs", function()
  local ctx = fixture.servers{site = true, args = {"--job-time", "2s"}}
  local emu, s
  setup(function()
    emu, s = ctx.emu, ctx.site
  end)

  it("answers 204 with x-oxylabs-job-status: pending until the job ends", function()
    local job = emu:submit{source = "universal", url = s:page_url(11)}
    local res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
    assert.equal(204, res.status)
    assert.equal("", res.body)
    assert.equal("pending", res.headers["x-oxylabs-job-status"])
    for _, t in ipairs{"raw", "parsed", "png", "markdown"} do
      res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results?type=" .. t})
      assert.equal(204, res.status)
    end
    assert.equal("pending", emu:job(job.id).status)
    local done = emu:wait_status(job.id, "done", 6)
    assert.equal("done", done.status)
    res = assert(emu:request{path = "/v1/queries/" .. job.id .. "/results"})
    assert.equal(200, res.status)
    assert.truthy(http.json(res).results[1].content:find("Page 11", 1, true))
  end)
end)
