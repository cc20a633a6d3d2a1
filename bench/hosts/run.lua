-- Host benchmarks (see bench/README.md, "Hosts"). From the repository root:
--   lua5.4 bench/hosts/run.lua            (both)
--   lua5.4 bench/hosts/run.lua nginx|nvim
-- The Neovim figure is taken twice: with the client's default batch_size
-- and with batch_size = 100.
-- Environment: JOBS (nginx batch, 2000), NVIM_JOBS (1000), DURATION (wrk
-- seconds, 5), ROUNDS (3), CONNECTIONS (wrk -c, 50), JOB_TIME (emulator --job-time,
-- uniform:2s:8s so that the batch outlasts the wrk run), PIN (0: the Neovim
-- run without core pinning; see bench/hosts/pin.lua), NICE (-10: Neovim's
-- priority; 0 leaves it).
package.path = "spec/?.lua;bench/hosts/?.lua;" .. package.path
require("support.env")
local cjson = require("cjson")
local socket = require("socket")
local emulator = require("support.emulator")
local site = require("support.site")
local nginx = require("support.nginx")
local nvim = require("support.nvim")
local common = require("hosts.common")
local pin = require("pin")

local JOBS = tonumber(os.getenv("JOBS")) or 2000
local NVIM_JOBS = tonumber(os.getenv("NVIM_JOBS")) or 1000
local DURATION = tonumber(os.getenv("DURATION")) or 5
local CONNECTIONS = tonumber(os.getenv("CONNECTIONS")) or 50
local JOB_TIME = os.getenv("JOB_TIME") or "uniform:2s:8s"
local ROUNDS = tonumber(os.getenv("ROUNDS")) or 3

local which = arg[1]

local function ms(v, unit)
  v = tonumber(v)
  if unit == "us" then return v / 1000 end
  if unit == "s" then return v * 1000 end
  return v
end

-- wrk --latency output: requests/s and the 50/99 % latencies in ms.
local function parse_wrk(out)
  local r = {}
  r.p50 = ms(out:match("%s50%%%s+([%d.]+)(%a+)"), out:match("%s50%%%s+[%d.]+(%a+)"))
  r.p99 = ms(out:match("%s99%%%s+([%d.]+)(%a+)"), out:match("%s99%%%s+[%d.]+(%a+)"))
  r.rps = tonumber(out:match("Requests/sec:%s+([%d.]+)"))
  r.errors = out:match("Non%-2xx[^\n]*") or out:match("Socket errors:[^\n]*")
  if not r.p99 then error("cannot read wrk's output:\n" .. out) end
  return r
end

local function wrk(url)
  local p = io.popen(("wrk -t2 -c%d -d%ds --latency %s 2>&1"):format(CONNECTIONS, DURATION, url))
  local out = p:read("*a")
  p:close()
  return parse_wrk(out)
end

local function show(label, r)
  print(("%-34s p50 %7.2f ms   p99 %7.2f ms   %8.0f req/s%s"):format(
    label, r.p50, r.p99, r.rps or 0, r.errors and ("   (" .. r.errors .. ")") or ""))
end

