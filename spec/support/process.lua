-- Starts one of the project's servers in the background and learns its
-- address from the first line it prints, "listening on http://ADDR:PORT".
--
--   local p = process.start(env.bin("pushpull-testsite"), {"--port", "0"})
--   p.url, p.port, p.pid;  p:stop()
--
-- Every process started here is also stopped when the Lua process that
-- started it goes away, whatever happens to the spec: a small shell
-- watchdog per process checks its parent once a second.
local socket = require("socket")

local process = {}

local running = {} -- pid -> process object, until stopped

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
process.quote = quote

-- Runs a shell command; what it printed.
local function shell(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end
process.shell = shell

local read_file = require("support.files").read

-- The pid of this Lua process: the parent of the shell io.popen starts.
local own_pid
local function self_pid()
  if not own_pid then
    own_pid = tonumber(shell("echo $PPID"):match("%d+"))
  end
  return own_pid
end

-- True while pid runs; a zombie (exited, not yet reaped) counts as gone.
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then
    return false
  end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end
process.alive = alive

local Process = {}
Process.__index = Process

-- What the process wrote to stderr so far.
function Process:log()
  return read_file(self.err_path) or ""
end

-- Stops the process (SIGTERM, then SIGKILL after `grace` seconds) and waits
-- until it is gone. Safe to call twice. Raises when the process' stderr
-- holds a sanitizer report (builds with PUSHPULL_SANITIZE=ON).
function Process:stop(grace)
  if self.stopped then
    return true
  end
  self.stopped = true
  running[self.pid] = nil
  grace = grace or 5
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  local deadline = socket.gettime() + grace
  while alive(self.pid) and socket.gettime() < deadline do
    socket.sleep(0.02)
  end
  if alive(self.pid) then
    os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
    deadline = socket.gettime() + 2
    while alive(self.pid) and socket.gettime() < deadline do
      socket.sleep(0.02)
    end
  end
  self.final_log = read_file(self.err_path) or ""
  os.remove(self.out_path)
  if not self.keep_log then
    os.remove(self.err_path)
  end
  local report = process.sanitizer_report(self.final_log)
  if report then
    error(("%s reported a sanitizer error:\n%s"):format(self.bin, report), 2)
  end
  return not alive(self.pid)
end

-- The AddressSanitizer / LeakSanitizer / UBSan report in a log, or nil.
function process.sanitizer_report(log)
  local at = log:find("ERROR: AddressSanitizer", 1, true)
    or log:find("ERROR: LeakSanitizer", 1, true)
    or log:find("runtime error:", 1, true)
  if at then
    return log:sub(math.max(1, at - 200), at + 3000)
  end
  return nil
end

-- Starts bin with the list args. opts.timeout: seconds to wait for the
-- "listening on" line (default 5). Raises with the process' stderr when it
-- exits or stays silent.
function process.start(bin, args, opts)
  opts = opts or {}
  local out_path = os.tmpname()
  local err_path = os.tmpname()
  local words = {quote(bin)}
  for _, a in ipairs(args or {}) do
    words[#words + 1] = quote(a)
  end
  local cmd = table.concat(words, " ")
  local pid = tonumber(shell(("%s >%s 2>%s </dev/null & echo $!")
    :format(cmd, quote(out_path), quote(err_path))):match("%d+"))
  assert(pid, "could not start " .. bin)

  -- The watchdog: ends the server once this Lua process or the server ends.
  local parent = self_pid()
  if parent then
    os.execute(("(while kill -0 %d 2>/dev/null && kill -0 %d 2>/dev/null; do sleep 1; done;"
      .. " kill -TERM %d 2>/dev/null) </dev/null >/dev/null 2>&1 &"):format(parent, pid, pid))
  end

  local self = setmetatable({pid = pid, bin = bin, args = args or {},
    out_path = out_path, err_path = err_path, keep_log = opts.keep_log}, Process)
  running[pid] = self

  local deadline = socket.gettime() + (opts.timeout or 5)
  while true do
    local out = read_file(out_path) or ""
    local line = out:match("listening on (http://[^\r\n]+)\r?\n")
    if line then
      self.url = line
      self.port = tonumber(line:match(":(%d+)/?$"))
      self.host = line:match("^http://(.-):%d+/?$")
      break
    end
    if not alive(pid) or socket.gettime() > deadline then
      local log = read_file(err_path) or ""
      self:stop(1)
      os.remove(err_path)
      error(("%s %s did not start (%s): stdout %q, stderr %q"):format(bin,
        table.concat(self.args, " "), alive(pid) and "no 'listening on' line" or "it exited",
        out, log), 2)
    end
    socket.sleep(0.02)
  end
  return self
end

-- Stops every process started here and not stopped yet.
function process.stop_all()
  for _, p in pairs(running) do
    pcall(p.stop, p)
  end
end

-- The processes started here and still running.
function process.running()
  local list = {}
  for _, p in pairs(running) do
    list[#list + 1] = p
  end
  return list
end

-- Under Lua 5.4 a closing state collects this sentinel and stops the rest
-- at once; the watchdogs cover LuaJIT and abrupt exits.
process._sentinel = setmetatable({}, {__gc = function() process.stop_all() end})

return process
