-- The callback listener in the core (client:listen), against the real
-- emulator, which posts each job to its callback_url when the job ends:
-- jobs end by callback with one results GET each, in the blocking driver,
-- inside pushpull.run and on a luv loop; refused senders and lost callbacks
-- are caught by the safety-net poll; bad requests get 4xx answers and do
-- not disturb the client. Then callbacks the host serves itself
-- (client:expect_callbacks + client:feed_callback).
local cjson = require("cjson")
local h = require("support.client")
local raw_http = require("support.raw_http")
local pushpull = require("pushpull")
local clientmod = require("pushpull.client")

local JOB_TIME = {"--job-time", "uniform:200ms:800ms"}
local RESULTS = "GET /v1/queries/{id}/results"
local STATUS = "GET /v1/queries/{id}"

-- Request counters of the emulator, and what changed since `before`.
local function emu_requests(emu)
  return emu:stats().requests
end

local function delta(before, after)
  local d = {}
  for k, v in pairs(after) do
    d[k] = v - (before[k] or 0)
  end
  return d
end

local function page_urls(site, n, from)
  local urls = {}
  for i = 1, n do
    urls[i] = site:page_url((from or 0) + i)
  end
  return urls
end

-- One step of the client's core (up to ms, the listener served even when
-- nothing else is in flight), its events applied.
local function pump(client, ms)
  local host = clientmod.host(client)
  host.core:wait(ms)
  host:dispatch()
end

-- Sends `text` to the listener while driving the client (the listener only
-- runs when its client is driven); {status, headers, body}.
local function raw(client, port, text, timeout)
  return raw_http.exchange(port, text, function() pump(client, 5) end, timeout or 5)
end

