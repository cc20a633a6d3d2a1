-- The rock a Lua user expects: it lists every module and C source the
-- repository has (so that it cannot fall behind the code), declares what it
-- needs (lua-cjson), where it comes from and its license, and `luarocks
-- test` runs the specs. Installed into a temporary tree -- offline, from a
-- copy of the sources, with lua-cjson resolved by LuaRocks from a local
-- rocks server -- it holds only modules and the pushpull command, and a
-- workflow and the command run from there against the emulator with
-- nothing else on package.path / package.cpath.
local env = require("support.env")
local h = require("support.client")

local ROCKSPEC = "rockspec/pushpull-scm-1.rockspec"

local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\""))
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

-- A small workflow, run by an interpreter that sees only the installed tree.
local WORKFLOW = [[
local pushpull = require("pushpull")
local emu, site = arg[1], arg[2]
local client = assert(pushpull.new{username = "user", password = "pass1", base_url = emu})
local job = assert(client:submit{source = "universal", url = site .. "/page/3"})
assert(job:wait{timeout = 20})
assert(job.status == "done" and job.fetched, job.status)
local results = assert(job:results{type = "parsed"})
assert(results[1].content.title == "Page 3")
local batch = assert(client:submit_batch{source = "universal", url = {site .. "/page/1", site .. "/page/2"}})
local n = 0
for j in batch:completed{timeout = 20} do
  if j.status == "done" then n = n + 1 end
end
client:close()
io.write("done ", n, " from ", package.searchpath("pushpull.core", package.cpath), " ",
  package.searchpath("cjson", package.cpath), "\n")
]]

describe("rockspec", function()
  local spec = load_rockspec()
  local modules = spec.build.modules

  it("lists every Lua module under lua/pushpull, and lua/ holds nothing else", function()
    local listed = {}
    for _, v in pairs(modules) do
      if type(v) == "string" then listed[v] = true end
    end
    for _, file in ipairs(lines("cd '" .. env.root .. "' && find lua -type f | sort")) do
      assert.is_true(listed[file] == true, file .. " is not a module in " .. ROCKSPEC)
    end
  end)

  it("builds the binding from every core source", function()
    local listed = {}
    for _, src in ipairs(modules["pushpull.core"].sources) do listed[src] = true end
    for _, file in ipairs(lines("cd '" .. env.root .. "' && find core/src binding common/src -name '*.c' | sort")) do
      assert.is_true(listed[file] == true, file .. " is not in " .. ROCKSPEC)
    end
  end)

  it("declares lua-cjson, its source, home page and license, and how to test", function()
    local deps = table.concat(spec.dependencies, "\n")
    assert.matches("lua%-cjson", deps)
    assert.matches("^git%+https://", spec.source.url)
    assert.matches("^https://", spec.description.homepage)
    assert.equal("MIT", spec.description.license)
    local license = assert(h.read_file(env.root .. "/LICENSE"))
    assert.matches("^MIT License", license)
    assert.equal("command", spec.test.type)
    assert.equal("make test", spec.test.command)
  end)

  local function install_and_run(lua_version, interpreter, extra)
    local base = h.tmpdir()
    local src, tree, server = base .. "/src", base .. "/tree", base .. "/rocks"
    -- the sources the rock builds from, copied: the checkout stays clean
    assert(sh(("mkdir -p '%s' '%s' '%s/cjson' && cd '%s' && cp -r %s LICENSE lua bin binding core common '%s'")
      :format(src, server, base, env.root, ROCKSPEC:match("^[^/]+"), src)) == 0)
    local luarocks = ("luarocks --lua-version=%s --tree='%s' --only-server='%s'"):format(lua_version, tree, server)

    -- with no lua-cjson anywhere LuaRocks may look, the install stops
    local code, out = sh(("cd '%s' && %s make %s %s"):format(src, luarocks, ROCKSPEC, extra or ""))
    assert.is_not.equal(0, code)
    assert.matches("lua-cjson", out, 1, true)

    -- the system's cjson module as a lua-cjson rock on a local server
    local cjson_so = assert(package.searchpath("cjson", package.cpath))
    assert(sh(("cp '%s' '%s/cjson/cjson.so'"):format(cjson_so, base)) == 0)
    local f = assert(io.open(base .. "/cjson/lua-cjson-2.1.0-1.rockspec", "w"))
    f:write('package = "lua-cjson"\nversion = "2.1.0-1"\nsource = {url = "file:///dev/null"}\n'
      .. 'build = {type = "none", install = {lib = {cjson = "cjson.so"}}}\n')
    f:close()
    code, out = sh(("cd '%s/cjson' && luarocks --lua-version=%s --tree='%s/cjson/tree' make lua-cjson-2.1.0-1.rockspec"
      .. " && luarocks --lua-version=%s --tree='%s/cjson/tree' pack lua-cjson && mv lua-cjson-*.rock '%s'"
      .. " && luarocks-admin --lua-version=%s make-manifest '%s'")
      :format(base, lua_version, base, lua_version, base, server, lua_version, server))
    assert.are.equal(0, code, out)

    code, out = sh(("cd '%s' && %s make %s %s"):format(src, luarocks, ROCKSPEC, extra or ""))
    assert.are.equal(0, code, out)
    local installed = lines(("cd '%s' && find share lib/lua -type f | sort"):format(tree))
    local want = {("lib/lua/%s/cjson.so"):format(lua_version), ("lib/lua/%s/pushpull/core.so"):format(lua_version)}
    for _, file in ipairs(lines("cd '" .. src .. "' && find lua -name '*.lua' | sort")) do
      want[#want + 1] = ("share/lua/%s/%s"):format(lua_version, file:sub(5))
    end
    table.sort(want)
    assert.same(want, installed)

    -- a fresh interpreter that sees only the installed tree
    f = assert(io.open(base .. "/workflow.lua", "w"))
    f:write(WORKFLOW)
    f:close()
    local emu, site = h.emulator(), h.site()
    code, out = sh(("cd /tmp && LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua' "
      .. "LUA_CPATH='%s/lib/lua/%s/?.so' %s '%s/workflow.lua' '%s' '%s'")
      :format(tree, lua_version, tree, lua_version, tree, lua_version, interpreter, base, emu.url, site.url))
    -- the pushpull command, from the tree's bin/ alone
    local ccode, cout = sh(("cd /tmp && env -u LUA_PATH -u LUA_CPATH -u PUSHPULL_BUILD_DIR PUSHPULL_USERNAME=user"
      .. " PUSHPULL_PASSWORD=pass1 '%s/bin/pushpull' --base-url '%s' submit url='%s/page/5' --wait")
      :format(tree, emu.url, site.url))
    emu:stop()
    site:stop()
    h.rmdir(base)
    assert.are.equal(0, code, out)
    assert.are.equal(("done 2 from %s/lib/lua/%s/pushpull/core.so %s/lib/lua/%s/cjson.so\n")
      :format(tree, lua_version, tree, lua_version), out:gsub("exit=%d+%s*$", ""))
    assert.are.equal(0, ccode, cout)
    assert.matches("^%d+ done\nexit=0", cout)
  end

  -- Each busted run installs for the Lua it runs under; `make test` runs
  -- both, so both installs are checked without building four times.
  if env.is_luajit then
    it("installs offline for LuaJIT, only modules and the command, and runs both from its tree alone", function()
      install_and_run("5.1", "luajit", "LUA_INCDIR=/usr/include/luajit-2.1")
    end)
  else
    it("installs offline for Lua 5.4, only modules and the command, and runs both from its tree alone", function()
      install_and_run("5.4", "lua5.4")
    end)
  end
end)
