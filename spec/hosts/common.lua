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

return M
