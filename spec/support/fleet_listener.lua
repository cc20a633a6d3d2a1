-- A process of the fleet that only receives callbacks (started by
-- support.workers): a client on the Redis journal listening on loopback,
-- driven for SECONDS; it prints "listening <url>" first.
--
--   fleet_listener.lua EMU REDIS SECONDS
local pushpull = require("pushpull")
local clientmod = require("pushpull.client")
local socket = require("socket")

local emu_url, url, seconds = arg[1], arg[2], tonumber(arg[3])
local c = assert(pushpull.new{username = "user", password = "pass1", base_url = emu_url,
  journal = url})
local l = assert(c:listen{})
io.stdout:write("listening ", l.url, "\n")
io.stdout:flush()
local host = clientmod.host(c)
local deadline = socket.gettime() + seconds
while socket.gettime() < deadline do
  host.core:wait(50)
  host:dispatch()
end
c:close()
