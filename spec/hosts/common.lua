-- Small shell and file helpers shared by the host harnesses
-- (spec/support/nginx.lua, spec/support/nvim.lua) and the host specs.
local env = require("support.env")

local M = {}

M.root = env.root
M.build_dir = env.build_dir

function M.sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- os.execute returns true (5.2+) or 0 (5.1/LuaJIT) on success.
function M.run(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

-- The first line a shell command prints.
function M.line(cmd)
  local p = io.popen(cmd)
  local s = p:read("*l")
  p:close()
  return s
end

function M.mktemp(dir)
  return M.line("mktemp " .. (dir and "-d " or "") .. "/tmp/pushpull-host.XXXXXX")
end

-- The servers a host spec needs: t.start() starts the emulator (with
-- emulator_args) and the test site, and nginx too when nginx_opts is given
-- (a function of t returning spec/support/nginx.lua's options); t.stop()
-- stops them. In a describe block:
--   local t = common.servers{...}; lazy_setup(t.start); lazy_teardown(t.stop)
-- then t.emu, t.site, t.nginx in the tests.
function M.servers(emulator_args, nginx_opts)
  local t = {}
  function t.start()
    t.emu = require("support.emulator").start(emulator_args)
    t.site = require("support.site").start()
    if nginx_opts then
      t.nginx = require("support.nginx").start(nginx_opts(t))
    end
  end
  function t.stop()
    for _, k in ipairs{"nginx", "site", "emu"} do
      if t[k] then t[k]:stop() end
    end
  end
  return t
end

return M