local function median(list, key)
  local v = {}
  for i, r in ipairs(list) do v[i] = r[key] end
  table.sort(v)
  return v[math.ceil(#v / 2)]
end

-- One round: wrk with no batch, then wrk with a batch started 0.3 s into
-- the run (its submission and its polls fall inside the measurement).
local function nginx_round(srv, batch_size)
  local url = srv.url .. "/static"
  local idle = wrk(url)
  local dir = common.mktemp(true)
  local p = io.popen(("wrk -t2 -c%d -d%ds --latency %s 2>&1"):format(CONNECTIONS, DURATION, url))
  socket.sleep(0.3)
  common.run("(curl -s -m 600 " .. common.sh_quote(srv.url .. "/batch?n=" .. JOBS
      .. (batch_size and ("&batch_size=" .. batch_size) or "")) .. " -o "
    .. common.sh_quote(dir .. "/body") .. "; touch " .. common.sh_quote(dir .. "/done") .. ") >/dev/null 2>&1 &")
  local busy = parse_wrk(p:read("*a"))
  p:close()
  local still_running = common.read_file(dir .. "/done") == nil
  while not common.read_file(dir .. "/done") do socket.sleep(0.1) end
  local batch = cjson.decode(common.read_file(dir .. "/body") or "null")
  common.run("rm -rf " .. common.sh_quote(dir))
  return idle, busy, still_running, batch
end

local function bench_nginx(batch_size)
  local emu = emulator.start{"--job-time", JOB_TIME, "--workers", "2"}
  local s = site.start()
  local srv = nginx.start{template = "bench/hosts/nginx.conf", workers = 1,
    vars = {EMULATOR = emu.url, SITE = s.url}}
  local ok, err = pcall(function()
    wrk(srv.url .. "/static") -- warm up
    print(("nginx: 1 worker, wrk -t2 -c%d -d%ds --latency on /static; batch of %d jobs (batch_size %s), "
      .. "emulator --job-time %s; %d rounds"):format(CONNECTIONS, DURATION, JOBS, batch_size or "default",
      JOB_TIME, ROUNDS))
    local idles, busies = {}, {}
    local requests = 0 -- the worker's client is reused: its counters add up
    for round = 1, ROUNDS do
      local idle, busy, still_running, batch = nginx_round(srv, batch_size)
      idles[round], busies[round] = idle, busy
      show(("  round %d idle"):format(round), idle)
      show(("  round %d with the batch"):format(round), busy)
      if batch then
        local total = batch.stats and batch.stats.requests or 0
        print(("    batch: %d/%d fetched in %.1f s, %d requests to the emulator; running until wrk ended: %s")
          :format(batch.fetched, batch.n, batch.seconds, total - requests, tostring(still_running)))
        requests = total
      end
    end
    local mi, mb = median(idles, "p99"), median(busies, "p99")
    print(("  median p99: idle %.2f ms, with the batch %.2f ms, ratio %.2f (target < 2); median p50: %.2f / %.2f ms")
      :format(mi, mb, mb / mi, median(idles, "p50"), median(busies, "p50")))
  end)
  srv:stop(); s:stop(); emu:stop()
  if not ok then error(err, 0) end
end

local function bench_nvim(batch_size)
  local emu = emulator.start{"--job-time", os.getenv("NVIM_JOB_TIME") or "uniform:1s:5s", "--workers", "2"}
  local s = site.start()
  -- Neovim is started by this process, which waits meanwhile: it inherits
  -- this process' core and priority
  local me = pin.self_pid()
  pin.others(emu.pid, s.pid)
  pin.measured(me)
  pin.prioritize(me)
  local r, log = nvim.run("bench/hosts/nvim_timer.lua",
    {EMULATOR = emu.url, SITE = s.url, JOBS = NVIM_JOBS, BATCH_SIZE = batch_size or "",
      NVIM_GC = os.getenv("NVIM_GC") or ""}, {timeout = 300})
  pin.release(me)
  s:stop(); emu:stop()
  if not r or r.error then error("nvim bench failed: " .. tostring(r and r.error or log), 0) end
  print(("nvim: 10 ms uv timer while %d jobs are in flight (luv driver, emulator --job-time %s, batch_size %s)")
    :format(r.jobs, os.getenv("NVIM_JOB_TIME") or "uniform:1s:5s", batch_size or "default"))
  print("  " .. pin.describe("Neovim", "the emulator and the test site", "Neovim"))
  print(("  lateness over %d ticks: p50 %.2f ms, p99 %.2f ms, worst %.2f ms (target worst < 20)")
    :format(r.ticks, r.p50_ms, r.p99_ms, r.worst_ms))
  print(("  batch: %d/%d fetched in %.1f s"):format(r.fetched, r.jobs, r.seconds))
  print(("  luv driver: %d drives, %.0f ms in all; longest %.2f ms (core step %.2f ms, settle %.2f ms); "
    .. "most in one pass of the loop %.2f ms; %d settles sliced"):format(r.drives, r.drive_ms,
    r.longest_drive_ms, r.longest_step_ms, r.longest_settle_ms, r.longest_pass_ms, r.sliced))
  for _, w in ipairs(r.worst_ticks or {}) do
    print(("  late tick: %.2f ms late, %.2f ms of CPU over its %.2f ms, %d involuntary and %d voluntary "
      .. "context switches"):format(w.late_ms, w.cpu_ms, w.late_ms + 10, w.involuntary, w.voluntary))
  end
end

if not which or which == "nginx" then
  bench_nginx()
  bench_nginx(100)
end
if not which or which == "nvim" then
  bench_nvim()      -- the whole batch in one request: one large answer to parse
  bench_nvim(100)   -- split into requests of 100 values
end
