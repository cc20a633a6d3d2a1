-- Handlers of spec/hosts/nginx/driver.conf: the ngx driver exercised from
-- content, access, timer, light-thread and non-yielding contexts of a real
-- nginx, and callbacks taken by a location of the same nginx. Every answer is JSON that spec/hosts/ngx_driver_spec.lua checks.
local cjson = require("cjson.safe")

local M = {}

-- pushpull is loaded in the worker, on first use, not in init_by_lua: the
-- side-effect check compares the worker before and after.
local function pushpull() return require("pushpull") end
local function ppngx() return require("pushpull.ngx") end

local config = {}
local client -- one per worker, made on first use

function M.configure(cfg)
  config = cfg
end

local function get_client()
  if not client then
    client = assert(pushpull().new{
      username = config.username, password = config.password, base_url = config.base_url,
    })
  end
  return client
end

local function reply(t, status)
  ngx.status = status or 200
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

local function page_url(n)
  return config.site .. "/page/" .. n
end

-- Whether job's results are the page it asked for.
local function check_job(job, n)
  local res, err = job:results()
  if not res then
    return false, tostring(err and err.message or err)
  end
  local content = res[1] and res[1].content
  if type(content) ~= "string" or not content:find("<title>Page " .. n .. "</title>", 1, true) then
    return false, "wrong content for page " .. n
  end
  return true
end

