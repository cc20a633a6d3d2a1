-- The handlers of bench/hosts/openresty.conf: the same batch (?n= URLs of
-- the test site's ?size= pages) run by pushpull's ngx driver and by a
-- hand-written cosocket client, each reporting its wall time and the
-- worker's CPU time (from /proc/self/stat) as JSON.
local cjson = require("cjson")

local M = {}

local CONFIG -- {base_url, site, user, password}, set by init_by_lua

function M.init(config)
  CONFIG = config
end

local TICKS = 100 -- USER_HZ of /proc/*/stat on Linux

-- The worker's user + system CPU seconds.
local function cpu()
  local f = assert(io.open("/proc/self/stat"))
  local s = f:read("*a")
  f:close()
  -- fields after the command (which may hold spaces): state is field 3
  local rest = s:match("%) (.*)$")
  local v = {}
  for x in rest:gmatch("%S+") do v[#v + 1] = x end
  return (tonumber(v[12]) + tonumber(v[13])) / TICKS -- utime, stime (fields 14, 15)
end

local function urls(n)
  local size = tonumber(ngx.var.arg_size) or 20000
  local list = {}
  for i = 1, n do list[i] = CONFIG.site .. "/page/" .. i .. "?size=" .. size end
  return list
end

local function measure(run)
  local n = tonumber(ngx.var.arg_n) or 2000
  local list = urls(n)
  ngx.update_time()
  local t0, c0 = ngx.now(), cpu()
  local r = run(list)
  if r.first then
    r.submitted, r.first = r.submitted - t0, r.first - t0
  end
  ngx.update_time()
  r.n, r.seconds, r.cpu = n, ngx.now() - t0, cpu() - c0
  ngx.say(cjson.encode(r))
end

-- ---- pushpull

function M.pushpull()
  local ppngx = require("pushpull.ngx")
  local driver = require("pushpull.drivers.ngx")
  local c = assert(ppngx.client{username = CONFIG.user, password = CONFIG.password,
    base_url = CONFIG.base_url, batch_size = tonumber(ngx.var.arg_batch_size),
    max_connections = tonumber(ngx.var.arg_max_connections),
    poll = ngx.var.arg_first and {first = tonumber(ngx.var.arg_first)} or nil})
  local prof = os.getenv("JITP")
  if prof then
    package.path = "/usr/share/luajit-2.1.0-beta3/?.lua;" .. package.path
    require("jit.p").start(prof, "/tmp/jitp.txt")
  end
  local wait = require("pushpull.wait")
  local saved_slice = wait.SLICE
  wait.SLICE = tonumber(ngx.var.arg_slice) or saved_slice
  measure(function(list)
    local s0 = driver.stats()
    local batch = assert(c:submit_batch{source = "universal", url = list})
    -- each job's results as it ends, then the job is let go (as the
    -- cosocket client reads each body and keeps nothing)
    ngx.update_time()
    local submitted, first = ngx.now(), nil
    local fetched, ended = 0, 0
    for job in batch:completed{timeout = 300} do
      ended = ended + 1
      if not first then
        ngx.update_time()
        first = ngx.now()
      end
      if job.fetched and job:results() then
        fetched = fetched + 1
      end
      job:release()
    end
    if prof then require("jit.p").stop() end
    wait.SLICE = saved_slice
    local ok, err = ended == #list, ended < #list and (#list - ended) .. " jobs did not end" or nil
    local s1 = driver.stats()
    -- (longest: since the worker started)
    return {ok = ok == true, err = err and tostring(err), fetched = fetched,
      ticks = s1.ticks - s0.ticks, work = (s1.work or 0) - (s0.work or 0), longest = s1.longest or 0,
      yields = (s1.yields or 0) - (s0.yields or 0), submitted = submitted, first = first}
  end)
end

-- ---- the hand-written cosocket client

local THREADS = 64

local function auth()
  return "Basic " .. ngx.encode_base64(CONFIG.user .. ":" .. CONFIG.password)
end

-- host, port of the emulator
local function endpoint()
  local host, port = CONFIG.base_url:match("^http://([^:/]+):(%d+)")
  return host, tonumber(port)
end

-- One request on a kept-alive connection: status, body.
local function request(method, path, body)
  local host, port = endpoint()
  local sock = ngx.socket.tcp()
  sock:settimeout(30000)
  assert(sock:connect(host, port))
  local head = method .. " " .. path .. " HTTP/1.1\r\nHost: " .. host .. "\r\nAuthorization: " .. auth()
    .. "\r\nConnection: keep-alive\r\n"
  if body then
    head = head .. "Content-Type: application/json\r\nContent-Length: " .. #body .. "\r\n"
  end
  assert(sock:send(head .. "\r\n" .. (body or "")))
  local line = assert(sock:receive("*l"))
  local status = tonumber(line:match("^HTTP/%d%.%d (%d+)"))
  local length, chunked
  while true do
    local h = assert(sock:receive("*l"))
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.*)$")
    name = name and name:lower()
    if name == "content-length" then
      length = tonumber(value)
    elseif name == "transfer-encoding" and value:lower():find("chunked") then
      chunked = true
    end
  end
  local data = ""
  if chunked then
    local parts = {}
    while true do
      local size = tonumber(assert(sock:receive("*l")), 16)
      if size == 0 then
        assert(sock:receive("*l"))
        break
      end
      parts[#parts + 1] = assert(sock:receive(size))
      assert(sock:receive("*l"))
    end
    data = table.concat(parts)
  elseif length and length > 0 then
    data = assert(sock:receive(length))
  end
  sock:setkeepalive(60000, THREADS)
  return status, data
end

function M.cosocket()
  measure(function(list)
    local status, body = request("POST", "/v1/queries/batch",
      cjson.encode{source = "universal", url = list})
    assert(status == 202 or status == 200, "batch answered " .. tostring(status))
    local ids = {}
    for i, job in ipairs(cjson.decode(body).queries) do ids[i] = job.id end
    local next_i, fetched, polls, bytes = 1, 0, 0, 0
    local function worker()
      while next_i <= #ids do
        local id = ids[next_i]
        next_i = next_i + 1
        while true do
          local st, data = request("GET", "/v1/queries/" .. id .. "/results")
          polls = polls + 1
          if st == 200 then
            fetched, bytes = fetched + 1, bytes + #data
            break
          elseif st ~= 204 then
            error("results of " .. id .. " answered " .. tostring(st))
          end
          ngx.sleep(0.001)
        end
      end
    end
    local threads = {}
    for i = 1, THREADS do threads[i] = ngx.thread.spawn(worker) end
    for i = 1, THREADS do assert(ngx.thread.wait(threads[i])) end
    return {ok = fetched == #ids, fetched = fetched, bytes = bytes, requests = polls + 1}
  end)
end

return M
