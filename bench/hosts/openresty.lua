-- OpenResty side by side (see bench/README.md, "OpenResty: pushpull against
-- a hand-written cosocket client"). From the repository root:
--   lua5.4 bench/hosts/openresty.lua
-- One nginx worker, one emulator (--job-time 0), the test site's 20 KB
-- pages. Each round: the load loop alone (idle p99 of the Lua location
-- /lua); the batch through pushpull's ngx driver and through 64
-- ngx.threads with cosockets without load (wall, worker CPU); then both
-- again with the load loop running, and the cosocket batch in a second
-- nginx (the control: what the machine alone does to the idle worker);
-- latencies count only while the batch runs.
-- Environment: JOBS (2000), SIZE (20000), ROUNDS (3), CONNECTIONS (load
-- loop connections, 8), IDLE (seconds of the idle measure, 2), BATCH_SIZE
-- (pushpull's batch_size; pushpull.ngx's default when absent), SLICE
-- (pushpull.wait.SLICE for the pushpull batch, seconds), PIN (0: no core
-- pinning; see bench/hosts/pin.lua), NICE (-10: the priority of the worker
-- and the load loop; 0 leaves it), ERROR_LOG_LEVEL (nginx's error_log
-- level, error).
package.path = "spec/?.lua;bench/hosts/?.lua;" .. package.path
require("support.env")
local cjson = require("cjson")
local socket = require("socket")
local emulator = require("support.emulator")
local site = require("support.site")
local nginx = require("support.nginx")
local pin = require("pin")

local JOBS = tonumber(os.getenv("JOBS")) or 2000
local SIZE = tonumber(os.getenv("SIZE")) or 20000
local ROUNDS = tonumber(os.getenv("ROUNDS")) or 3
local CONNECTIONS = tonumber(os.getenv("CONNECTIONS")) or 8
local IDLE = tonumber(os.getenv("IDLE")) or 2
local BATCH_SIZE = os.getenv("BATCH_SIZE")
local MAX_CONNECTIONS = os.getenv("MAX_CONNECTIONS")
local FIRST = os.getenv("FIRST")
local SLICE = os.getenv("SLICE")
local ERROR_LOG_LEVEL = os.getenv("ERROR_LOG_LEVEL") or "error"

local now = socket.gettime

local function connect(port)
  local s = assert(socket.tcp())
  assert(s:connect("127.0.0.1", port))
  s:setoption("tcp-nodelay", true)
  s:settimeout(0)
  return s
end

local LUA_REQUEST = "GET /lua HTTP/1.1\r\nHost: x\r\n\r\n"

-- Runs the load loop on /lua over CONNECTIONS kept-alive connections (one
-- request in flight on each) until stop() says so; when `batch_path` is
-- given, also sends that request on its own connection and stops when its
-- answer ends. Returns the sorted latencies (ms) of the /lua requests sent
-- while the batch ran (or all of them) and the batch's answer.
local function load_loop(port, duration, batch_path, batch_port, quiet)
  local conns, sent_at, buf = {}, {}, {}
  for i = 1, quiet and 0 or CONNECTIONS do conns[i] = connect(port) end
  local lat = {}
  local batch, batch_buf, batch_done, t_start, t_end
  local function send(s)
    sent_at[s] = now()
    buf[s] = ""
    assert(s:send(LUA_REQUEST))
  end
  for _, s in ipairs(conns) do send(s) end
  local watch = {}
  for _, s in ipairs(conns) do watch[#watch + 1] = s end
  if batch_path then
    batch = connect(batch_port or port)
    batch:settimeout(10)
    assert(batch:send("GET " .. batch_path .. " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    batch:settimeout(0)
    batch_buf, t_start = {}, now()
    watch[#watch + 1] = batch
  end
  local deadline = now() + (duration or 600)
  while now() < deadline and not batch_done do
    local ready = socket.select(watch, nil, 1)
    for _, s in ipairs(ready) do
      local data, err, partial = s:receive(65536)
      data = data or partial
      if s == batch then
        if data and #data > 0 then batch_buf[#batch_buf + 1] = data end
        if err == "closed" then batch_done, t_end = true, now() end
      elseif data and #data > 0 then
        buf[s] = buf[s] .. data
        -- the answer of /lua: headers with a Content-Length of 5, "pong\n"
        if buf[s]:find("\r\n\r\npong\n", 1, true) then
          local t = now()
          lat[#lat + 1] = {sent_at[s], (t - sent_at[s]) * 1000}
          send(s)
        end
      elseif err == "closed" then
        error("the Lua location closed a connection")
      end
    end
  end
  for _, s in ipairs(conns) do s:close() end
  local out = {}
  for _, l in ipairs(lat) do
    if not t_start or (l[1] >= t_start and l[1] < t_end) then out[#out + 1] = l[2] end
  end
  table.sort(out)
  local answer
  if batch then
    batch:close()
    local text = table.concat(batch_buf)
    local body = text:match("\r\n\r\n(.*)$") or ""
    -- (chunked: the JSON line sits between the chunk sizes)
    answer = cjson.decode(body:match("(%b{})") or "null")
  end
  return out, answer
end

local function pct(sorted, p)
  if #sorted == 0 then return 0 / 0 end
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function median(v)
  local s = {}
  for i, x in ipairs(v) do s[i] = x end
  table.sort(s)
  return s[math.ceil(#s / 2)]
end

local emu = emulator.start{"--job-time", "0", "--workers", "2"}
local s = site.start()
local srv = nginx.start{template = "bench/hosts/openresty.conf", workers = 1,
  vars = {EMULATOR = emu.url, SITE = s.url, ERROR_LOG_LEVEL = ERROR_LOG_LEVEL}, env = {JITP = os.getenv("JITP")}}
-- the control: the cosocket batch in another nginx, the measured worker idle
local other = nginx.start{template = "bench/hosts/openresty.conf", workers = 1,
  vars = {EMULATOR = emu.url, SITE = s.url, ERROR_LOG_LEVEL = ERROR_LOG_LEVEL}}
pin.measured(table.unpack(pin.nginx_workers(srv)))
pin.others(emu.pid, s.pid, srv.pid, other.pid, pin.self_pid(), table.unpack(pin.nginx_workers(other)))
pin.prioritize(pin.self_pid(), table.unpack(pin.nginx_workers(srv)))

local ok, err = pcall(function()
  print(pin.describe("the measured nginx worker",
    "the emulator, the test site, the load loop and the control's nginx",
    "the measured worker and the load loop"))
  print(("nginx: 1 worker; %d jobs of %d-byte pages, emulator --job-time 0; load loop: %d connections "
    .. "on a content_by_lua location; %d rounds"):format(JOBS, SIZE, CONNECTIONS, ROUNDS))
  load_loop(srv.port, 0.5) -- warm up
  local fig = {idle = {}, pushpull = {}, cosocket = {}, control = {}}
  local query = "?n=" .. JOBS .. "&size=" .. SIZE
  local pushpull_args = (BATCH_SIZE and ("&batch_size=" .. BATCH_SIZE) or "")
    .. (MAX_CONNECTIONS and ("&max_connections=" .. MAX_CONNECTIONS) or "")
    .. (FIRST and ("&first=" .. FIRST) or "")
    .. (SLICE and ("&slice=" .. SLICE) or "")
  for round = 1, ROUNDS do
    local idle = load_loop(srv.port, IDLE)
    fig.idle[round] = pct(idle, 0.99)
    print(("  round %d idle:      p50 %6.2f ms  p99 %6.2f ms  (%d requests)"):format(round,
      pct(idle, 0.5), pct(idle, 0.99), #idle))
    -- worker CPU of the batch alone (under the load loop it also serves /lua)
    for _, who in ipairs{"pushpull", "cosocket"} do
      local _, r = load_loop(srv.port, nil, "/" .. who .. query .. (who == "pushpull" and pushpull_args or ""),
        nil, true)
      if not r then error(who .. ": no answer (see the nginx error log)") end
      fig[who .. "_quiet"] = fig[who .. "_quiet"] or {}
      fig[who .. "_quiet"][round] = {wall = r.seconds, cpu = r.cpu}
      print(("  round %d %-9s wall %6.2f s  worker CPU %5.2f s  without the load loop"):format(round,
        who .. ":", r.seconds, r.cpu))
    end
    for _, who in ipairs{"pushpull", "cosocket", "control"} do
      local path = "/" .. (who == "control" and "cosocket" or who) .. query
        .. (who == "pushpull" and pushpull_args or "")
      local lat, r = load_loop(srv.port, nil, path, who == "control" and other.port)
      if not r then error(who .. ": no answer (see the nginx error log)") end
      local p99 = pct(lat, 0.99)
      fig[who][round] = {wall = r.seconds, cpu = r.cpu, p99 = p99}
      print(("  round %d %-9s wall %6.2f s  worker CPU %5.2f s  /lua p50 %6.2f ms  p99 %6.2f ms"
        .. "  (%d/%d fetched%s%s)"):format(round, who .. ":", r.seconds, r.cpu, pct(lat, 0.5), p99,
        r.fetched, r.n, "", r.err and (", " .. r.err) or ""))
      if r.ticks then
        print(("    submit_batch returned at %.2f s, the first job ended at %.2f s"):format(r.submitted, r.first))
        print(("    engine: %d ticks (%.0f/s), %.2f ms of core work per tick, %d ticks yielded midway, "
          .. "longest stretch %.1f ms"):format(r.ticks, r.ticks / r.seconds, r.work / r.ticks * 1000,
          r.yields, r.longest * 1000))
      end
    end
  end
  local function med(who, k)
    local v = {}
    for i, f in ipairs(fig[who]) do v[i] = f[k] end
    return median(v)
  end
  local idle = median(fig.idle)
  print(("  medians without the load loop: pushpull wall %.2f s, CPU %.2f s; cosocket wall %.2f s, CPU %.2f s")
    :format(med("pushpull_quiet", "wall"), med("pushpull_quiet", "cpu"), med("cosocket_quiet", "wall"),
      med("cosocket_quiet", "cpu")))
  print(("  medians: idle p99 %.2f ms; pushpull wall %.2f s, CPU %.2f s, p99 %.2f ms (x%.2f idle); "
    .. "cosocket wall %.2f s, CPU %.2f s, p99 %.2f ms (x%.2f idle); wall ratio %.2f (target <= 1.5), "
    .. "pushpull p99 ratio %.2f (target < 2); control (the batch in another nginx) p99 %.2f ms (x%.2f idle)"):format(idle,
    med("pushpull", "wall"), med("pushpull", "cpu"), med("pushpull", "p99"), med("pushpull", "p99") / idle,
    med("cosocket", "wall"), med("cosocket", "cpu"), med("cosocket", "p99"), med("cosocket", "p99") / idle,
    med("pushpull", "wall") / med("cosocket", "wall"), med("pushpull", "p99") / idle,
    med("control", "p99"), med("control", "p99") / idle))
end)
srv:stop(); other:stop(); s:stop(); emu:stop()
if not ok then error(err, 0) end
