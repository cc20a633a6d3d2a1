-- Debian's redis-server for a spec: on a free loopback port, in a folder of
-- its own, nothing saved unless asked to persist (then an append-only file
-- fsynced on every write: a SIGKILL loses no acknowledged write). It can be
-- killed and started again on the same port and folder.
--
--   local r = redis.start{persist = true}
--   r.url ("redis://127.0.0.1:PORT"), r:kill(), r:restart(), r:stop()
--   r:command("DBSIZE") -> its answer (redis-cli)
--
-- TLS only (--port 0 --tls-port), with certificates core/tests/tls_certs.sh
-- makes in its folder at start (r:file("ca.crt"), "client.crt", ...; the
-- list is in the script):
--   redis.start{tls = true}        r.url is "rediss://127.0.0.1:PORT"
--   redis.start{tls = "clients"}   ... and it requires client certificates
--   redis.start{tls = true, cert = "stranger", certs = other.dir}
--                                  shows another of the certificates, those
--                                  of another server's folder
local socket = require("socket")
local process = require("support.process")
local env = require("support.env")

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

-- A certificate file of the server's set.
function Server:file(name)
  return self.certs .. "/" .. name
end

-- redis-cli's options to reach it (TLS with a client certificate, the
-- server's own not verified).
function Server:cli_options()
  local words = {"-p", tostring(self.port)}
  if self.tls then
    for _, w in ipairs{"--tls", "--insecure", "--cert", self:file("client.crt"), "--key", self:file("client.key")} do
      words[#words + 1] = quote(w)
    end
  end
  return table.concat(words, " ")
end

function Server:pings()
  if not self.tls then
    return pings(self.port)
  end
  return shell("redis-cli -h 127.0.0.1 " .. self:cli_options() .. " PING 2>/dev/null"):match("PONG") ~= nil
end

-- The options that make it listen: a plain port, or TLS only.
function Server:listen_options()
  if not self.tls then
    return ("--port %d"):format(self.port)
  end
  local cert = self.cert or "server"
  return ("--port 0 --tls-port %d --tls-cert-file %s --tls-key-file %s --tls-ca-cert-file %s"
    .. " --tls-auth-clients %s"):format(self.port, quote(self:file(cert .. ".crt")),
    quote(self:file(cert .. ".key")), quote(self:file("ca.crt")),
    self.tls == "clients" and "yes" or "no")
end

-- Starts the server process on the server's port and folder; raises when
-- it does not answer PING within 5 s.
function Server:launch()
  local cluster = self.cluster
    and (" --cluster-enabled yes --cluster-config-file %s"):format(quote(self.dir .. "/nodes.conf")) or ""
  local cmd = ("redis-server %s --bind 127.0.0.1 --save '' --appendonly %s"
    .. " --appendfsync always --dir %s --daemonize no%s >>%s 2>&1 </dev/null & echo $!"):format(
    self:listen_options(), self.persist and "yes" or "no", quote(self.dir), cluster,
    quote(self.dir .. "/redis.log"))
  self.pid = assert(tonumber(shell(cmd):match("%d+")), "could not start redis-server")
  -- ends the server when the Lua process that started it goes away
  local parent = tonumber(shell("echo $PPID"):match("%d+"))
  os.execute(("(while kill -0 %d 2>/dev/null && kill -0 %d 2>/dev/null; do sleep 1; done;"
    .. " kill -KILL %d 2>/dev/null) </dev/null >/dev/null 2>&1 &"):format(parent, self.pid, self.pid))
  local deadline = socket.gettime() + 5
  while not self:pings() do
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
  local words = {"redis-cli", self:cli_options()}
  for _, a in ipairs{...} do
    words[#words + 1] = quote(a)
  end
  return (shell(table.concat(words, " ")):gsub("%s+$", ""))
end

function redis.start(opts)
  opts = opts or {}
  local dir = shell("mktemp -d /tmp/pp-redis-spec-XXXXXX"):gsub("%s+$", "")
  local self = setmetatable({port = opts.port or free_port(), dir = dir, persist = opts.persist,
    tls = opts.tls, cert = opts.cert, certs = opts.certs or dir, cluster = opts.cluster}, Server)
  self.url = (self.tls and "rediss" or "redis") .. "://127.0.0.1:" .. self.port
  if self.tls and not opts.certs then
    local out = shell("sh " .. quote(env.root .. "/core/tests/tls_certs.sh") .. " " .. quote(dir) .. " 2>&1 && echo made")
    assert(out:match("made"), "could not make certificates (openssl): " .. out)
  end
  self:launch()
  return self
end

-- A free port whose cluster bus port (port + 10000) is free too.
local function cluster_port()
  for _ = 1, 100 do
    local port = free_port()
    if port + 10000 <= 65535 then
      local s = socket.tcp()
      local ok = s:bind("127.0.0.1", port + 10000)
      s:close()
      if ok then
        return port
      end
    end
  end
  error("no free port for a cluster node")
end

-- Three masters of one Redis Cluster, every slot assigned, cluster_state:ok
-- on each: a list of servers (url: any one node's). stop() on each.
--   local nodes = redis.start_cluster()
--   redis.node_of(nodes, key) -> the index of the node that serves key
function redis.start_cluster()
  local nodes, addrs = {}, {}
  for i = 1, 3 do
    nodes[i] = redis.start{cluster = true, port = cluster_port()}
    addrs[i] = "127.0.0.1:" .. nodes[i].port
  end
  local out = shell("redis-cli --cluster create " .. table.concat(addrs, " ") .. " --cluster-yes 2>&1")
  assert(out:match("All 16384 slots covered"), "could not make the cluster: " .. out)
  local deadline = socket.gettime() + 10
  for _, n in ipairs(nodes) do
    while not n:command("CLUSTER", "INFO"):match("cluster_state:ok") do
      assert(socket.gettime() < deadline, "the cluster did not become ok")
      socket.sleep(0.05)
    end
  end
  return nodes
end

function redis.node_of(nodes, key)
  local moved = nodes[1]:command("GET", key):match("^MOVED %d+ [^:]*:(%d+)")
  for i, n in ipairs(nodes) do
    if tonumber(moved) == n.port then
      return i
    end
  end
  return 1
end

return redis
