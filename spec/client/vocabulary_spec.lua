-- job.status speaks the service's words (submitting, pending, done,
-- faulted) and the client's (unknown, rejected, expired, failed), never an
-- internal step of the core; job.fetched and job.results_path say whether
-- and where the results are; job:refresh() is the one call that asks the
-- service now, and job.status is a plain field (no call on strings).
local h = require("support.client")
local core = require("pushpull.core")
local pushpull = require("pushpull")
local states = require("pushpull.states")

local WORDS = {}
for _, w in ipairs(pushpull.statuses) do WORDS[w] = true end

describe("job status words", function()
  local ctx = h.context{}

  it("have a word for every state of the core, and only the documented words", function()
    assert.equal(8, #pushpull.statuses)
    for s = 0, core.STATE_COUNT - 1 do
      assert.is_true(WORDS[states.word(s)], "state " .. tostring(core.states[s]))
    end
    assert.equal("submitting", states.word(core.NEW))
    assert.equal("done", states.word(core.FETCHING))
    assert.equal("done", states.word(core.FETCHED))
    if core.FAILED then
      assert.equal("failed", states.word(core.FAILED))
    end
  end)

  it("are the only ones a job shows on its way, from submission to results", function()
    local seen = {}
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(5)})
    seen[job.status] = true
    assert.is_true(job:wait{timeout = 20})
    seen[job.status] = true
    assert.equal("done", job.status)
    assert.is_true(job.fetched)
    assert.equal("done", assert(job:refresh()))
    for w in pairs(seen) do
      assert.is_true(WORDS[w], w)
    end
  end)

  it("say done without fetched when the client polls the status only", function()
    local c = h.client(ctx.emu, {poll = {first = 0.02, min = 0.02, max = 0.2, fetch = false}})
    local batch = assert(c:submit_batch{source = "universal", url = {ctx.site:page_url(1), ctx.site:page_url(2)}})
    local n = 0
    for job in batch:completed{timeout = 20} do
      n = n + 1
      assert.equal("done", job.status)
      assert.is_false(job.fetched)
      assert.is_nil(job.results_path)
      assert.equal(1, #assert(job:results()))
    end
    assert.equal(2, n)
    c:close()
  end)

  it("are a user's own test: `job.status == \"done\"` counts every finished job", function()
    local urls = {}
    for i = 1, 30 do urls[i] = ctx.site:page_url(i) end
    local batch = assert(ctx.client:submit_batch{source = "universal", url = urls})
    local done = 0
    for job in batch:completed{timeout = 30} do
      if job.status == "done" then done = done + 1 end
    end
    assert.equal(30, done)
  end)

  it("are plain fields: no call on strings, one call that asks the service", function()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(6)})
    assert.is_string(rawget(job, "status"))
    assert.is_nil(job.check)
    assert.is_nil(getmetatable("").__call)
    assert.has_error(function() return job:status() end)
    local j = assert(ctx.client:job("1234567890123456789"))
    local status, err = j:refresh()
    assert.is_nil(status)
    assert.equal(404, err.status)
    assert.equal("expired", j.status)
  end)

  it("come with results_path when results go to a folder", function()
    local dir = h.tmpdir()
    local job = assert(ctx.client:submit({source = "universal", url = ctx.site:page_url(8)}, {results_dir = dir}))
    assert.is_true(job:wait{timeout = 20})
    assert.is_true(job.fetched)
    assert.equal(dir .. "/" .. job.id .. ".json", job.results_path)
    assert.equal(8, h.page_number(assert(job:results())[1].content))
    h.rmdir(dir)
  end)

  it("show only public fields on a job and a client", function()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(9)})
    assert.is_true(job:wait{timeout = 20})
    local public = {id = true, status = true, fetched = true, results_path = true}
    for k in pairs(job) do
      if type(k) == "string" then
        assert.is_true(public[k], "job." .. k)
      end
    end
    for k in pairs(ctx.client) do
      assert.is_true(k == "base_url" or k == "options" or k == "schedules", "client." .. tostring(k))
    end
    assert.is_nil(ctx.client.options.password)
  end)
end)
