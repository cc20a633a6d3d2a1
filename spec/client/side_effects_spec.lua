-- Loading and using pushpull changes nothing in its host: the metatables of
-- strings, numbers, tables, functions, ... the globals, the standard
-- libraries and the package paths are the same after a workflow that uses
-- the whole API (spec/hosts/full_workflow.lua) as before it. Run in a fresh
-- interpreter of the Lua busted runs under (Lua 5.4 or LuaJIT), since this
-- one has loaded pushpull already. (The same check runs in nginx and in
-- Neovim: spec/hosts/ngx_driver_spec.lua, spec/hosts/nvim_driver_spec.lua.)
local env = require("support.env")
local h = require("support.client")

describe("pushpull's side effects on its host", function()
  local ctx = h.context{}

  it("are none, after a workflow that uses the whole API", function()
    local dir = h.tmpdir()
    local cmd = ("cd /tmp && LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/hosts/?.lua;;' "
      .. "LUA_CPATH='%s/?.so;;' %s %s/spec/hosts/plain/side_effects.lua '%s' '%s' '%s' 2>&1")
      :format(env.root, env.root, env.root, env.lib_dir, env.is_luajit and "luajit" or "lua5.4",
        env.root, ctx.emu.url, ctx.site.url, dir)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    h.rmdir(dir)
    local steps = tonumber(out:match("steps (%d+)"))
    assert(steps, out)
    assert.is_true(steps > 30, out)
    assert.is_nil(out:find("failure: ", 1, true), out)
    assert.is_nil(out:find("changed: ", 1, true), out)
  end)

  it("would be seen: the check notices a changed metatable and a new global", function()
    local state = dofile(env.root .. "/spec/hosts/host_state.lua")
    local before = state.snapshot()
    local smt = getmetatable("")
    smt.__call = function() end
    rawset(_G, "pushpull_spec_global", true)
    local diff = state.diff(before, state.snapshot())
    smt.__call = nil
    rawset(_G, "pushpull_spec_global", nil)
    assert.same({"_G.pushpull_spec_global added: true", "metatable(string).__call added: " .. "function"},
      (function()
        for i, d in ipairs(diff) do diff[i] = d:gsub("function: .*$", "function") end
        return diff
      end)())
  end)
end)