local function post(path, body, extra)
  return ("POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
    .. "Content-Length: %d\r\n%s\r\n%s"):format(path, #body, extra or "", body)
end

describe("callback listener", function()
  describe("with callbacks delivered", function()
    local ctx = h.context{args = JOB_TIME}

    it("gives the callback URL and port, and refuses a second listener", function()
      local client = h.client(ctx.emu)
      assert.is_nil(client:listening())
      local l = assert(client:listen{})
      assert.is_true(l.port > 0)
      assert.equal("http://127.0.0.1:" .. l.port .. "/callback", l.url)
      assert.same(l, client:listening())
      local again, err = client:listen{}
      assert.is_nil(again)
      assert.matches("already listening", err.message, 1, true)
      assert.has_error(function() client:listen{allow = "everyone"} end)
      assert.has_error(function() client:listen{path = "callback"} end)
      assert.is_true(client:listen_stop())
      assert.is_nil(client:listening())
      -- a public URL (behind a proxy) is what callback = true sends
      l = assert(client:listen{public_url = "https://hooks.example.com/pp", path = "/pp"})
      assert.equal("https://hooks.example.com/pp", l.url)
      client:close()
    end)

    it("raises for callback = true without a listener", function()
      local client = h.client(ctx.emu)
      assert.has_error(function()
        client:submit({source = "universal", url = ctx.site:page_url(1)}, {callback = true})
      end, "pushpull: client:submit: options.callback needs a listener (client:listen{}) "
        .. "or a callback URL (client:expect_callbacks(url))")
      client:close()
    end)

    it("ends a batch by callbacks with one results GET per job (blocking driver)", function()
      local client = h.client(ctx.emu)
      assert(client:listen{})
      local before = emu_requests(ctx.emu)
      local n = 30
      local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, n)},
        {callback = true}))
      for _, job in ipairs(batch.jobs) do
        assert.equal(client:listening().url, job.info.callback_url)
      end
      local ended = 0
      for job in batch:completed{timeout = 20} do
        assert.equal("done", job.status)
        assert.is_true(job.fetched)
        ended = ended + 1
      end
      assert.equal(n, ended)
      for i, job in ipairs(batch.jobs) do
        assert.equal(i, h.page_number(assert(job:results())[1].content))
      end
      local st = client:stats()
      assert.equal(n, st.callbacks_received)
      assert.equal(0, st.callbacks_rejected)
      assert.equal(1 + n, st.requests) -- the batch, then one results GET per job
      local d = delta(before, emu_requests(ctx.emu))
      assert.equal(n, d[RESULTS])
      assert.equal(0, d[STATUS])
      client:close()
    end)

    it("ends single jobs by callback inside pushpull.run", function()
      local client = h.client(ctx.emu)
      assert(client:listen{port = 0, host = "127.0.0.1"})
      local before = emu_requests(ctx.emu)
      local n, ok = 12, 0
      pushpull.run(function()
        for i = 1, n do
          pushpull.spawn(function()
            local job = assert(client:submit({source = "universal", url = ctx.site:page_url(100 + i)},
              {callback = true}))
            assert(job:wait{timeout = 20})
            assert.equal(100 + i, h.page_number(job:results()[1].content))
            ok = ok + 1
          end)
        end
      end)
      assert.equal(n, ok)
      local st = client:stats()
      assert.equal(n, st.callbacks_received)
      assert.equal(2 * n, st.requests) -- each: its submission and one results GET
      local d = delta(before, emu_requests(ctx.emu))
      assert.equal(n, d[RESULTS])
      assert.equal(0, d[STATUS])
      client:close()
    end)

    it("takes a callback_url given in the parameters", function()
      local client = h.client(ctx.emu)
      local l = assert(client:listen{})
      local job = assert(client:submit{source = "universal", url = ctx.site:page_url(3),
        callback_url = l.url .. "?tag=x"})
      assert(job:wait{timeout = 20})
      local st = client:stats()
      assert.equal(1, st.callbacks_received)
      assert.equal(2, st.requests)
      client:close()
    end)

    it("serves callbacks on a luv loop", function()
      -- in a child process: lua-luv closes its loop when the module is
      -- collected, and busted unloads the modules a spec file required
      local script = [[
        local uv = require("luv")
        local pushpull = require("pushpull")
local clientmod = require("pushpull.client")
        local emu, site = arg[1], arg[2]
        local client = assert(pushpull.new{username = "user", password = "pass1", base_url = emu, loop = uv})
        assert(client:listen{})
        local urls = {}
        for i = 1, 10 do urls[i] = site .. "/page/" .. (200 + i) end
        local done, failure = 0, nil
        coroutine.wrap(function()
          local ok, err = pcall(function()
            local batch = assert(client:submit_batch({source = "universal", url = urls}, {callback = true}))
            assert(client:wait_all(batch, {timeout = 20}))
            done = #batch.jobs
          end)
          if not ok then failure = err end
          local st = client:stats()
          print("callbacks " .. st.callbacks_received .. " requests " .. st.requests)
          client:close() -- stops the listener's fd watcher, so uv.run returns
        end)()
        uv.run()
        print("done " .. done .. " " .. tostring(failure))
      ]]
      local env = require("support.env")
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(script)
      f:close()
      local cmd = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s %s '%s' '%s' 2>&1")
        :format(env.root, env.root, env.lib_dir, env.is_luajit and "luajit" or "lua5.4", path,
          ctx.emu.url, ctx.site.url)
      local p = assert(io.popen(cmd))
      local out = p:read("*a")
      p:close()
      os.remove(path)
      assert.matches("done 10 nil", out, 1, true)
      assert.matches("callbacks 10 requests 11", out, 1, true)
    end)
  end)

  describe("refusing the sender", function()
    local ctx = h.context{args = JOB_TIME}

    it("answers 403 and the safety-net poll still ends the jobs", function()
      local client = h.client(ctx.emu)
      assert(client:listen{allow = {"10.9.9.9", "::2"}, safety_min = 0.5, safety_factor = 1})
      local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, 8)},
        {callback = true}))
      assert(client:wait_all(batch, {timeout = 20}))
      for _, job in ipairs(batch.jobs) do
        assert.equal("done", job.status)
        assert.is_true(job.fetched)
      end
      -- the emulator tries again after a refusal: wait for its first try of each
      local st
      for _ = 1, 100 do
        st = client:stats()
        if st.callbacks_rejected >= 8 then break end
        pump(client, 20)
      end
      assert.is_true(st.callbacks_rejected >= 8, "rejected " .. st.callbacks_rejected)
      assert.equal(0, st.callbacks_received)
      -- and an allowlist with the sender in it lets them through
      assert(client:listen_allow{"127.0.0.1"})
      local job = assert(client:submit({source = "universal", url = ctx.site:page_url(9)}, {callback = true}))
      assert(job:wait{timeout = 20})
      assert.is_true(client:stats().callbacks_received >= 1)
      client:close()
    end)

    it("allows the service's callbacker IPs with allow = \"callbacker_ips\"", function()
      local client = h.client(ctx.emu)
      assert(client:listen{allow = "callbacker_ips"})
      local job = assert(client:submit({source = "universal", url = ctx.site:page_url(4)}, {callback = true}))
      assert(job:wait{timeout = 20})
      assert.equal(1, client:stats().callbacks_received)
      client:close()
    end)
  end)

  describe("with bad requests", function()
    local ctx = h.context{args = JOB_TIME}

    it("answers 400, 404, 405 and 413, and the client keeps working", function()
      local client = h.client(ctx.emu)
      local l = assert(client:listen{max_body = 2048})
      local port = l.port
      local res = raw(client, port, post("/callback", "not json"))
      assert.equal(400, res.status)
      assert.matches("application/json", res.headers["content-type"], 1, true)
      assert.equal(400, raw(client, port, post("/callback", "[1,2]")).status)
      assert.equal(400, raw(client, port, post("/callback", '{"status":"done"}')).status)
      assert.equal(400, raw(client, port, post("/callback", "")).status)
      res = raw(client, port, "GET /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert.equal(405, res.status)
      assert.equal("POST", res.headers["allow"])
      assert.equal(404, raw(client, port, post("/elsewhere", "{}")).status)
      -- too large: announced, and sent in chunks without a length
      assert.equal(413, raw(client, port, post("/callback", ("x"):rep(5000))).status)
      local big = ("y"):rep(3000)
      res = raw(client, port, "POST /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        .. "Transfer-Encoding: chunked\r\n\r\n" .. ("%x\r\n%s\r\n0\r\n\r\n"):format(#big, big))
      assert.equal(413, res.status)
      -- a well formed callback for no job of ours: accepted, ignored
      res = raw(client, port, post("/callback", '{"id":"7000000000000000001","status":"done"}'))
      assert.equal(200, res.status)
      assert.equal("ignored", cjson.decode(res.body).status)
      local st = client:stats()
      assert.equal(8, st.callbacks_rejected)
      assert.equal(1, st.callbacks_received)

      -- the client still works, and a repeated callback is harmless
      local job = assert(client:submit({source = "universal", url = ctx.site:page_url(5)}, {callback = true}))
      assert(job:wait{timeout = 20})
      assert.equal(5, h.page_number(job:results()[1].content))
      res = raw(client, port, post("/callback", cjson.encode{id = job.id, status = "done"}))
      assert.equal(200, res.status)
      assert.equal("ok", cjson.decode(res.body).status)
      assert.equal("done", job.status)
        assert.is_true(job.fetched)
      client:close()
    end)
  end)

  describe("with half of the callbacks lost", function()
    local ctx = h.context{args = {"--job-time", "uniform:200ms:800ms", "--inject", "callback-loss=0.5"}}

    it("still ends every job through the safety-net poll", function()
      local client = h.client(ctx.emu)
      assert(client:listen{safety_min = 0.5})
      local n = 40
      local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, n)},
        {callback = true}))
      assert(client:wait_all(batch, {timeout = 30}))
      for _, job in ipairs(batch.jobs) do
        assert.equal("done", job.status)
        assert.is_true(job.fetched)
      end
      local lost = ctx.emu:stats().callbacks.lost
      local st = client:stats()
      assert.is_true(lost > 0 and lost < n, "lost " .. lost)
      assert.equal(n - lost, st.callbacks_received)
      -- a few safety polls per lost job at most, none for the others
      assert.is_true(st.requests <= 1 + n + 4 * lost, "requests " .. st.requests)
      client:close()
    end)
  end)
