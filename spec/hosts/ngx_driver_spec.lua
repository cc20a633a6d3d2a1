-- The ngx driver in a real nginx (Debian's nginx + libnginx-mod-http-lua):
-- a batch of 200 jobs waited for in one handler while other requests are
-- answered, several handlers waiting at once, waits from access, timer and
-- light-thread contexts, clear errors where nginx cannot yield, and
-- callbacks taken by a location of the same nginx
-- (pushpull.ngx.callback_handler).
-- The spec only orchestrates over HTTP; the driver runs in nginx's LuaJIT.
local cjson = require("cjson")
local socket = require("socket")
local env = require("support.env")
local http = require("support.http")
local common = require("hosts.common")

local TEMPLATE = env.root .. "/spec/hosts/nginx/driver.conf"

local function get(srv, path, timeout)
  local res, err = http.request{url = srv.url .. path, timeout = timeout or 60}
  assert(res, "GET " .. path .. ": " .. tostring(err))
  return res
end

local function get_json(srv, path, timeout)
  local res = get(srv, path, timeout)
  local ok, v = pcall(cjson.decode, res.body)
  assert(ok, "GET " .. path .. " answered " .. res.status .. ": " .. tostring(res.body))
  return v, res
end

-- Runs `curl` for every url at once (--parallel); returns one
-- {code, seconds, body} per url, in order.
local function parallel_get(urls)
  local dir = common.mktemp(true)
  local args = {}
  for i, u in ipairs(urls) do
    args[#args + 1] = common.sh_quote(u) .. " -o " .. common.sh_quote(dir .. "/" .. i)
  end
  local p = io.popen("curl -s --no-progress-meter -Z --parallel-immediate --parallel-max " .. #urls
    .. " -m 30 -w '%{url_effective} %{http_code} %{time_total}\\n' " .. table.concat(args, " ") .. " 2>/dev/null")
  local by_url = {}
  for line in p:lines() do
    local u, code, t = line:match("^(%S+) (%d+) ([%d.]+)$")
    if u then by_url[u] = {code = tonumber(code), seconds = tonumber(t)} end
  end
  p:close()
  local out = {}
  for i, u in ipairs(urls) do
    local r = by_url[u] or {code = 0, seconds = math.huge}
    r.body = common.read_file(dir .. "/" .. i) or ""
    out[i] = r
  end
  common.run("rm -rf " .. common.sh_quote(dir))
  return out
end

-- Starts `curl url` in the background; returns a function that waits for and
-- returns its body, and one that says whether it has finished.
local function background_get(url)
  local dir = common.mktemp(true)
  common.run("(curl -s -m 90 " .. common.sh_quote(url) .. " -o " .. common.sh_quote(dir .. "/body")
    .. "; touch " .. common.sh_quote(dir .. "/done") .. ") >/dev/null 2>&1 &")
  local function finished()
    return common.read_file(dir .. "/done") ~= nil
  end
  local function result(timeout)
    local deadline = socket.gettime() + (timeout or 90)
    while not finished() and socket.gettime() < deadline do
      socket.sleep(0.05)
    end
    local body = common.read_file(dir .. "/body")
    common.run("rm -rf " .. common.sh_quote(dir))
    return body
  end
  return result, finished
end

-- The emulator (jobs take 50-500 ms), the test site its jobs scrape, and an
-- nginx with `workers` workers, for the enclosing describe block. With
-- example_callbacks, the OpenResty example takes callbacks at
-- /scrape_callback.
local function servers(workers, example_callbacks, log_level)
  local t = common.servers({"--job-time", "uniform:50ms:500ms", "--workers", "4"}, function(up)
    local port = require("support.nginx").free_port()
    local env = {PUSHPULL_BASE_URL = up.emu.url, PUSHPULL_USERNAME = "user", PUSHPULL_PASSWORD = "pass1"}
    if example_callbacks then
      env.PUSHPULL_CALLBACK_URL = "http://127.0.0.1:" .. port .. "/scrape_callback"
    end
    local conf = log_level and common.read_file(TEMPLATE):gsub("error_log logs/error%.log warn;",
      "error_log logs/error.log " .. log_level .. ";")
    return {template = not conf and TEMPLATE or nil, conf = conf, workers = workers, port = port,
      vars = {EMULATOR = up.emu.url, SITE = up.site.url}, env = env}
  end)
  lazy_setup(t.start)
  lazy_teardown(t.stop)
  return t
end

-- 60 jobs through /completed_turns: each given once with its own page,
-- and at least min_turns turns for the worker while they were handed out
local function completed_turns(srv, query, min_turns)
  local r = get_json(srv, "/completed_turns?n=60&" .. query)
  assert.is_nil(r.error)
  assert.is_true(r.waited)
  assert.are.equal(60, r.given)
  assert.are.equal(60, r.correct)
  assert.is_true(r.turns >= min_turns, "turns while the jobs were handed out: " .. r.turns)
end

describe("ngx driver in nginx", function()
  local t = servers(1)
  local srv
  before_each(function() srv = t.nginx end)

  it("waits for a batch of 200 jobs while the same worker answers 50 other requests", function()
    local batch_result, batch_finished = background_get(srv.url .. "/batch?n=200&base=1000")
    socket.sleep(0.2) -- the batch is submitted and its jobs are running
    local urls = {}
    for i = 1, 50 do urls[i] = srv.url .. "/ping?i=" .. i end
    local t0 = socket.gettime()
    local answers = parallel_get(urls)
    local took = socket.gettime() - t0
    local still_running = not batch_finished()
    for i, a in ipairs(answers) do
      assert.are.equal(200, a.code, "ping " .. i)
      assert.are.equal("pong 0\n", a.body, "ping " .. i)
      assert.is_true(a.seconds < 1, "ping " .. i .. " took " .. a.seconds .. " s")
    end
    -- the pings were answered while the batch was still being waited for
    assert.is_true(still_running, "the batch ended before the pings (" .. took .. " s)")
    local body = batch_result(90)
    assert(body, "no answer to the batch request")
    local r = cjson.decode(body)
    assert.are.equal(200, r.n)
    assert.is_true(r.waited, tostring(r.wait_error))
    assert.are.equal(200, r.correct, cjson.encode(r.bad))
  end)

  it("serves several handlers waiting on jobs at once", function()
    local urls = {}
    for i = 1, 8 do urls[i] = srv.url .. "/jobs?n=3&first=" .. (2000 + i * 10) end
    local answers = parallel_get(urls)
    for i, a in ipairs(answers) do
      assert.are.equal(200, a.code, a.body)
      local r = cjson.decode(a.body)
      assert.are.equal(3, r.ok, a.body)
      assert.are.same({}, r.failed)
      assert.are.equal("content", r.phase)
      assert.are.equal("ngx", r.driver)
    end
  end)

  it("waits from light threads, access_by_lua and ngx.timer callbacks", function()
    local t = get_json(srv, "/threads?n=3&first=3000")
    assert.are.equal(6, t.ok, cjson.encode(t))
    local a = get_json(srv, "/access?first=3100")
    assert.are.equal(2, a.ok, cjson.encode(a))
    assert.are.equal("access", a.phase)
    assert.are.equal("ngx", a.driver)
    local tm = get_json(srv, "/timer?first=3200")
    assert.are.equal(2, tm.ok, cjson.encode(tm))
    assert.are.equal("timer", tm.phase)
    assert.are.equal("ngx", tm.driver)
  end)

  it("says clearly where nginx cannot yield", function()
    local iw = get_json(srv, "/init_worker")
    assert.is_false(iw.report.ok)
    assert.matches("cannot wait in the 'init_worker' phase", iw.report.err, 1, true)
    local res = get(srv, "/header_filter")
    assert.are.equal(200, res.status)
    assert.are.equal("false", res.headers["x-wait-ok"])
    assert.matches("cannot wait in the 'header_filter' phase", res.headers["x-wait-error"], 1, true)
  end)

  it("streams a batch's progress with the OpenResty example", function()
    local urls = {}
    for i = 1, 5 do urls[i] = t.site.url .. "/page/" .. (7000 + i) end
    local res = assert(http.request{method = "POST", url = srv.url .. "/scrape",
      body = table.concat(urls, "\n"), timeout = 60})
    assert.are.equal(200, res.status, res.body)
    local lines = {}
    for l in res.body:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(l) end
    assert.are.equal(7, #lines, res.body)
    assert.are.equal(5, lines[1].submitted)
    local seen = {}
    for i = 2, 6 do
      assert.are.equal("done", lines[i].status)
      assert.is_true(lines[i].fetched)
      assert.are.equal(200, lines[i].status_code)
      seen[lines[i].url] = true
    end
    for _, u in ipairs(urls) do assert.is_true(seen[u], u) end
    assert.are.same({done = 5, ok = 5, pending = 0}, lines[7])
  end)

  it("changes nothing outside its own tables in the worker", function()
    local r = get_json(srv, "/side_effects", 60)
    assert.are.same({}, r.failures)
    assert.is_true(r.steps > 25, cjson.encode(r))
    assert.are.same({}, r.changed)
    assert.are.same({}, srv:log_lines("writing a global"))
  end)

  it("gives one client per worker and options, and checks the options", function()
    local r = get_json(srv, "/ngx_client")
    assert.is_true(r.typo_raised)
    assert.matches("options.callbak_url is not an option", r.typo_error, 1, true)
    assert.is_true(r.same)
    assert.is_true(r.other)
    assert.is_true(r.replaced)
    assert.are.equal(7, r.batch_size)
  end)

  it("logs a pushpull error's message", function()
    local res = get(srv, "/log_err")
    assert.are.equal(200, res.status)
    assert.matches("^xpushpull: .*%(HTTP 401%)\n$", res.body)
    for _, what in ipairs{"logged", "raised"} do
      local lines = srv:log_lines(what .. ": ")
      assert.are.equal(1, #lines)
      assert.matches(what .. ": pushpull: .*%(HTTP 401%)", lines[1])
    end
  end)

  it("gives the worker turns while batch:completed() hands out jobs that all ended", function()
    -- 0.3 ms of the handler's own work per job: about 18 ms in a row
    -- without the turns
    completed_turns(srv, "base=5000&work=0.3", 3)
  end)

  it("ends every job once when each settle of the engine is cut short", function()
    -- wait.SLICE = 0: the engine applies a few events per tick, and the
    -- handler gives a turn at every job
    completed_turns(srv, "base=5100&work=0&slice=0", 30)
  end)

  it("runs one engine in the worker, with no error in the log", function()
    local e = get_json(srv, "/engine")
    assert.is_true(e.running)
    -- the spec's client and the example's (pushpull.ngx) share it
    assert.are.equal(2, e.clients)
    assert.are.same({}, srv:log_lines("%[error%]"))
    assert.are.same({}, srv:log_lines("%[alert%]"))
    assert.are.same({}, srv:log_lines("%[crit%]"))
    -- its turns are 1 ms sleeps: on an nginx without OpenResty's patches
    -- ngx.sleep(0) is no turn, and warns at every call
    assert.are.same({}, srv:log_lines("ngx%.sleep%(0%)"))
  end)
end)

-- (At level warn ngx.sleep(0) would log a warning, at level error it would
-- not; either way it is no turn on an nginx without OpenResty's patches.)
describe("ngx driver at nginx's default error_log level", function()
  local t = servers(1, false, "error")

  it("gives the worker turns and ends every job once", function()
    completed_turns(t.nginx, "base=5200&work=0.3", 3)
    completed_turns(t.nginx, "base=5300&work=0&slice=0", 30)
    local e = get_json(t.nginx, "/engine")
    assert.is_true(e.yields > 0, "the engine never gave a turn")
    assert.are.same({}, t.nginx:log_lines("%[error%]"))
  end)
end)

describe("ngx driver with two workers", function()
  local t = servers(2)

  it("checks results from concurrent handlers in every worker", function()
    local srv = t.nginx
    local urls = {}
    for i = 1, 16 do urls[i] = srv.url .. "/jobs?n=2&first=" .. (5000 + i * 10) end
    local answers = parallel_get(urls)
    local ok = 0
    for _, a in ipairs(answers) do
      assert.are.equal(200, a.code, a.body)
      local r = cjson.decode(a.body)
      assert.are.same({}, r.failed)
      ok = ok + r.ok
    end
    assert.are.equal(32, ok)
    assert.are.same({}, srv:log_lines("%[error%]"))
  end)

  it("passes a callback to the worker whose client waits for its job", function()
    local before = t.emu:stats().requests
    local answers = parallel_get{t.nginx.url .. "/callback_batch?n=30&from=100",
      t.nginx.url .. "/callback_batch?n=30&from=200", t.nginx.url .. "/callback_batch?n=30&from=300"}
    -- (nginx hands the emulator's callbacks to either worker: a job whose
    -- callback were not passed on would wait 30 s for its safety-net poll)
    for _, a in ipairs(answers) do
      assert.are.equal(200, a.code, a.body)
      local r = cjson.decode(a.body)
      assert.is_true(r.waited, tostring(r.wait_error))
      assert.are.equal(30, r.ended, a.body)
      assert.is_true(r.seconds < 10, "took " .. r.seconds .. " s")
    end
    local after = t.emu:stats().requests
    assert.are.equal(0, after["GET /v1/queries/{id}"] - before["GET /v1/queries/{id}"])
    local results = after["GET /v1/queries/{id}/results"] - before["GET /v1/queries/{id}/results"]
    assert.is_true(results >= 90 and results <= 95, "results GETs: " .. results)
    assert.are.same({}, t.nginx:log_lines("%[error%]"))
  end)
end)

-- ---- the core's own listener, to hold the nginx location's answers against

-- A raw HTTP/1.1 request (Connection: close); opts.chunked sends the body
-- in one chunk without a Content-Length.
local function request_text(method, path, body, opts)
  opts = opts or {}
  local head = {method .. " " .. path .. " HTTP/1.1", "Host: x", "Connection: close",
    "Content-Type: application/json"}
  local payload = ""
  if body and opts.chunked then
    head[#head + 1] = "Transfer-Encoding: chunked"
    payload = ("%x\r\n%s\r\n0\r\n\r\n"):format(#body, body)
  elseif body then
    head[#head + 1] = "Content-Length: " .. #body
    payload = body
  end
  return table.concat(head, "\r\n") .. "\r\n\r\n" .. payload
end

local exchange = require("support.raw_http").exchange

-- A client of the emulator with the core's listener configured like an
-- nginx location's callback_handler options.
local function core_listener(emu_url, opts)
  local pushpull = require("pushpull")
  local clientmod = require("pushpull.client")
  local c = assert(pushpull.new{username = "user", password = "pass1", base_url = emu_url})
  local l = assert(c:listen{allow = opts.allow, max_body = opts.max_body, path = "/callback"})
  local host = clientmod.host(c)
  return {
    client = c,
    send = function(text)
      return exchange(l.port, text, function() host.core:wait(5); host:dispatch() end)
    end,
  }
end

describe("callbacks through an nginx location", function()
  local t = servers(1, true)
  local listeners

  -- the core listener for each location, with the location's options
  -- (ngx_app.lua: /callback allows the callbacker IPs, /callback/small
  -- every sender up to 100 bytes, /callback/denied other senders only)
  local function listener(path)
    if not listeners then
      local emu = t.emu.url
      listeners = {
        ["/callback"] = core_listener(emu, {allow = "callbacker_ips"}),
        ["/callback/small"] = core_listener(emu, {max_body = 100}),
        ["/callback/denied"] = core_listener(emu, {allow = {"10.9.8.7", "2001:db8::1"}}),
      }
    end
    return listeners[path]
  end

  lazy_teardown(function()
    for _, l in pairs(listeners or {}) do l.client:close() end
  end)

  -- Posts to the location and to the core listener alike; asserts both
  -- answer the same status and body; returns status, decoded body, answer.
  local function post(path, body, opts)
    opts = opts or {}
    local method = opts.method or "POST"
    local res = exchange(t.nginx.port, request_text(method, path, body, opts))
    local core = listener(path).send(request_text(method, "/callback", body, opts))
    local what = (opts.method or "POST") .. " " .. path .. " " .. tostring(body):sub(1, 60)
    assert.are.equal(core.status, res.status, what)
    assert.are.equal(core.body, res.body, what)
    local ok, v = pcall(cjson.decode, res.body)
    return res.status, ok and v or res.body, res
  end

  it("ends a batch of 50 jobs by their callbacks, with one results GET per job", function()
    local r = get_json(t.nginx, "/callback_batch?n=50", 60)
    assert.is_true(r.waited, tostring(r.wait_error))
    assert.are.equal(50, r.ended, cjson.encode(r.statuses))
    assert.are.equal(t.nginx.url .. "/callback", r.callback_url)
    -- long before the first safety-net poll (30 s)
    assert.is_true(r.seconds < 10, "took " .. r.seconds .. " s")
    local st = t.emu:stats()
    assert.are.equal(50, st.callbacks.sent, cjson.encode(st.callbacks))
    local req = st.requests
    assert.are.equal(0, req["GET /v1/queries/{id}"], cjson.encode(req))
    assert.is_true(req["GET /v1/queries/{id}/results"] >= 50, cjson.encode(req))
    assert.is_true(req["GET /v1/queries/{id}/results"] <= 53, cjson.encode(req))
    -- the allowlist was fetched once by the worker
    assert.are.equal(1, req["GET /v1/info/callbacker_ips"], cjson.encode(req))
  end)

  it("answers 200 ignored for an unknown job and for a duplicate, as the core's listener", function()
    local status, v = post("/callback", '{"id":"1234567890000000001","status":"done"}')
    assert.are.equal(200, status)
    assert.are.same({status = "ignored"}, v)
    status, v = post("/callback", '{"id":"1234567890000000001","status":"done"}')
    assert.are.equal(200, status)
    assert.are.same({status = "ignored"}, v)
    -- a large body (nginx keeps it in a temporary file)
    local big = cjson.encode{id = "1234567890000000002", status = "done", pad = string.rep("x", 200000)}
    status, v = post("/callback", big)
    assert.are.equal(200, status, tostring(v))
    assert.are.same({status = "ignored"}, v)
  end)

  it("refuses other methods with 405 and Allow: POST, as the core's listener", function()
    local status, v, res = post("/callback", nil, {method = "GET"})
    assert.are.equal(405, status)
    assert.are.equal("POST", res.headers["allow"])
    assert.is_string(v.message)
    status = post("/callback", "{}", {method = "PUT"})
    assert.are.equal(405, status)
  end)

  it("refuses a body over max_body with 413 (announced, chunked, in a temporary file), as the core's listener", function()
    local job = '{"id":"1234567890000000003","status":"done"}'
    local status, v = post("/callback/small", job)
    assert.are.equal(200, status, tostring(v))
    local long = cjson.encode{id = "1234567890000000003", status = "done", pad = string.rep("x", 100)}
    status, v = post("/callback/small", long)
    assert.are.equal(413, status)
    assert.is_string(v.message)
    status, v = post("/callback/small", long, {chunked = true})
    assert.are.equal(413, status, tostring(v))
    status = post("/callback/small", string.rep(" ", 100000) .. job, {chunked = true})
    assert.are.equal(413, status)
    -- and the default cap, 1 MiB (nginx's own cap is 2 MiB there)
    status, v = post("/callback", string.rep(" ", 1024 * 1024) .. job)
    assert.are.equal(413, status)
    assert.is_string(v.message)
    status, v = post("/callback", string.rep(" ", 1024 * 1024) .. job, {chunked = true})
    assert.are.equal(413, status)
    assert.is_string(v.message)
  end)

  it("refuses a sender outside the allowlist with 403, as the core's listener", function()
    local status, v = post("/callback/denied", '{"id":"1234567890000000004","status":"done"}')
    assert.are.equal(403, status)
    assert.is_string(v.message)
  end)

  it("refuses a body that is not a job object with 400, as the core's listener", function()
    for _, body in ipairs{"nope", "{}", "[1,2]", '{"status":"done"}', '"x"', ""} do
      local status, v = post("/callback", body)
      assert.are.equal(400, status, body)
      assert.is_string(v.message, body)
    end
  end)

  it("streams a batch whose callbacks come to the OpenResty example", function()
    local before = t.emu:stats().requests
    local urls = {}
    for i = 1, 5 do urls[i] = t.site.url .. "/page/" .. (8000 + i) end
    local t0 = socket.gettime()
    local res = assert(http.request{method = "POST", url = t.nginx.url .. "/scrape",
      body = table.concat(urls, "\n"), timeout = 60})
    assert.are.equal(200, res.status, res.body)
    assert.is_true(socket.gettime() - t0 < 10)
    local lines = {}
    for l in res.body:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(l) end
    assert.are.same({done = 5, ok = 5, pending = 0}, lines[#lines])
    local after = t.emu:stats().requests
    assert.are.equal(0, after["GET /v1/queries/{id}"] - before["GET /v1/queries/{id}"])
    local results = after["GET /v1/queries/{id}/results"] - before["GET /v1/queries/{id}/results"]
    -- one download per job (the handler's job:results() reads what was kept)
    assert.is_true(results >= 5 and results <= 7, "results GETs: " .. results)
  end)

  it("leaves no error in the log", function()
    assert.are.same({}, t.nginx:log_lines("%[error%]"))
    assert.are.same({}, t.nginx:log_lines("%[alert%]"))
  end)
end)
