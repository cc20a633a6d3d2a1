-- Fleet throughput on one Redis: COUNT jobs of one tag shared by 1, 2 and
-- 4 worker processes (bench/fleet/worker.lua) on this machine, end to end
-- (submission, client:completed{tag} hand-out, result stored). Starts its
-- own redis-server on a free loopback port; the emulator (--job-time 0)
-- and the test site are given. Prints one line a fleet size.
--
--   lua5.4 bench/fleet/throughput.lua EMU SITE COUNT [PROCS...]   (PROCS: 1 2 4)
--
-- FLEET_FSYNC=everysec: the append-only file's appendfsync (always,
-- everysec, no; "off": no append-only file). PAGE=20000: page size.
-- FLEET_VERBOSE=1: each worker's own line too (on stderr).
--
-- Per job: the commands the store sent (INFO commandstats, less those run
-- inside the scripts), the round trips (INFO stats total_reads_processed:
-- one a read of a client's socket, however many commands it held), Redis's
-- time in those commands and its CPU (used_cpu_user + used_cpu_sys), the
-- memory the jobs take in Redis; per process its peak RSS (VmHWM).
local socket = require("socket")
local http = require("socket.http")
local cjson = require("cjson")

local emu, site, count = arg[1], arg[2], tonumber(arg[3])
assert(emu and site and count, "usage: throughput.lua EMU SITE COUNT [PROCS...]")
local sizes = {}
for i = 4, #arg do sizes[#sizes + 1] = tonumber(arg[i]) end
if #sizes == 0 then sizes = {1, 2, 4} end
local fsync = os.getenv("FLEET_FSYNC") or "everysec"
local page = tonumber(os.getenv("PAGE") or "20000")

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local state = f:read("a"):match("^%d+ %b() (%a)")
  f:close()
  return state ~= nil and state ~= "Z"
end

local tmp = sh("mktemp -d"):gsub("%s+$", "")
local s = assert(socket.bind("127.0.0.1", 0))
local _, port = s:getsockname()
s:close()
local aof = fsync == "off" and "--appendonly no" or ("--appendonly yes --appendfsync " .. fsync)
local redis_pid = tonumber(sh(("redis-server --port %d --bind 127.0.0.1 --save '' %s --dir %s"
  .. " --daemonize no >%s/redis.log 2>&1 </dev/null & echo $!"):format(port, aof, tmp, tmp)))
local function cli(cmd)
  return sh(("redis-cli -p %d %s 2>/dev/null"):format(port, cmd))
end
local deadline = socket.gettime() + 5
while not cli("PING"):find("PONG") do
  assert(socket.gettime() < deadline, "redis-server did not start: " .. sh("cat " .. tmp .. "/redis.log"))
  socket.sleep(0.05)
end

-- INFO's fields as numbers: name -> value, and per command {calls, usec}.
local function info()
  local text = cli("INFO everything")
  local fields, commands = {}, {}
  for k, v in text:gmatch("([%w_|]+):([^\r\n]+)") do
    local calls, usec = v:match("^calls=(%d+),usec=(%d+)")
    if k:match("^cmdstat_") and calls then
      commands[k:sub(9)] = {calls = tonumber(calls), usec = tonumber(usec)}
    else
      fields[k] = tonumber(v)
    end
  end
  return fields, commands
end

-- What the fleet's clients send: the store's scripts (EVALSHA), the
-- callback stream (XREAD, XADD) and the connections' set-up. Everything
-- else commandstats counts ran inside the scripts (Redis counts those too,
-- and their time is in EVALSHA's): the claims read the claimed jobs'
-- records themselves (HGETALL inside the script).
local SENT = {evalsha = true, eval = true, ["script|load"] = true, xread = true,
  xadd = true, smembers = true, incr = true, auth = true, select = true, hello = true}

local function run(procs)
  cli("FLUSHALL")
  cli("CONFIG RESETSTAT")
  http.request{url = emu .. "/_emulator/reset", method = "POST"}
  local results, stored = tmp .. "/results-" .. procs, tmp .. "/stored-" .. procs
  sh("mkdir -p " .. results .. " " .. stored)
  local before = info()
  local t0 = socket.gettime()
  local pids, per = {}, count // procs
  for i = 1, procs do
    local n = i < procs and per or count - per * (procs - 1)
    pids[i] = tonumber(sh(("lua5.4 bench/fleet/worker.lua %s %s redis://127.0.0.1:%d %s %s %d %d fleet %d"
      .. " >%s/out-%d-%d 2>&1 </dev/null & echo $!"):format(emu, site, port, results, stored,
      (i - 1) * per, n, page, tmp, procs, i)))
  end
  for _, pid in ipairs(pids) do
    while alive(pid) do socket.sleep(0.02) end
  end
  local wall = socket.gettime() - t0
  local after, commands = info()
  local got, done, rss_min, rss_max = 0, 0, math.huge, 0
  for i = 1, procs do
    local out = sh(("cat %s/out-%d-%d"):format(tmp, procs, i))
    if os.getenv("FLEET_VERBOSE") then io.stderr:write(out) end
    local ok, r = pcall(cjson.decode, out:match("{.*}") or "")
    assert(ok, "worker " .. i .. " of " .. procs .. " failed: " .. out)
    got, done = got + r.got, done + r.stored
    rss_min, rss_max = math.min(rss_min, r.peak_rss_kb), math.max(rss_max, r.peak_rss_kb)
  end
  local calls, usec = 0, 0
  for name, c in pairs(commands) do
    if SENT[name] then
      calls, usec = calls + c.calls, usec + c.usec
    end
  end
  local scripts = (commands.evalsha or {calls = 0}).calls
  -- (less the read of this script's own INFO command in between)
  local trips = after.total_reads_processed - before.total_reads_processed - 1
  local cpu = (after.used_cpu_user + after.used_cpu_sys) - (before.used_cpu_user + before.used_cpu_sys)
  print(("%d process%s %6d jobs  %5.1f s  %5.0f jobs/s  %4.2f commands/job (%4.2f scripts)"
    .. "  %4.2f round trips/job  %3.0f us/job in commands  %3.0f us/job Redis CPU  %4.0f bytes/job"
    .. "  peak RSS %.0f-%.0f MB a process%s"):format(
    procs, procs == 1 and "  " or "es", count, wall, count / wall, calls / count, scripts / count,
    trips / count, usec / count, cpu * 1e6 / count, (after.used_memory - before.used_memory) / count,
    rss_min / 1024, rss_max / 1024,
    (got == count and done == count) and "" or ("  HANDED " .. got .. " STORED " .. done)))
  sh("rm -rf " .. results .. " " .. stored)
end

print(("== fleet on one Redis (appendfsync %s), %d jobs of %d bytes, --job-time 0; load %s"):format(
  fsync, count, page, sh("cut -d' ' -f1 /proc/loadavg"):gsub("%s+$", "")))
local ok, err = pcall(function()
  for _, procs in ipairs(sizes) do run(procs) end
end)
os.execute("kill " .. redis_pid)
sh("rm -rf " .. tmp)
assert(ok, err)
