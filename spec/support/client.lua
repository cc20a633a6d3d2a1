-- Helpers for the specs of the Lua client (spec/client): a client on a
-- running emulator with test-friendly settings, and temporary folders.
--
--   local h = require("support.client")
--   local emu = h.emulator{"--fault-rate", "1"}     -- support.emulator.start
--   local client = h.client(emu, {timeout = 2})     -- pushpull.new{...}
require("support.env") -- package.cpath for the binding built for this Lua
local emulator = require("support.emulator")
local site = require("support.site")
local pushpull = require("pushpull")

local M = {}

M.emulator = emulator.start
M.site = site.start

-- Fast polling: the emulator runs jobs in no time.
M.poll = {first = 0.02, min = 0.02, max = 0.25, factor = 1.5}

function M.options(emu, extra)
  local o = {
    username = emulator.user,
    password = emulator.password,
    base_url = emu.url,
    timeout = 10,
    poll = M.poll,
  }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return o
end

function M.client(emu, extra)
  return assert(pushpull.new(M.options(emu, extra)))
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.tmpdir()
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

function M.rmdir(dir)
  if dir and dir:match("^/tmp/") then
    os.execute("rm -rf " .. shell_quote(dir))
  end
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- The N of "<title>Page N</title>" in a test-site page.
function M.page_number(html)
  return tonumber(tostring(html):match("<title>Page (%d+)</title>"))
end

return M
