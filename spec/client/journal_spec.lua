-- The job journal: every submission, id, end and result file recorded, so
-- a client on the same file picks up what another left (client:resume),
-- lists it (client:jobs) and never sends a submission twice.
local cjson = require("cjson")
local h = require("support.client")
local pushpull = require("pushpull")

local page_urls, values = h.page_urls, h.values

local function ids_of(list)
  local ids = {}
  for _, x in ipairs(list) do
    ids[#ids + 1] = x.id
  end
  table.sort(ids)
  return ids
end

describe("the journal", function()
  local ctx = h.context{}
  local dir
  before_each(function()
    dir = h.tmpdir()
  end)
  after_each(function()
    h.rmdir(dir)
  end)

  it("brings back every job of a client that went away before it fetched them", function()
    local db = dir .. "/jobs.db"
    local a = h.client(ctx.emu, {journal = db})
    local batch = assert(a:submit_batch({source = "universal", url = page_urls(ctx.site, 0, 30)},
      {results_dir = dir, tag = "first"}))
    local submitted = ids_of(batch.jobs)
    a:close() -- as if it died: nothing was waited for or handed out

    local b = h.client(ctx.emu, {journal = db})
    local again, lost = assert(b:resume())
    assert.same({}, lost)
    assert.equal(30, #again)
    assert.same(submitted, ids_of(again.jobs))
    local n = 0
    for job in again:completed{timeout = 30} do
      assert.equal("done", job.status)
      assert.equal(dir .. "/" .. job.id .. ".json", job.results_path)
      local text = assert(h.read_file(job.results_path))
      local body = cjson.decode(text)
      assert.is_number(h.page_number(body.results[1].content))
      n = n + 1
    end
    assert.equal(30, n)
    -- each value was created once: resuming sent nothing again
    local v = values(ctx.emu)
    assert.equal(0, v.created_twice)
    b:close()

    -- everything was handed out: a third client has nothing left, unless
    -- it asks for all
    local c = h.client(ctx.emu, {journal = db})
    local none, lost2 = assert(c:resume())
    assert.equal(0, #none)
    assert.same({}, lost2)
    local all = assert(c:resume{all = true})
    assert.equal(30, #all)
    local got = 0
    for job in all:completed{timeout = 30} do
      assert.equal("done", job.status)
      got = got + 1
    end
    assert.equal(30, got)
    c:close()
  end)

  it("records result folders and files as absolute paths, so a resume may run elsewhere", function()
    -- a folder named relative to the working directory (the checkout)
    local rel = "build/journal-spec-" .. os.time() .. "-" .. math.random(1e6)
    assert(os.execute("mkdir -p " .. rel))
    local a = h.client(ctx.emu, {journal = dir .. "/jobs.db"})
    local batch = assert(a:submit_batch({source = "universal", url = page_urls(ctx.site, 0, 3)},
      {results_dir = rel}))
    assert(a:wait_all(batch, {timeout = 30}))
    local entries = assert(a:jobs())
    assert.equal(3, #entries)
    for _, e in ipairs(entries) do
      assert.equal("done", e.status)
      assert.matches("^/", e.results_path)
      assert.equal("/" .. rel .. "/" .. e.id .. ".json", e.results_path:sub(-#rel - #e.id - 7))
      assert.truthy(h.read_file(e.results_path))
    end
    a:close()
    os.execute("rm -rf " .. rel)
  end)

  it("hands out after a resume only what was not handed out before", function()
    local db = dir .. "/jobs.db"
    local a = h.client(ctx.emu, {journal = db})
    local batch = assert(a:submit_batch({source = "universal", url = page_urls(ctx.site, 100, 20)},
      {results_dir = dir}))
    local given, n = {}, 0
    for job in batch:completed{timeout = 30} do
      given[job.id] = true
      n = n + 1
      if n == 8 then
        break
      end
    end
    a:close()
    local b = h.client(ctx.emu, {journal = db})
    local rest = assert(b:resume())
    for job in rest:completed{timeout = 30} do
      assert.is_nil(given[job.id], "handed out twice: " .. job.id)
      given[job.id] = true
      n = n + 1
    end
    assert.equal(20, n)
    b:close()
  end)

  it("lists its jobs by status and tag, in status words; the tag never reaches the service", function()
    local db = dir .. "/jobs.db"
    local client = h.client(ctx.emu, {journal = db})
    local one = assert(client:submit({source = "universal", url = ctx.site:page_url(500)}, {tag = "single"}))
    local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, 600, 5)},
      {tag = "five"}))
    assert(client:wait_all(batch, {timeout = 30}))
    assert(one:wait{timeout = 30})
    assert.is_nil(one.info.tag)
    local all = assert(client:jobs())
    assert.equal(6, #all)
    for _, e in ipairs(all) do
      assert.truthy(pushpull.statuses[1]) -- a word list exists
      local known = false
      for _, w in ipairs(pushpull.statuses) do
        known = known or w == e.status
      end
      assert.is_true(known, "not a status word: " .. tostring(e.status))
      assert.is_string(e.id)
      assert.equal("universal", e.params.source)
      assert.is_string(e.params.url)
    end
    local five = assert(client:jobs{tag = "five"})
    assert.equal(5, #five)
    for _, e in ipairs(five) do
      assert.equal("five", e.tag)
    end
    assert.equal(6, #assert(client:jobs{status = "done"}))
    assert.equal(0, #assert(client:jobs{status = "pending"}))
    assert.equal(1, #assert(client:jobs{status = "done", tag = "single"}))
    client:close()
  end)

  it("checks its options", function()
    local db = dir .. "/jobs.db"
    assert.has_error(function()
      pushpull.new(h.options(ctx.emu, {journal = 42}))
    end)
    assert.has_error(function()
      pushpull.new(h.options(ctx.emu, {journal = ""}))
    end)
    local client = h.client(ctx.emu, {journal = db})
    assert.has_error(function()
      client:submit({source = "universal", url = "x"}, {tags = "a"})
    end)
    assert.has_error(function()
      client:submit({source = "universal", url = "x"}, {tag = 1})
    end)
    assert.has_error(function()
      client:resume{everything = true}
    end)
    assert.has_error(function()
      client:jobs{status = "fetched"} -- an internal state, not a word
    end)
    assert.has_error(function()
      client:jobs{state = "done"}
    end)
    client:close()
    local plain = h.client(ctx.emu)
    local batch, err = plain:resume()
    assert.is_nil(batch)
    assert.matches("no journal", err.message, 1, true)
    plain:close()
  end)
end)

describe("the journal and lost answers", function()
  local ctx = h.context{args = {"--job-time", "0", "--inject", "ambiguous=1"}}

  it("reports lost submissions with their parameters, once, and never sends them again", function()
    local dir = h.tmpdir()
    local db = dir .. "/jobs.db"
    local a = h.client(ctx.emu, {journal = db, batch_size = 5})
    local urls = page_urls(ctx.site, 0, 10)
    local batch, err = a:submit_batch({source = "universal", url = urls}, {tag = "lost"})
    assert.is_nil(batch)
    assert.equal("unknown", err.batch.jobs[1].status)
    a:close()
    local b = h.client(ctx.emu, {journal = db})
    local again, lost = assert(b:resume())
    assert.equal(0, #again)
    assert.equal(10, #lost)
    local seen = {}
    for _, l in ipairs(lost) do
      assert.equal("unknown", l.status)
      assert.equal("lost", l.tag)
      assert.is_true(l.sent)
      assert.equal("universal", l.params.source)
      seen[l.params.url] = true
    end
    for _, u in ipairs(urls) do
      assert.is_true(seen[u], u)
    end
    -- reported until the caller decides: sent again (once, by one
    -- process) or dismissed
    local _, lost2 = assert(b:resume())
    assert.equal(10, #lost2)
    local again = assert(b:resubmit({lost2[1], lost2[2]}))
    assert.equal(2, #again)
    assert.equal("unknown", again[1].status)
    local no, err2 = b:resubmit({lost2[1]})
    assert.is_nil(no)
    assert.matches("sent again", err2.message, 1, true)
    local _, lost3 = assert(b:resume())
    assert.equal(8 + 2, #lost3) -- the two sent again were lost again (ambiguous=1)
    assert(b:dismiss(lost3))
    local _, lost4 = assert(b:resume())
    assert.equal(0, #lost4)
    b:close()
    local v = values(ctx.emu)
    for i, u in ipairs(urls) do
      -- the two sent again by the caller's choice were created twice
      local twice = u == lost2[1].params.url or u == lost2[2].params.url
      assert.equal(twice and 2 or 1, v.url[u], i)
    end
    h.rmdir(dir)
  end)
end)
