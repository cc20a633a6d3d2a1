-- Debian's redis-server for a spec: on a free loopback port, in a folder of
-- its own, nothing saved unless asked to persist (then an append-only file
-- fsynced on every write: a SIGKILL loses no acknowledged write). It can be
-- killed and started again on the same port and folder.
--
--   local r = redis.start{persist = true}
--   r.url ("redis://127.0.0.1:PORT"), r:kill(), r:restart(), r:stop()
--   r:command("DBSIZE") -> its answer (redis-cli)
local socket = require("socket")
local process = require("support.process")

local redis = {}

local quote, shell = process.quote, process.shell

local free_port = require("support.nginx").free_port

local function pings(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  if not c:connect("127.0.0.1", port) then
    c:close()
    return false
  end
  c:send("PING\r\n")
  local line = c:receive("*l")
  c:close()
  return line == "+PONG"
end

local Server = {}
Server.__index = Server

-- Starts the server process on the server's port and folder; raises when
-- it does not answer PING within 5 s.
function Server:launch()
  local cmd = ("redis-server --port %d --bind 127.0.0.1 --save '' --appendonly %s"
    .. " --appendfsync always --dir %s --daemonize no >>%s 2>&1 </dev/null & echo $!"):format(
    self.port, self.persist and "yes" or "no", quote(self.dir), quote(self.dir .. "/redis.log"))
  self.pid = assert(tonumber(shell(cmd):match("%d+")), "could not start redis-server")
  -- ends the server when the Lua process that started it goes away
  local parent = tonumber(shell("echo $PPID"):match("%d+"))
  os.execute(("(while kill -0 %d 2>/dev/null && kill -0 %d 2>/dev/null; do sleep 1; done;"
    .. " kill -KILL %d 2>/dev/null) </dev/null >/dev/null 2>&1 &"):format(parent, self.pid, self.pid))
  local deadline = socket.gettime() + 5
  while not pings(self.port) do
    if not process.alive(self.pid) or socket.gettime() > deadline then
      local f = io.open(self.dir .. "/redis.log")
      local log = f and f:read("*a") or ""
      if f then f:close() end
      error("redis-server did not start (is it installed? make deps): " .. log, 2)
    end
    socket.sleep(0.02)
  end
end

-- SIGKILL, and waits until it is gone.
function Server:kill()
  os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  local deadline = socket.gettime() + 5
  while process.alive(self.pid) and socket.gettime() < deadline do
    socket.sleep(0.02)
  end
end

function Server:restart()
  self:launch()
end

-- Stops it and removes its folder.
function Server:stop()
  self:kill()
  os.execute("rm -rf " .. quote(self.dir))
end

-- One command through redis-cli; its answer as text.
function Server:command(...)
  local words = {"redis-cli", "-p", tostring(self.port)}
  for _, a in ipairs{...} do
    words[#words + 1] = quote(a)
  end
  return (shell(table.concat(words, " ")):gsub("%s+$", ""))
end

function redis.start(opts)
  opts = opts or {}
  local dir = shell("mktemp -d /tmp/pp-redis-spec-XXXXXX"):gsub("%s+$", "")
  local self = setmetatable({port = free_port(), dir = dir, persist = opts.persist}, Server)
  self.url = "redis://127.0.0.1:" .. self.port
  self:launch()
  return self
end

return redis