-- Submits n jobs one after another and waits for each; returns a summary.
local function run_jobs(first, n)
  local c = get_client()
  local out = {ok = 0, failed = {}}
  for i = first, first + n - 1 do
    local job, err = c:submit{source = "universal", url = page_url(i)}
    local good
    if job then
      local ok, werr = job:wait{timeout = 30}
      if ok then
        good, err = check_job(job, i)
      else
        err = werr
      end
    end
    if good then
      out.ok = out.ok + 1
    else
      out.failed[#out.failed + 1] = tostring(type(err) == "table" and err.message or err)
    end
  end
  out.phase = ngx.get_phase()
  -- the driver the client picked by itself in this context
  local host = require("pushpull.client").host(c)
  out.driver = host:driver() == host.drivers.ngx and "ngx" or "other"
  return out
end

function M.init_worker()
  -- a wait here must fail with a clear message (recorded for the spec)
  local job = get_client():job("1234567890123456789")
  local ok, err = pcall(job.wait, job, {timeout = 1})
  ngx.shared.results:set("init_worker:" .. ngx.worker.id(), cjson.encode{ok = ok, err = tostring(err)})
end

function M.init_worker_report()
  reply{report = cjson.decode(ngx.shared.results:get("init_worker:" .. ngx.worker.id()) or "null")}
end

function M.batch()
  local args = ngx.req.get_uri_args()
  local n = tonumber(args.n) or 200
  local base = tonumber(args.base) or 1000
  local t0 = ngx.now()
  local c = get_client()
  local urls = {}
  for i = 1, n do
    urls[i] = page_url(base + i)
  end
  local batch, err = c:submit_batch{source = "universal", url = urls}
  if not batch then
    return reply({error = tostring(err.message or err)}, 500)
  end
  local ok, werr = c:wait_all(batch, {timeout = 60})
  local good, bad = 0, {}
  for i, job in ipairs(batch.jobs) do
    local jok, jerr = check_job(job, base + i)
    if jok then
      good = good + 1
    elseif #bad < 5 then
      bad[#bad + 1] = jerr
    end
  end
  ngx.update_time()
  reply{n = n, waited = ok == true, wait_error = werr and tostring(werr.message or werr),
    correct = good, bad = bad, seconds = ngx.now() - t0, worker = ngx.worker.id()}
end

-- ?n= jobs waited for whole, then handed out by batch:completed() with
-- ?work= ms of the handler's own work per job, while a light thread counts
-- the turns the worker gives it meanwhile. ?slice= sets pushpull.wait.SLICE
-- for the request (0: every settle of the engine is cut into slices, and
-- the handler gives a turn at every job).
function M.completed_turns()
  local args = ngx.req.get_uri_args()
  local n = tonumber(args.n) or 60
  local base = tonumber(args.base) or 5000
  local work = (tonumber(args.work) or 0.3) / 1000
  local wait = require("pushpull.wait")
  local now = require("pushpull.core").now
  local saved = wait.SLICE
  wait.SLICE = tonumber(args.slice) or saved
  local ok, r = pcall(function()
    local c = get_client()
    local urls = {}
    for i = 1, n do
      urls[i] = page_url(base + i)
    end
    local batch = assert(c:submit_batch{source = "universal", url = urls})
    local waited = c:wait_all(batch, {timeout = 60}) == true
    local index = {}
    for i, job in ipairs(batch.jobs) do
      index[job] = i
    end
    local turns, stop = 0, false
    local counter = ngx.thread.spawn(function()
      while not stop do
        ngx.sleep(0.001)
        turns = turns + 1
      end
    end)
    local before = turns
    local given, seen, correct = 0, {}, 0
    for job in batch:completed{timeout = 60} do
      local until_t = now() + work
      while now() < until_t do end
      if not seen[job] then
        seen[job] = true
        given = given + 1
      end
      if check_job(job, base + index[job]) then
        correct = correct + 1
      end
    end
    local during = turns - before
    stop = true
    ngx.thread.wait(counter)
    return {n = n, waited = waited, given = given, correct = correct, turns = during}
  end)
  wait.SLICE = saved
  if not ok then
    return reply({error = tostring(r)}, 500)
  end
  reply(r)
end

function M.ping()
  ngx.say("pong ", ngx.worker.id())
end

function M.jobs()
  local args = ngx.req.get_uri_args()
  local n = tonumber(args.n) or 3
  local first = tonumber(args.first) or 1
  local r = run_jobs(first, n)
  r.worker = ngx.worker.id()
  reply(r)
end

function M.threads()
  local args = ngx.req.get_uri_args()
  local n = tonumber(args.n) or 3
  local first = tonumber(args.first) or 1
  local threads = {}
  for i = 1, n do
    threads[i] = ngx.thread.spawn(run_jobs, first + (i - 1) * 2, 2)
  end
  local total, failed, phases = 0, {}, {}
  for i = 1, n do
    local ok, r = ngx.thread.wait(threads[i])
    if ok then
      total = total + r.ok
      phases[#phases + 1] = r.phase
      for _, f in ipairs(r.failed) do failed[#failed + 1] = f end
    else
      failed[#failed + 1] = tostring(r)
    end
  end
  reply{ok = total, expected = n * 2, failed = failed, phases = phases}
end

function M.access()
  local first = tonumber(ngx.req.get_uri_args().first) or 1
  ngx.ctx.r = run_jobs(first, 2)
end

function M.after_access()
  reply(ngx.ctx.r or {error = "access phase did not run"})
end

function M.timer()
  local key = "timer:" .. ngx.now() .. ":" .. math.random(1e9)
  local first = tonumber(ngx.req.get_uri_args().first) or 1
  local ok, err = ngx.timer.at(0, function(premature)
    if premature then return end
    ngx.shared.results:set(key, cjson.encode(run_jobs(first, 2)))
  end)
  if not ok then
    return reply({error = err}, 500)
  end
  -- poll the shared dict (this handler is not the one doing the work)
  for _ = 1, 3000 do
    local v = ngx.shared.results:get(key)
    if v then
      return reply(cjson.decode(v))
    end
    ngx.sleep(0.01)
  end
  reply({error = "timer did not finish"}, 500)
end

-- a wait in header_filter must raise a clear error (not block the worker)
function M.header_filter()
  local c = get_client()
  -- an id nobody has seen: the wait cannot be satisfied at once
  local job = c:job(string.format("%d%09d", 1000000000 + math.random(1e9), ngx.worker.pid()))
  local ok, err = pcall(job.wait, job, {timeout = 1})
  ngx.header["X-Wait-Ok"] = tostring(ok)
  ngx.header["X-Wait-Error"] = tostring(err):gsub("[\r\n]", " ")
end

-- ---- callbacks through an nginx location (pushpull.ngx.callback_handler)

-- The worker's client whose jobs call back to /callback of this nginx.
local function callback_client()
  return assert(ppngx().client{
    username = config.username, password = config.password, base_url = config.base_url,
    callback_url = config.self_url .. "/callback", callback_shared = "callbacks",
  })
end

-- POST /callback: what the emulator posts to; /callback/small (max_body
-- 100, every sender) and /callback/denied (another sender only) for the
-- refusals.
function M.callback()
  ppngx().callback_handler(callback_client(), {allow = "callbacker_ips"})
end

function M.callback_small()
  ppngx().callback_handler(callback_client(), {max_body = 100})
end

local DENIED = {"10.9.8.7", "2001:db8::1"}
function M.callback_denied()
  ppngx().callback_handler(callback_client(), {allow = DENIED})
end

-- ?n= query jobs submitted with callback = true and waited for (?from=
-- numbers the queries).
function M.callback_batch()
  local args = ngx.req.get_uri_args()
  local n = tonumber(args.n) or 50
  local from = tonumber(args.from) or 0
  local c = callback_client()
  local queries = {}
  for i = 1, n do
    queries[i] = "callback " .. (from + i)
  end
  local t0 = ngx.now()
  local batch, err = c:submit_batch({source = "google_search", query = queries}, {callback = true})
  if not batch then
    return reply({error = tostring(err.message or err)}, 500)
  end
  local ok, werr = c:wait_all(batch, {timeout = 25})
  ngx.update_time()
  local statuses, ended = {}, 0
  for _, job in ipairs(batch.jobs) do
    statuses[job.status] = (statuses[job.status] or 0) + 1
    if job.status == "done" or job.status == "faulted" then
      ended = ended + 1
    end
  end
  reply{n = n, ended = ended, statuses = statuses, waited = ok == true,
    wait_error = werr and tostring(werr.message or werr), seconds = ngx.now() - t0,
    callback_url = batch.jobs[1].info and batch.jobs[1].info.callback_url,
    relayed = ppngx().relayed("callbacks"), worker = ngx.worker.id()}
end

-- The full workflow (spec/hosts/full_workflow.lua) in this handler, then
-- what changed in the worker since init_worker_by_lua (before pushpull was
-- loaded).
function M.side_effects()
  local dir = "/tmp/pushpull-ngx-" .. ngx.worker.pid() .. "-" .. math.random(1e9)
  os.execute("mkdir -p " .. dir)
  local report = require("full_workflow").run{base_url = config.base_url, site = config.site, dir = dir}
  os.execute("rm -rf " .. dir)
  collectgarbage()
  -- (lua-resty-core puts the builtin os.getenv back at its first call in a
  -- request: resty/core/misc.lua)
  report.changed = require("host_state").since_remembered{["os.getenv"] = true}
  reply(report)
end

-- pushpull.ngx.client: a typo in its options raises naming the key; the
-- same options give the same client, other options (any of them) another,
-- and a closed client is replaced.
function M.ngx_client()
  local opts = {username = config.username, password = config.password, base_url = config.base_url,
    batch_size = 7}
  local ok, err = pcall(ppngx().client, {username = "u", password = "p", callbak_url = "http://x/cb"})
  local a = assert(ppngx().client(opts))
  local same = ppngx().client(opts) == a
  local other_opts = {}
  for k, v in pairs(opts) do other_opts[k] = v end
  other_opts.password = "another"
  local other = ppngx().client(other_opts) ~= a
  a:close()
  local b = assert(ppngx().client(opts))
  reply{typo_raised = not ok, typo_error = tostring(err), same = same, other = other,
    replaced = b ~= a, batch_size = b.options.batch_size}
end

-- ngx.log with a pushpull error (and with what assert raised): its message.
function M.log_err()
  local bad = assert(pushpull().new{username = "user", password = "wrong", base_url = config.base_url})
  local _, err = bad:callbacker_ips()
  bad:close()
  ngx.log(ngx.WARN, "logged: ", err)
  local _, raised = pcall(assert, nil, err)
  ngx.log(ngx.WARN, "raised: ", raised)
  ngx.say("x" .. err)
end

function M.engine()
  local s = require("pushpull.drivers.ngx").stats()
  s.worker = ngx.worker.id()
  reply(s)
end

return M