end)

describe("callbacks served by the host (client:expect_callbacks)", function()
  local ctx = h.context{args = JOB_TIME}

  it("checks its arguments and says which URL it expects", function()
    local client = h.client(ctx.emu)
    assert.is_nil(client:expected_callback_url())
    local ok, err = client:expect_callbacks("hooks.example.com/cb")
    assert.is_nil(ok)
    assert.matches("http", err.message, 1, true)
    assert.has_error(function() client:expect_callbacks(42) end)
    assert.has_error(function() client:expect_callbacks("https://x/cb", {safety_factor = 0}) end)
    assert.is_true(client:expect_callbacks("https://hooks.example.com/cb"))
    assert.equal("https://hooks.example.com/cb", client:expected_callback_url())
    assert.is_true(client:expect_callbacks(nil))
    assert.is_nil(client:expected_callback_url())
    client:close()
  end)

  it("ends a batch by the callbacks fed to it, with one results GET per job", function()
    local client = h.client(ctx.emu)
    local name = "expect-" .. math.random(1e9)
    local url = ctx.site:callback_url(name)
    assert(client:expect_callbacks(url))
    local before = emu_requests(ctx.emu)
    local n = 20
    local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, n, 100)},
      {callback = true}))
    for _, job in ipairs(batch.jobs) do
      assert.equal(url, job.info.callback_url)
    end
    -- the service posts them to the site, which keeps them; the host feeds them
    local calls = ctx.site:wait_callbacks(name, n, 15)
    assert.equal(n, #calls)
    for _, call in ipairs(calls) do
      local body = type(call.body) == "string" and call.body or cjson.encode(call.body)
      assert.is_true(client:feed_callback(body))
    end
    -- a duplicate is harmless
    local first = type(calls[1].body) == "string" and calls[1].body or cjson.encode(calls[1].body)
    assert.is_true(client:feed_callback(first))
    assert(client:wait_all(batch, {timeout = 10}))
    for i, job in ipairs(batch.jobs) do
      assert.equal("done", job.status)
        assert.is_true(job.fetched)
      assert.equal(100 + i, h.page_number(assert(job:results())[1].content))
    end
    local d = delta(before, emu_requests(ctx.emu))
    assert.equal(0, d[STATUS])
    assert.equal(n, d[RESULTS]) -- no poll: one download per job
    client:close()
  end)

  it("tells unknown jobs from malformed callbacks", function()
    local client = h.client(ctx.emu)
    local ok, err = client:feed_callback('{"id":"1234567890000000001","status":"done"}')
    assert.is_nil(ok)
    assert.is_true(err.unknown)
    assert.is_nil(err.malformed)
    for _, body in ipairs{"nope", "{}", '{"id":"1"}', "[]"} do
      ok, err = client:feed_callback(body)
      assert.is_nil(ok)
      assert.is_true(err.malformed, body)
    end
    client:close()
  end)

  it("polls the jobs as usual once the URL is forgotten", function()
    local client = h.client(ctx.emu)
    local url = ctx.site:callback_url("expect-forgotten-" .. math.random(1e9))
    assert(client:expect_callbacks(url, {safety_min = 600}))
    local batch = assert(client:submit_batch({source = "universal", url = page_urls(ctx.site, 3, 200)},
      {callback = true}))
    -- nobody feeds the callbacks and the safety net is 10 minutes away
    local ok, err = client:wait_all(batch, {timeout = 1.5})
    assert.is_nil(ok)
    assert.equal("timeout", err.message)
    assert(client:expect_callbacks(nil))
    assert(client:wait_all(batch, {timeout = 15}))
    for _, job in ipairs(batch.jobs) do
      assert.equal("done", job.status)
        assert.is_true(job.fetched)
    end
    client:close()
  end)
end)
