-- A TCP forwarder between a client and a server, for specs that stall the
-- network between them (started by support.workers):
--
--   tcp_proxy.lua HOST PORT
--
-- listens on a free loopback port, prints "listening <port>", and forwards
-- each connection to HOST:PORT both ways until either side closes. SIGSTOP
-- is the stall: nothing goes either way while every socket stays open
-- (the kernel's buffers fill, new connections wait in the backlog);
-- SIGCONT goes on where it stopped.
local socket = require("socket")

local host, port = arg[1], tonumber(arg[2])
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, own_port = server:getsockname()
io.stdout:write("listening ", own_port, "\n")
io.stdout:flush()

local peer = {}    -- socket -> the socket of the other side
local readers = {server}

local function drop(s)
  for _, x in ipairs{s, peer[s]} do
    x:close()
    peer[x] = nil
    for i = #readers, 1, -1 do
      if readers[i] == x then
        table.remove(readers, i)
      end
    end
  end
end

-- Writes all of data to s (blocking: the other side reads, or the stall
-- holds the whole proxy, which is the point).
local function send_all(s, data)
  s:settimeout(nil)
  local from = 1
  while from <= #data do
    local last, err, partial = s:send(data, from)
    if not last then
      if err == "closed" then
        return false
      end
      last = partial
    end
    from = last + 1
  end
  return true
end

local function accept()
  local c = server:accept()
  if not c then
    return
  end
  local u = socket.tcp()
  u:settimeout(5)
  if not u:connect(host, port) then
    c:close()
    u:close()
    return
  end
  c:setoption("tcp-nodelay", true)
  u:setoption("tcp-nodelay", true)
  peer[c], peer[u] = u, c
  readers[#readers + 1] = c
  readers[#readers + 1] = u
end

while true do
  local ready = socket.select(readers, nil, 1)
  for _, s in ipairs(ready) do
    if s == server then
      accept()
    elseif peer[s] then
      s:settimeout(0)
      local data, err, partial = s:receive(65536)
      data = data or partial
      if data and #data > 0 and not send_all(peer[s], data) then
        drop(s)
      elseif err == "closed" then
        drop(s)
      end
    end
  end
end
