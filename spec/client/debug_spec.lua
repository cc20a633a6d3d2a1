-- The debug switch: pushpull.new{debug = function(line) ... end} and
-- PUSHPULL_DEBUG=1 report each request (method, path, status, time), each
-- retry (its delay and reason), each poll scheduled (when and why) and each
-- callback (and what was done with it) -- against the real emulator -- and
-- never a credential.
local socket = require("socket")
local env = require("support.env")
local h = require("support.client")
local pushpull = require("pushpull")

local SECRET = "s3cr3t-pa55word"

-- A port on which nothing listens (bound, then let go).
local function closed_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- A collector of debug lines: the option, and the lines so far.
local function collector()
  local lines = {}
  return lines, function(line)
    lines[#lines + 1] = line
  end
end

local function matching(lines, pattern)
  local out = {}
  for _, line in ipairs(lines) do
    if line:find(pattern) then
      out[#out + 1] = line
    end
  end
  return out
end

local function assert_some(lines, pattern)
  assert(#matching(lines, pattern) > 0,
    "no debug line matches " .. pattern .. " in:\n" .. table.concat(lines, "\n"))
end

local function assert_no_credentials(lines, ...)
  local text = table.concat(lines, "\n")
  for _, secret in ipairs{...} do
    assert.is_nil(text:find(secret, 1, true), "a debug line shows " .. secret)
  end
  assert.is_nil(text:lower():find("authorization", 1, true))
end

describe("debug lines", function()
  local ctx = h.context{args = {"--job-time", "uniform:100ms:400ms"}}

  it("report requests, polls and the schedule's reasons", function()
    local lines, fn = collector()
    local client = h.client(ctx.emu, {debug = fn, poll = {min = 0.02, max = 0.25}})
    local batch = assert(client:submit_batch{source = "universal",
      url = {ctx.site:page_url(1), ctx.site:page_url(2), ctx.site:page_url(3)}})
    assert.is_true(batch:wait{timeout = 20})
    client:close()
    assert_some(lines, "^request POST /v1/queries/batch %-> 20%d in %d+ ms$")
    assert_some(lines, "^request GET /v1/queries/[%w_-]+/results %-> 20[04] in %d+ ms$")
    assert_some(lines, "^poll job [%w_-]+ in %d+ ms: ")
    assert_some(lines, "^poll job [%w_-]+ in %d+ ms: planned %(poll %d+, job age %d+ ms, expected job time %d+ ms%)$")
    assert_no_credentials(lines, h.options(ctx.emu).password)
  end)

  it("report callbacks and what was done with them", function()
    local lines, fn = collector()
    local client = h.client(ctx.emu, {debug = fn})
    assert(client:listen{port = 0})
    local job = assert(client:submit({source = "universal", url = ctx.site:page_url(4)}, {callback = true}))
    assert.is_true(job:wait{timeout = 20})
    assert_some(lines, "^callback for job " .. job.id .. " %(says done%): checking now %(the results download%)$")
    assert_some(lines, "^poll job " .. job.id .. " in %d+ ms: safety net for a lost callback")
    -- the same callback again: the job has ended, nothing to do
    assert.is_true(client:feed_callback(('{"id":"%s","status":"done"}'):format(job.id)))
    assert_some(lines, "^callback for job " .. job.id .. " %(says done%): nothing to do, the job is fetched$")
    local ok, err = client:feed_callback('{"id":"no-such-job","status":"done"}')
    assert.is_nil(ok)
    assert.is_true(err.unknown)
    assert_some(lines, "^callback for job no%-such%-job: no job of this client, ignored$")
    assert.is_nil((client:feed_callback("not json")))
    assert_some(lines, "^callback refused: 8 bytes that are not a job object$")
    client:close()
  end)

  it("report each retry, its delay and its reason, and giving up", function()
    local lines, fn = collector()
    local client = assert(pushpull.new{username = "user", password = SECRET,
      base_url = ("http://user:%s@127.0.0.1:%d"):format(SECRET, closed_port()),
      max_retries = 3, retry_base = 0.01, retry_max = 0.05, debug = fn})
    local job, err = client:submit{source = "universal", url = "https://example.com"}
    assert.is_nil(job)
    assert.equal("rejected", err.job_status)
    client:close()
    assert_some(lines, "^request POST /v1/queries %-> no answer in %d+ ms: ")
    for i = 1, 3 do
      assert_some(lines, "^retry " .. i .. " of 3: POST /v1/queries in %d+ ms %(.+%)$")
    end
    assert_some(lines, "^gave up: POST /v1/queries after 3 retries %(.+%)$")
    assert_no_credentials(lines, SECRET)
  end)

  it("say when a request that may have reached the service is not sent again", function()
    local emu = h.emulator{"--inject", "ambiguous=1:500"}
    local lines, fn = collector()
    local client = h.client(emu, {debug = fn})
    local job = client:submit{source = "universal", url = ctx.site:page_url(5)}
    client:close()
    emu:stop()
    assert.is_nil(job)
    assert_some(lines, "^request POST /v1/queries %-> 500 in %d+ ms$")
    assert_some(lines, "^not retried: POST /v1/queries may have reached the service %(HTTP 500%)")
  end)

  it("keep a failing debug function from breaking the client", function()
    local client = h.client(ctx.emu, {debug = function() error("boom") end})
    local job = assert(client:submit{source = "universal", url = ctx.site:page_url(6)})
    assert.is_true(job:wait{timeout = 20})
    client:close()
  end)

  it("refuse a debug option that is neither a function nor a boolean", function()
    local ok, err = pcall(pushpull.new, {username = "u", password = "p", debug = "yes"})
    assert.is_false(ok)
    assert.matches("options.debug must be function or boolean or nil", err, 1, true)
  end)
end)

describe("PUSHPULL_DEBUG=1", function()
  -- A script that submits one job to a port where nothing listens, in a
  -- fresh interpreter; what it wrote to stderr.
  local function run(debug_env)
    local script = ([[
      local pushpull = require("pushpull")
      local c = assert(pushpull.new{username = "user", password = %q,
        base_url = "http://127.0.0.1:%d", max_retries = 2, retry_base = 0.01})
      local job, err = c:submit{source = "universal", url = "https://example.com"}
      io.stdout:write(tostring(err), "\n")
    ]]):format(SECRET, closed_port())
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local lua = env.is_luajit and "luajit" or "lua5.4"
    local cmd = ("%s LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s %s 2>&1 >/dev/null")
      :format(debug_env, env.root, env.root, env.lib_dir, lua, path)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    return out
  end

  it("writes the debug lines of a client to stderr", function()
    local out = run("PUSHPULL_DEBUG=1")
    assert.matches("pushpull: request POST /v1/queries %-> no answer in %d+ ms: ", out)
    assert.matches("pushpull: retry 1 of 2: POST /v1/queries in %d+ ms", out)
    assert.matches("pushpull: retry 2 of 2: POST /v1/queries in %d+ ms", out)
    assert.matches("pushpull: gave up: POST /v1/queries after 2 retries", out)
    assert.is_nil(out:find(SECRET, 1, true))
  end)

  it("writes nothing when unset or 0", function()
    assert.equal("", run("PUSHPULL_DEBUG="))
    assert.equal("", run("PUSHPULL_DEBUG=0"))
  end)
end)
