-- The client against what it must not trust or lose: forged callbacks from
-- an allowed sender, and result folders that cannot be written. Each runs
-- against the real emulator; requests are counted there.
local cjson = require("cjson")
local h = require("support.client")
local files = require("support.files")

local RESULTS = "GET /v1/queries/{id}/results"
local STATUS = "GET /v1/queries/{id}"

local function page_urls(site, n)
  local urls = {}
  for i = 1, n do
    urls[i] = site:page_url(i)
  end
  return urls
end

local function requests(emu)
  return emu:stats().requests
end

-- A job object as a forger would post it: the real id, a status of its
-- choosing, and links that lead elsewhere.
local function forged(id, status)
  return cjson.encode{
    id = id, status = status, client_notes = "forged",
    _links = {{rel = "results", href = "http://evil.example/v1/queries/" .. id .. "/results",
               method = "GET"}},
  }
end

describe("forged callbacks", function()
  local ctx = h.context{args = {"--job-time", "1500ms"}}

  it("cannot make a done job faulted, nor replace what the client knows of it", function()
    local client = h.client(ctx.emu, {poll = {first = 0.5, min = 0.1, max = 0.5}})
    local n = 40
    local batch = assert(client:submit_batch{source = "universal", url = page_urls(ctx.site, n)})
    local before = requests(ctx.emu)
    for _, job in ipairs(batch.jobs) do
      assert.is_true(client:feed_callback(forged(job.id, "faulted")))
    end
    local ended = 0
    for job in batch:completed{timeout = 30} do
      ended = ended + 1
      assert.equal("done", job.status)
      assert.is_true(job.fetched)
      assert.not_equal("forged", job.info.client_notes)
      for _, link in ipairs(job.info._links) do
        assert.is_nil(link.href:find("evil", 1, true))
      end
    end
    assert.equal(n, ended)
    -- each claim cost at most one status request to check it
    local d = requests(ctx.emu)
    assert.is_true((d[STATUS] or 0) - (before[STATUS] or 0) <= n)
    client:close()
  end)

  it("that say done cost one check each, however often they come", function()
    local client = h.client(ctx.emu, {poll = {first = 5, min = 1, max = 5}})
    local n = 20
    local batch = assert(client:submit_batch{source = "universal", url = page_urls(ctx.site, n)})
    local before = requests(ctx.emu)
    for _ = 1, 5 do
      for _, job in ipairs(batch.jobs) do
        assert.is_true(client:feed_callback(forged(job.id, "done")))
      end
    end
    -- drive the client while the checks are answered (the jobs take 1.5 s)
    assert.is_nil(client:wait_all(batch.jobs, {timeout = 0.6}))
    -- the checks said 204: still pending, and no job was taken for done
    local after = requests(ctx.emu)
    assert.equal(n, (after[RESULTS] or 0) - (before[RESULTS] or 0))
    for _, job in ipairs(batch.jobs) do
      assert.equal("pending", job.status)
    end
    assert(client:wait_all(batch.jobs, {timeout = 30}))
    client:close()
  end)

  it("for ids the client never had are answered and kept within bounds", function()
    local client = h.client(ctx.emu)
    local job = assert(client:submit{source = "universal", url = ctx.site:page_url(1)})
    for i = 1, 2000 do
      local ok, err = client:feed_callback(forged("71739572943448" .. (10000 + i), "done"))
      assert.is_nil(ok)
      assert.is_true(err.unknown)
    end
    local ok, err = client:feed_callback(forged("../../etc/passwd", "done"))
    assert.is_nil(ok)
    assert.is_true(err.malformed)
    assert(job:wait{timeout = 20})
    client:close()
  end)
end)

describe("result folders", function()
  local ctx = h.context{args = {"--job-time", "1s"}}

  it("that do not exist refuse the submission, naming the folder", function()
    local client = h.client(ctx.emu)
    local dir = "/nonexistent/pushpull-results"
    local job, err = client:submit({source = "universal", url = ctx.site:page_url(1)},
      {results_dir = dir})
    assert.is_nil(job)
    assert.matches(dir, tostring(err.message), 1, true)
    assert.matches("No such file", tostring(err.message), 1, true)
    client:close()
  end)

  it("that vanish end their jobs failed with the path and the reason", function()
    local client = h.client(ctx.emu)
    local dir = files.tmpdir()
    local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, 5)},
      {results_dir = dir}))
    files.rmdir(dir)
    local failed = 0
    for job in batch:completed{timeout = 20} do
      assert.equal("failed", job.status)
      local err = job:error()
      assert.matches(dir, err.message, 1, true)
      local ok, werr = job:wait{timeout = 1}
      assert.is_nil(ok)
      assert.equal("failed", werr.job_status)
      failed = failed + 1
    end
    assert.equal(5, failed)
    client:close()
  end)

  it("hold each job's results at <dir>/<id>.json and nothing else", function()
    local client = h.client(ctx.emu)
    local dir = files.tmpdir()
    local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, 8)},
      {results_dir = dir}))
    for job in batch:completed{timeout = 20} do
      assert.equal("done", job.status)
      assert.is_true(job.fetched)
      assert.equal(dir .. "/" .. job.id .. ".json", job.results_path)
      local body = assert(files.read(job.results_path))
      assert.equal("table", type(cjson.decode(body).results))
    end
    local names = {}
    for name in io.popen("ls -A " .. dir):lines() do
      names[#names + 1] = name
    end
    assert.equal(8, #names)
    for _, name in ipairs(names) do
      assert.matches("^%d+%.json$", name)
    end
    files.rmdir(dir)
    client:close()
  end)
end)

describe("a host's own callback receiver (pp_callback_request)", function()
  local ctx = h.context{args = {"--job-time", "1s"}}

  it("answers by the listener's rules", function()
    local client = h.client(ctx.emu)
    local job = assert(client:submit{source = "universal", url = ctx.site:page_url(1)})
    local core = require("pushpull.client").host(client).core
    local body = forged(job.id, "done")
    -- no allowlist yet: every sender
    assert.equal(200, (core:callback_request("203.0.113.9", "POST", #body, body)))
    assert(core:listen_allow({"127.0.0.1", "::1"}))
    local st, answer = core:callback_request("203.0.113.9", "POST", #body, body)
    assert.equal(403, st)
    assert.equal("sender not allowed", cjson.decode(answer).message)
    assert.equal(405, (core:callback_request("127.0.0.1", "GET", 0, "")))
    assert.equal(413, (core:callback_request("127.0.0.1", "POST", 2 ^ 21, body)))
    assert.equal(413, (core:callback_request("127.0.0.1", "POST", -1, body, 10)))
    assert.equal(400, (core:callback_request("127.0.0.1", "POST", 5, "{bad}")))
    st, answer = core:callback_request("::ffff:127.0.0.1", "POST", #body, forged("123456789", "done"))
    assert.equal(200, st)
    assert.equal("ignored", cjson.decode(answer).status)
    st, answer = core:callback_request("127.0.0.1", "POST", #body, body)
    assert.equal(200, st)
    assert.equal("ok", cjson.decode(answer).status)
    assert(job:wait{timeout = 20})
    local stats = client:stats()
    assert.equal(3, stats.callbacks_received)
    assert.equal(5, stats.callbacks_rejected)
    client:close()
  end)
end)
