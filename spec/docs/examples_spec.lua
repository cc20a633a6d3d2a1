-- The examples of examples/ run as written, against the real emulator and
-- the local site, under the Lua running the specs: the cloud storage one
-- (its uploads land under the emulator's --storage-dir) and the scheduler
-- one (a schedule created, run once, its jobs read, paused).
local env = require("support.env")
local emulator = require("support.emulator")
local files = require("support.files")
local fixture = require("support.fixture")

local storage = files.tmpdir()

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs examples/<name> with args; its output (stdout and stderr) and
-- whether it exited 0.
local function run(ctx, name, ...)
  local args = {}
  for i, a in ipairs{...} do
    args[i] = quote(a)
  end
  local lua = env.is_luajit and "luajit" or "lua5.4"
  local out, code = files.run(("cd %s && LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' "
    .. "PUSHPULL_BASE_URL=%s PUSHPULL_USERNAME=%s PUSHPULL_PASSWORD=%s %s examples/%s %s")
    :format(quote(env.root), env.root, env.root, env.lib_dir, quote(ctx.emu.url), emulator.user,
      emulator.password, lua, name, table.concat(args, " ")))
  return out, code == 0
end

describe("examples", function()
  local ctx = fixture.servers{site = true, args = {"--storage-dir", storage},
    cleanup = function() files.rmdir(storage) end}

  it("cloud_storage.lua: every job's results uploaded to the bucket", function()
    local out, ok = run(ctx, "cloud_storage.lua", "s3://my-bucket/pages", ctx.site:page_url(1), ctx.site:page_url(2))
    assert.is_true(ok, out)
    assert.matches("2 of 2 uploaded", out, 1, true)
    local n = 0
    for id in out:gmatch("(%d+) uploaded: s3://my%-bucket/pages/%d+%.json") do
      local body = files.read(storage .. "/my-bucket/pages/" .. id .. ".json")
      assert.truthy(body and body:find('"results"', 1, true), id)
      n = n + 1
    end
    assert.equal(2, n)
  end)

  it("scheduler.lua: creates, runs, reads and pauses a schedule", function()
    local out, ok = run(ctx, "scheduler.lua", "0 3 * * *", ctx.site:page_url(3), ctx.site:page_url(4))
    assert.is_true(ok, out)
    assert.matches('2 items, cron "0 3 %* %* %*", next run at %d%d%d%d%-%d%d%-%d%d 03:00:00', out)
    assert.matches("run %d+: 2 jobs", out)
    assert.matches("done: %d+ bytes from " .. ctx.site:page_url(3):gsub("%p", "%%%0"), out)
    assert.matches("paused (active = false)", out, 1, true)
  end)
end)
