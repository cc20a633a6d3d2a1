-- Core pinning for the host benchmarks (util-linux `taskset`). On a machine
-- of two or more cores the measured process (the nginx worker, Neovim) gets
-- core 0 to itself and everything that loads it (the emulator, the test
-- site, the load loop, a second nginx) the other cores, for idle and loaded
-- rounds alike: a latency then says what the measured process does, not
-- what the machine's other work does to its core. PIN=0 turns it off.
-- The measured process and the load loop also run at a higher priority
-- (nice NICE, -10; NICE=0 turns it off): the measured process is not
-- time-sliced with other work that lands on its core, and the load loop,
-- which shares its core with the emulator, is not made late by it.
--
--   local pin = require("pin")
--   pin.measured(pid, ...); pin.others(pid, ...); pin.prioritize(pid, ...)
--   pin.release(pid, ...); pin.nginx_workers(srv)
local common = require("hosts.common")

local M = {}

local function cores()
  return tonumber(common.line("nproc 2>/dev/null") or "") or 1
end

M.enabled = os.getenv("PIN") ~= "0" and cores() >= 2
  and common.run("command -v taskset >/dev/null 2>&1")
M.MEASURED = "0"
M.OTHERS = M.enabled and (cores() == 2 and "1" or ("1-" .. (cores() - 1))) or nil
M.ALL = M.enabled and ("0-" .. (cores() - 1)) or nil

-- Sets the cores of every thread of each pid.
local function set(cpus, ...)
  if not M.enabled then return end
  for _, pid in ipairs{...} do
    if not common.run(("taskset -a -p -c %s %d >/dev/null"):format(cpus, pid)) then
      error("taskset could not pin pid " .. tostring(pid), 2)
    end
  end
end

M.NICE = tonumber(os.getenv("NICE") or "-10")

function M.measured(...) set(M.MEASURED, ...) end

local function renice(nice, ...)
  for _, pid in ipairs{...} do
    if not common.run(("for t in /proc/%d/task/*; do renice -n %d -p ${t##*/} >/dev/null || exit 1; done")
        :format(pid, nice)) then
      error("renice could not set the priority of pid " .. tostring(pid), 3)
    end
  end
end

-- Raises the priority of each pid (every thread of it).
function M.prioritize(...)
  if M.NICE ~= 0 then renice(M.NICE, ...) end
end

-- Gives each pid back every core and the normal priority.
function M.release(...)
  set(M.ALL, ...)
  if M.NICE ~= 0 then renice(0, ...) end
end
function M.others(...) set(M.OTHERS, ...) end

-- The pid of this Lua process.
function M.self_pid()
  return tonumber(common.line("echo $PPID"))
end

-- The worker pids of a server of spec/support/nginx.lua.
function M.nginx_workers(srv)
  local out = {}
  local p = io.popen("ps -o pid= --ppid " .. srv.pid .. " 2>/dev/null")
  for line in p:lines() do
    out[#out + 1] = tonumber(line)
  end
  p:close()
  return out
end

-- One line for the report.
function M.describe(measured, others, prioritized)
  local nice = M.NICE ~= 0 and ("; " .. prioritized .. " at nice " .. M.NICE) or ""
  if not M.enabled then
    return "not pinned (PIN=0, one core, or no taskset)" .. nice
  end
  return ("pinned: %s on core %s; %s on core %s%s"):format(measured, M.MEASURED, others, M.OTHERS, nice)
end

return M
