-- The journal on Redis: pushpull.new{journal = "redis://..."} records
-- through the same calls as the SQLite journal (jobs, resume, claims).
local h = require("support.client")
local redis = require("support.redis")
local pushpull = require("pushpull")

describe("a journal on Redis", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("records a batch, lists it and hands each job out once", function()
    local dir = h.tmpdir()
    local c = h.client(ctx.emu, {journal = server.url})
    local batch = assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 0, 20)},
      {results_dir = dir, tag = "t1"}))
    local n = 0
    for job in batch:completed{timeout = 30} do
      assert.equal("done", job.status)
      n = n + 1
    end
    assert.equal(20, n)
    local all = assert(c:jobs{tag = "t1"})
    assert.equal(20, #all)
    for _, e in ipairs(all) do
      assert.equal("done", e.status)
      assert.is_true(e.handed)
      assert.equal(dir .. "/" .. e.id .. ".json", e.results_path)
      assert.equal("t1", e.tag)
      assert.matches("/page/", e.params.url)
    end
    c:close()
    -- another client of the same store finds nothing left to hand out
    local other = h.client(ctx.emu, {journal = server.url})
    local rest = assert(other:resume{tag = "t1"})
    assert.equal(0, rest:size())
    other:close()
    h.rmdir(dir)
  end)

  it("sends nothing it could not record when Redis is gone", function()
    local gone = redis.start()
    local c = h.client(ctx.emu, {journal = gone.url})
    gone:stop()
    local function seen()
      local n = 0
      for url in pairs(h.values(ctx.emu).url) do
        n = n + (url:match("/page/50%d$") and 1 or 0)
      end
      return n
    end
    -- the client has not noticed yet: the record fails (within the
    -- command's timeout) when the request would leave, and nothing leaves
    local batch, err = c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 500, 5)})
    assert.is_nil(batch)
    assert.matches("redis", tostring(err))
    -- now it knows: a submission is refused at once
    local t0 = require("socket").gettime()
    local job, err2 = c:submit{source = "universal", url = ctx.site:page_url(509)}
    assert.is_nil(job)
    assert.matches("Redis store cannot be reached", tostring(err2))
    assert.is_true(require("socket").gettime() - t0 < 1)
    assert.equal(0, seen())
    c:close()
  end)

  it("raises for client:completed without a Redis journal", function()
    local c = h.client(ctx.emu)
    assert.has_error(function() c:completed{tag = "t"} end,
      "pushpull: client:completed: needs a journal on Redis (pushpull.new{journal = \"redis://...\"})")
    c:close()
  end)

  it("refuses a URL it cannot use, naming why", function()
    local c, err = pushpull.new(h.options(ctx.emu, {journal = "redis://127.0.0.1:1?db=1"}))
    assert.is_nil(c)
    assert.matches("no query or fragment is understood", tostring(err))
  end)
end)
