-- The README's tour: its script (step 1) runs as written against the real
-- emulator and site (their ports put in place of the tour's 8700 and 8701),
-- and the README keeps its two set-up commands first.
local env = require("support.env")
local emulator = require("support.emulator")
local files = require("support.files")
local fixture = require("support.fixture")

local readme = assert(files.read(env.root .. "/README.md"))

describe("README", function()
  local ctx = fixture.servers{site = true}

  it("begins with the two set-up commands", function()
    local first = readme:match("```sh\n(.-)```")
    assert.matches("^make demo +# ", first)
    assert.matches("\nmake test +# ", first)
  end)

  it("has a tour script that runs as written", function()
    local script = readme:match("cat > tour%.lua <<'LUA'\n(.-)\nLUA\n")
    assert.truthy(script, "no tour script in the README")
    local site_port = ctx.site.url:match(":(%d+)$")
    script = script:gsub("127%.0%.0%.1:8701", "127.0.0.1:" .. site_port)
    local dir = files.tmpdir()
    local f = assert(io.open(dir .. "/tour.lua", "w"))
    f:write(script)
    f:close()
    local lua = env.is_luajit and "luajit" or "lua5.4"
    local out, code = files.run(("cd '%s' && mkdir -p out && LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' "
      .. "LUA_CPATH='%s/?.so;;' PUSHPULL_BASE_URL='%s' PUSHPULL_USERNAME='%s' PUSHPULL_PASSWORD='%s' %s tour.lua")
      :format(dir, env.root, env.root, env.lib_dir, ctx.emu.url, emulator.user, emulator.password, lua))
    local saved = #files.names(dir .. "/out", "^%d+%.json$")
    files.rmdir(dir)
    assert.equal(0, code, out)
    assert.matches("^%d+\tPage 1\n", out)
    assert.equal(50, select(2, out:gsub("\tdone\tout/%d+%.json\n", "")))
    assert.equal(50, saved)
  end)
end)
