-- Polling only, side by side in one run against one emulator: a plain
-- client that asks every pending job's results every second, and pushpull
-- with its default options (no callbacks). Each submits batches of COUNT
-- query jobs; the notice delay of a job is the time from its end (the
-- emulator's finished_at, GET /_emulator/jobs/ID) to the moment its results
-- were in the client's hands.
--
--   lua5.4 bench/client/polling.lua EMULATOR_URL [COUNT] [ROUNDS]
--
-- The emulator should run with --job-time lognormal:3s:0.6 (any law works).
-- Each round is one batch for the plain poller, then one for pushpull; the
-- pushpull client is kept across rounds, so round 1 is a cold client (no
-- job times seen yet) and later rounds are warm.
--
-- The plain poller is the strongest simple form of "poll every second":
-- libuv (luv) with CONNECTIONS keep-alive connections, every pending job's
-- GET /v1/queries/ID/results (204 while pending, 200 and the results when
-- done) once a second, so a finished job costs one request per poll.
local uv = require("luv")
local cjson = require("cjson")
local socket = require("socket")
local mime = require("mime")
local pushpull = require("pushpull")

local base_url = assert(arg[1], "usage: polling.lua EMULATOR_URL [COUNT] [ROUNDS]")
local count = tonumber(arg[2] or "2000")
local rounds = tonumber(arg[3] or "2")
local user = os.getenv("PUSHPULL_USERNAME") or "user"
local pass = os.getenv("PUSHPULL_PASSWORD") or "pass1"
local connections = tonumber(os.getenv("CONNECTIONS") or "16")
local period = tonumber(os.getenv("PERIOD") or "1")
local host, port = base_url:match("^http://([^:/]+):(%d+)")
assert(host, "EMULATOR_URL must be http://HOST:PORT")
local auth = "Basic " .. mime.b64(user .. ":" .. pass)

-- ---- a minimal HTTP/1.1 keep-alive client on libuv

-- A pool of connections working through a queue of requests, one request
-- at a time per connection. req = {method, path, body, done(status, body)}.
local function new_pool(n)
  local pool = {queue = {}, head = 1, conns = {}, sent = 0}
  local function take()
    if pool.head > #pool.queue then return nil end
    local r = pool.queue[pool.head]
    pool.queue[pool.head] = false
    pool.head = pool.head + 1
    return r
  end
  local function connect(c)
    c.tcp = uv.new_tcp()
    c.buf, c.busy = "", nil
    c.tcp:connect(host, tonumber(port), function(err)
      assert(not err, err)
      c.ready = true
      c.pump()
    end)
    c.tcp:read_start(function(err, data)
      if err or not data then
        -- the server closed the connection: reconnect, send the request again
        local r = c.busy
        c.ready, c.busy = false, nil
        if not c.tcp:is_closing() then c.tcp:close() end
        if r then
          pool.head = pool.head - 1
          pool.queue[pool.head] = r
        end
        connect(c)
        return
      end
      c.buf = c.buf .. data
      while c.busy do
        local he = c.buf:find("\r\n\r\n", 1, true)
        if not he then return end
        local head = c.buf:sub(1, he - 1)
        local status = tonumber(head:match("^HTTP/1%.%d (%d+)"))
        local len = tonumber(head:lower():match("\r\ncontent%-length:%s*(%d+)")) or 0
        if #c.buf < he + 3 + len then return end
        local body = c.buf:sub(he + 4, he + 3 + len)
        c.buf = c.buf:sub(he + 4 + len)
        local r = c.busy
        c.busy = nil
        r.done(status, body)
        c.pump()
      end
    end)
  end
  for i = 1, n do
    local c = {}
    function c.pump()
      if not c.ready or c.busy then return end
      local r = take()
      if not r then return end
      c.busy = r
      pool.sent = pool.sent + 1
      local body = r.body or ""
      c.tcp:write(("%s %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: %s\r\n" ..
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"):format(
        r.method, r.path, host, port, auth, #body, body))
    end
    pool.conns[i] = c
    connect(c)
  end
  function pool.add(r)
    pool.queue[#pool.queue + 1] = r
    for _, c in ipairs(pool.conns) do
      if not c.busy then c.pump() end
      if pool.head > #pool.queue then break end
    end
  end
  function pool.close()
    for _, c in ipairs(pool.conns) do
      c.ready = false
      if not c.tcp:is_closing() then
        c.tcp:read_stop()
        c.tcp:close()
      end
    end
  end
  return pool
end

local function queries(tag)
  local q = {}
  for i = 1, count do q[i] = ("%s %d"):format(tag, i) end
  return q
end

-- ---- the plain poller

local function plain_round(tag)
  local pool = new_pool(connections)
  local noticed, ids, t0 = {}, nil, nil
  local pending, left = {}, 0
  local timer = uv.new_timer()
  local function poll_all()
    for _, id in ipairs(ids) do
      if pending[id] == "idle" then
        pending[id] = "out"
        pool.add{method = "GET", path = "/v1/queries/" .. id .. "/results", done = function(status)
          if status == 200 then
            pending[id] = nil
            noticed[id] = socket.gettime()
            left = left - 1
            if left == 0 then
              timer:stop()
              timer:close()
              pool.close()
            end
          else
            pending[id] = "idle"
          end
        end}
      end
    end
  end
  pool.add{method = "POST", path = "/v1/queries/batch",
    body = cjson.encode{source = "google_search", query = queries(tag)},
    done = function(status, body)
      assert(status == 202 or status == 200, "batch answered " .. tostring(status))
      ids = {}
      for i, job in ipairs(cjson.decode(body).queries) do
        ids[i] = job.id
        pending[job.id] = "idle"
      end
      left = #ids
      t0 = socket.gettime()
      timer:start(math.floor(period * 1000), math.floor(period * 1000), poll_all)
    end}
  uv.run()
  return {ids = ids, noticed = noticed, requests = pool.sent, t0 = t0}
end

-- ---- pushpull, default options

local client = assert(pushpull.new{base_url = base_url, username = user, password = pass})

local function pushpull_round(tag)
  local before = client:stats().requests
  local batch = assert(client:submit_batch{source = "google_search", query = queries(tag)})
  local noticed, ids = {}, {}
  for job in batch:completed{timeout = 600} do
    noticed[job.id] = socket.gettime()
  end
  for i, job in ipairs(batch.jobs) do ids[i] = job.id end
  return {ids = ids, noticed = noticed, requests = client:stats().requests - before}
end

-- ---- figures

-- The emulator's finish time of every job, read over the same kind of
-- pool (not counted as client traffic).
local function finish_times(ids)
  local pool = new_pool(8)
  local out, left = {}, #ids
  for _, id in ipairs(ids) do
    pool.add{method = "GET", path = "/_emulator/jobs/" .. id, done = function(status, body)
      if status == 200 then out[id] = cjson.decode(body) end
      left = left - 1
      if left == 0 then pool.close() end
    end}
  end
  uv.run()
  return out
end

local function figures(label, run)
  local info = finish_times(run.ids)
  local delays, job_times, lag = {}, {}, 0
  for _, id in ipairs(run.ids) do
    local f, at = info[id], run.noticed[id]
    if f and at then
      delays[#delays + 1] = at - f.finished_at
      job_times[#job_times + 1] = f.finished_at - f.created_at
      lag = lag + ((run.t0 or f.created_at) - f.created_at)
    end
  end
  table.sort(delays)
  local sum = 0
  for _, d in ipairs(delays) do sum = sum + d end
  local n = math.max(#delays, 1)
  local jt = 0
  for _, t in ipairs(job_times) do jt = jt + t end
  local r = {
    label = label, jobs = #run.ids, noticed = #delays,
    requests_per_job = run.requests / #run.ids,
    mean_delay_ms = 1000 * sum / n,
    p50_delay_ms = 1000 * (delays[math.max(1, math.floor(n * 0.5))] or 0),
    p90_delay_ms = 1000 * (delays[math.max(1, math.floor(n * 0.9))] or 0),
    mean_job_s = jt / n,
    answer_lag_ms = 1000 * lag / n,
  }
  print(("%-22s jobs=%d requests/job=%.3f notice delay mean=%.0fms p50=%.0fms p90=%.0fms (mean job %.2fs%s)"):format(
    label, r.jobs, r.requests_per_job, r.mean_delay_ms, r.p50_delay_ms, r.p90_delay_ms, r.mean_job_s,
    run.t0 and (", batch answer read %.0fms after the jobs began"):format(r.answer_lag_ms) or ""))
  io.stdout:flush()
  return r
end

local results = {}
for round = 1, rounds do
  results[#results + 1] = figures(("plain %gs poller #%d"):format(period, round), plain_round("plain " .. round))
  results[#results + 1] = figures(("pushpull #%d (%s)"):format(round, round == 1 and "cold" or "warm"),
    pushpull_round("pushpull " .. round))
end
if os.getenv("POLLING_JSON") then
  local f = assert(io.open(os.getenv("POLLING_JSON"), "w"))
  f:write(cjson.encode(results), "\n")
  f:close()
end
