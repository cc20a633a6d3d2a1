-- Paths of the checkout and of its build, and a package.cpath under which
-- require("pushpull.core") finds the binding built for the running Lua:
-- <build>/luajit/?.so under LuaJIT, <build>/lua5.4/?.so under Lua 5.4.
-- The build folder is $PUSHPULL_BUILD_DIR, or <repo>/build.
local env = {}

local function dirname(path)
  return (path:gsub("/+[^/]*$", ""))
end

local function absolute(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  local pwd = os.getenv("PWD")
  if not pwd then
    local p = io.popen("pwd")
    pwd = p and p:read("*l") or "."
    if p then p:close() end
  end
  return pwd .. "/" .. path:gsub("^%./", "")
end

local source = debug.getinfo(1, "S").source:gsub("^@", "")
-- spec/support/env.lua -> the repository root, two levels above spec/support
env.root = dirname(dirname(dirname(absolute(source))))

local build = os.getenv("PUSHPULL_BUILD_DIR")
if not build or build == "" then
  build = env.root .. "/build"
end
env.build_dir = absolute(build)
env.bin_dir = env.build_dir .. "/bin"

env.is_luajit = rawget(_G, "jit") ~= nil
env.lua_name = env.is_luajit and "luajit" or (_VERSION:match("Lua (%d+%.%d+)") and
  "lua" .. _VERSION:match("Lua (%d+%.%d+)")) or "lua5.4"
env.lib_dir = env.build_dir .. "/" .. env.lua_name

-- Make the build's binding and the checkout's Lua sources reachable.
local cpath_entry = env.lib_dir .. "/?.so"
if not package.cpath:find(cpath_entry, 1, true) then
  package.cpath = cpath_entry .. ";" .. package.cpath
end
local lua_entries = env.root .. "/lua/?.lua;" .. env.root .. "/lua/?/init.lua"
if not package.path:find(env.root .. "/lua/?.lua", 1, true) then
  package.path = lua_entries .. ";" .. package.path
end

-- The path of one of the build's programs, e.g. env.bin("pushpull-emulator").
function env.bin(name)
  return env.bin_dir .. "/" .. name
end

function env.exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

return env
