-- The luv driver in a real headless Neovim (its LuaJIT and libuv loop): see
-- spec/hosts/nvim/waits.lua for what runs inside.
local cjson = require("cjson")
local nvim = require("support.nvim")
local common = require("hosts.common")

describe("luv driver in Neovim", function()
  local t = common.servers{"--job-time", "uniform:50ms:500ms"}
  lazy_setup(t.start)
  lazy_teardown(t.stop)
  local emu, s
  before_each(function() emu, s = t.emu, t.site end)

  it("runs coroutines that wait on jobs while a uv timer keeps firing", function()
    local r, log = nvim.run("spec/hosts/nvim/waits.lua", {EMULATOR = emu.url, SITE = s.url})
    assert(r, log)
    assert.is_nil(r.error, r.error)
    assert.is_true(r.driver_default) -- luv, chosen by itself inside Neovim
    assert.are.same({}, r.failures)
    assert.are.equal(6, r.coroutines)
    assert.are.equal(30, r.jobs_ok)
    -- every resumed coroutine could use vim.api (resumed via vim.schedule)
    assert.are.equal(6, r.api_calls)
    assert.are.equal(6, r.buffer_lines - 1)
    -- the 10 ms timer kept its pace during the waits
    assert.is_true(r.ticks_during_waits >= 10, cjson.encode(r))
    assert.is_true(r.worst_timer_lateness_ms < 100, cjson.encode(r))
    -- a wait outside a coroutine runs the editor's loop (vim.wait)
    assert.is_true(r.plain_wait)
    assert.is_true(r.plain_wait_content)
    -- and one in a fast callback says why it cannot
    assert.is_false(r.fast_wait_ok, r.fast_wait_error)
    assert.matches("fast callback", r.fast_wait_error, 1, true)
    -- nothing in flight: no fd watched (curl's idle connections are not)
    assert.are.equal(0, r.busy_when_idle)
    assert.are.equal(0, r.watched_when_idle)
  end)

  it("changes nothing outside its own tables in the editor", function()
    local r, log = nvim.run("spec/hosts/nvim/side_effects.lua", {EMULATOR = emu.url, SITE = s.url})
    assert(r, log)
    assert.is_nil(r.error, r.error)
    assert.are.same({}, r.failures)
    assert.is_true(r.steps > 30, cjson.encode(r))
    assert.are.same({}, r.changed)
  end)

  it("runs the :PushpullScrape example", function()
    local r, log = nvim.run("spec/hosts/nvim/example.lua", {EMULATOR = emu.url, SITE = s.url})
    assert(r, log)
    assert.is_nil(r.error, r.error)
    assert.are.equal("pushpull://" .. s.url .. "/page/42", r.name)
    assert.are.equal(2, r.windows)
    assert.matches("status 200", r.lines[1], 1, true)
    assert.truthy(table.concat(r.lines, "\n"):find("<title>Page 42</title>", 1, true))
  end)
end)
