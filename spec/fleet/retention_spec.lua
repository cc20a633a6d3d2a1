-- What a journal keeps, and for how long: pushpull.new{retention} gives
-- the finished jobs a fleet handed out (and their submissions) an expiry
-- in Redis -- never the pending ones, nor those not handed out -- and
-- client:forget{tag} drops a tag at once, refusing while a job of it is
-- not handed out unless forced; the same option and call on an SQLite
-- journal.
local h = require("support.client")
local redis = require("support.redis")
local pushpull = require("pushpull")
local socket = require("socket")

-- The PTTL of each of the tag's jobs (ms; -1 kept forever).
local function pttls(server, c, tag)
  local out = {}
  for _, e in ipairs(assert(c:jobs{tag = tag})) do
    out[#out + 1] = tonumber(server:command("PTTL", ("pp:{%s}:job:%d"):format(tag, e.key)))
  end
  return out
end

local function take_all(c, tag, n)
  local got = 0
  for _ in c:completed{tag = tag, timeout = 30} do
    got = got + 1
  end
  assert.equal(n, got)
end

describe("retention", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("is checked by pushpull.new", function()
    for _, bad in ipairs{0, -1, "1", true, 0 / 0, math.huge} do
      assert.has_error(function()
        pushpull.new(h.options(ctx.emu, {journal = server.url, retention = bad}))
      end, "pushpull: pushpull.new: options.retention must be a number of seconds >= 0.001, or false")
    end
    local c = h.client(ctx.emu, {journal = server.url, retention = false})
    c:close()
  end)

  it("expires finished jobs once handed out, never pending ones", function()
    local c = h.client(ctx.emu, {journal = server.url, retention = 60})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 10, 5)},
      {tag = "r-done"}))
    -- recorded and pending, or finished and not handed out: kept
    for _, t in ipairs(pttls(server, c, "r-done")) do
      assert.equal(-1, t)
    end
    take_all(c, "r-done", 5)
    for _, t in ipairs(pttls(server, c, "r-done")) do
      assert.is_true(t > 55000 and t <= 60000, "PTTL " .. t)
    end
    assert.equal(5, #assert(c:jobs{tag = "r-done"}))
    c:close()
  end)

  it("keeps everything with retention = false", function()
    local c = h.client(ctx.emu, {journal = server.url, retention = false})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 20, 3)},
      {tag = "r-forever"}))
    take_all(c, "r-forever", 3)
    assert.same({-1, -1, -1}, pttls(server, c, "r-forever"))
    c:close()
  end)

  it("lists nothing of what expired, and leaves no set members behind", function()
    local c = h.client(ctx.emu, {journal = server.url, retention = 0.3})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 30, 4)},
      {tag = "r-short"}))
    take_all(c, "r-short", 4)
    socket.sleep(0.5)
    assert.same({}, assert(c:jobs{tag = "r-short"}))
    assert.equal("0", server:command("SCARD", "pp:{r-short}:jobs"))
    assert.equal("0", server:command("ZCARD", "pp:{r-short}:subs"))
    assert.equal("0", server:command("ZCARD", "pp:{r-short}:exp"))
    local batch, lost = assert(c:resume{tag = "r-short", all = true})
    assert.equal(0, batch:size())
    assert.same({}, lost)
    c:close()
  end)
end)

describe("retention of an SQLite journal", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}

  it("deletes the finished jobs handed out, and keeps the others", function()
    local dir = h.tmpdir()
    local c = h.client(ctx.emu, {journal = dir .. "/jobs.db", retention = 0.3})
    local batch = assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 80, 4)},
      {tag = "s-short"}))
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 90, 2)},
      {tag = "s-unhanded"}))
    local n = 0
    for _ in batch:completed{timeout = 30} do
      n = n + 1
    end
    assert.equal(4, n)
    assert.equal(4, #assert(c:jobs{tag = "s-short"}))
    socket.sleep(0.5)
    assert.same({}, assert(c:jobs{tag = "s-short"}))
    assert.equal(2, #assert(c:jobs{tag = "s-unhanded"}))
    c:close()
    h.rmdir(dir)
  end)
end)

describe("client:forget", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  local function keys(tag)
    return server:command("KEYS", "pp:{" .. tag .. "}:*")
  end

  it("drops a tag once every job of it was handed out", function()
    local c = h.client(ctx.emu, {journal = server.url})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 40, 5)},
      {tag = "f-one"}))
    local ok, err = c:forget{tag = "f-one"}
    assert.is_nil(ok)
    assert.matches("jobs of the tag are pending or not handed out yet", tostring(err))
    assert.equal(5, #assert(c:jobs{tag = "f-one"}))
    take_all(c, "f-one", 5)
    assert.is_true(c:forget{tag = "f-one"})
    assert.equal("", keys("f-one"))
    assert.same({}, assert(c:jobs{tag = "f-one"}))
    c:close()
  end)

  it("checks its options", function()
    local c = h.client(ctx.emu, {journal = server.url})
    assert.has_error(function() c:forget{tag = 1} end)
    assert.has_error(function() c:forget{tags = "x"} end)
    c:close()
  end)

  it("drops a tag of an SQLite journal too", function()
    local dir = h.tmpdir()
    local c = h.client(ctx.emu, {journal = dir .. "/jobs.db"})
    local batch = assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 60, 3)},
      {tag = "f-sqlite"}))
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 70, 2)},
      {tag = "f-kept"}))
    local ok, err = c:forget{tag = "f-sqlite"}
    assert.is_nil(ok)
    assert.matches("3 jobs of the tag are pending or not handed out yet", tostring(err))
    local n = 0
    for _ in batch:completed{timeout = 30} do
      n = n + 1
    end
    assert.equal(3, n)
    assert.is_true(c:forget{tag = "f-sqlite"})
    assert.same({}, assert(c:jobs{tag = "f-sqlite"}))
    assert.equal(2, #assert(c:jobs{tag = "f-kept"}))
    c:close()
    h.rmdir(dir)
  end)
end)

describe("pending jobs", function()
  local ctx = h.context{args = {"--job-time", "60s"}}
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("never expire, and are forgotten only when forced", function()
    local c = h.client(ctx.emu, {journal = server.url, retention = 0.2})
    assert(c:submit({source = "universal", url = ctx.site:page_url(1)}, {tag = "p-kept"}))
    socket.sleep(0.4)
    local e = assert(c:jobs{tag = "p-kept"})
    assert.equal(1, #e)
    assert.equal("pending", e[1].status)
    assert.same({-1}, pttls(server, c, "p-kept"))
    local ok, err = c:forget{tag = "p-kept"}
    assert.is_nil(ok)
    assert.matches("1 jobs of the tag are pending or not handed out yet", tostring(err))
    assert.equal(1, #assert(c:jobs{tag = "p-kept"}))
    assert.is_true(c:forget{tag = "p-kept", force = true})
    assert.equal("", server:command("KEYS", "pp:{p-kept}:*"))
    c:close()
  end)
end)
