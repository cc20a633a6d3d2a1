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

  it("refuses a URL it cannot use, naming why", function()
    local c, err = pushpull.new(h.options(ctx.emu, {journal = "rediss://127.0.0.1:1"}))
    assert.is_nil(c)
    assert.matches("TLS", tostring(err))
  end)
end)
