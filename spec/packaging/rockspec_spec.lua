-- The rockspec installs offline with `luarocks make`, for Lua 5.4 and for
-- LuaJIT (Lua 5.1 headers), and lists every module and C source the
-- repository has, so that it cannot fall behind the code.
local env = require("spec.support.env")

local ROCKSPEC = "rockspec/pushpull-scm-1.rockspec"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out
end

local function lines(cmd)
  local t = {}
  local p = assert(io.popen(cmd))
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

local function load_rockspec()
  local spec = {}
  local chunk = assert(loadfile(env.root .. "/" .. ROCKSPEC, "t", spec))
  if setfenv then setfenv(chunk, spec) end
  chunk()
  return spec
end

describe("rockspec", function()
  local spec = load_rockspec()
  local modules = spec.build.modules

  it("lists every Lua module under lua/pushpull", function()
    local listed = {}
    for _, v in pairs(modules) do
      if type(v) == "string" then listed[v] = true end
    end
    for _, file in ipairs(lines("cd '" .. env.root .. "' && find lua/pushpull -name '*.lua' | sort")) do
      assert.is_true(listed[file] == true, file .. " is not in " .. ROCKSPEC)
    end
  end)

  it("builds the binding from every core source", function()
    local listed = {}
    for _, src in ipairs(modules["pushpull.core"].sources) do listed[src] = true end
    for _, file in ipairs(lines("cd '" .. env.root .. "' && find core/src lua/pushpull -name '*.c' | sort")) do
      assert.is_true(listed[file] == true, file .. " is not in " .. ROCKSPEC)
    end
  end)

  local function install_and_require(lua_version, interpreter, extra)
    local tree = os.tmpname()
    os.remove(tree)
    local code, out = sh(string.format(
      "cd '%s' && luarocks --lua-version=%s --tree='%s' make %s %s",
      env.root, lua_version, tree, ROCKSPEC, extra or ""))
    assert.are.equal(0, code, out)
    -- A fresh interpreter that sees only the installed tree (and system
    -- modules such as cjson), not the checkout.
    local probe = "local p = require('pushpull'); " ..
      "local c = assert(p.new{base_url = 'http://127.0.0.1:9', username = 'u', password = 'p'}); " ..
      "io.write(type(c.submit), ' ', package.searchpath and package.searchpath('pushpull.core', package.cpath) or '')"
    code, out = sh(string.format(
      "cd /tmp && LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;' %s -e \"%s\"",
      tree, lua_version, tree, lua_version, tree, lua_version, interpreter, probe))
    sh("rm -rf '" .. tree .. "'")
    assert.are.equal(0, code, out)
    assert.matches("^function " .. tree:gsub("%p", "%%%0") .. "/lib/lua/" .. lua_version .. "/pushpull/core.so", out)
  end

  -- Each busted run installs for the Lua it runs under; `make test` runs
  -- both, so both installs are checked without building four times.
  if env.is_luajit then
    it("installs offline with luarocks make for LuaJIT", function()
      install_and_require("5.1", "luajit", "LUA_INCDIR=/usr/include/luajit-2.1")
    end)
  else
    it("installs offline with luarocks make for Lua 5.4", function()
      install_and_require("5.4", "lua5.4")
    end)
  end
end)
