-- The luv driver with plain Lua and lua-luv (the same code Neovim runs,
-- without vim.schedule): coroutines resumed from the loop, a timer that
-- keeps its pace, waits outside coroutines, handles released at the end.
local emulator = require("support.emulator")
local common = require("hosts.common")
local pushpull = require("pushpull")
local clientmod = require("pushpull.client")

local has_luv, uv = pcall(require, "luv")

describe("luv driver with lua-luv", function()
  local t = common.servers{"--job-time", "uniform:50ms:300ms"}
  lazy_setup(t.start)
  lazy_teardown(t.stop)
  local emu, s
  before_each(function()
    assert(has_luv, "lua-luv is not installed (scripts/deps.sh installs it)")
    emu, s = t.emu, t.site
  end)

  local function new_client(extra)
    local o = {username = emulator.user, password = emulator.password, base_url = emu.url}
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(pushpull.new(o))
  end

  it("is picked for a client given a loop, and drives coroutines from uv.run", function()
    local client = new_client{loop = uv}
    local host = clientmod.host(client)
    local d = host:driver()
    assert.are.equal(host.drivers.luv, d)
    local ticks, worst, last = 0, 0, uv.hrtime()
    local waiting = 0
    local timer = uv.new_timer()
    timer:start(10, 10, function()
      local t = uv.hrtime()
      if waiting > 0 then
        ticks = ticks + 1
        worst = math.max(worst, (t - last) / 1e6 - 10)
      end
      last = t
    end)
    local ok_jobs, failures, finished = 0, {}, 0
    for k = 1, 4 do
      coroutine.wrap(function()
        waiting = waiting + 1
        local urls = {}
        for i = 1, 10 do urls[i] = s:page_url(k * 100 + i) end
        local batch, err = client:submit_batch{source = "universal", url = urls}
        if not batch then
          failures[#failures + 1] = tostring(err.message)
        else
          local ok, werr = client:wait_all(batch, {timeout = 30})
          if not ok then failures[#failures + 1] = tostring(werr.message) end
          for i, job in ipairs(batch.jobs) do
            local res = job:results()
            if res and res[1].content:find("<title>Page " .. (k * 100 + i) .. "</title>", 1, true) then
              ok_jobs = ok_jobs + 1
            end
          end
        end
        waiting = waiting - 1
        finished = finished + 1
        if finished == 4 then
          timer:stop()
          timer:close()
        end
      end)()
    end
    uv.run()
    assert.are.same({}, failures)
    assert.are.equal(40, ok_jobs)
    assert.is_true(ticks >= 10, "timer ticks during the waits: " .. ticks)
    assert.is_true(worst < 100, "worst timer lateness " .. worst .. " ms")
    assert.are.equal(0, host.core:busy())
    assert.are.equal(0, d:watched())
    -- nothing due: no timer armed either (no periodic wake-ups)
    assert.is_false(d.timer:is_active())
    client:close()
  end)

  it("leaves events that do not fit in a settle to its timer, and loses none", function()
    local wait = require("pushpull.wait")
    local luv_driver = require("pushpull.drivers.luv")
    local saved = wait.SLICE
    wait.SLICE = 0 -- every settle stops after a few events
    local client = new_client{loop = uv}
    local before = luv_driver.stats()
    local given, seen, err = 0, {}, nil
    coroutine.wrap(function()
      local urls = {}
      for i = 1, 60 do urls[i] = s:page_url(600 + i) end
      local batch
      batch, err = client:submit_batch{source = "universal", url = urls}
      if batch then
        for job in batch:completed{timeout = 30} do
          if not seen[job] and job.fetched then
            seen[job] = true
            given = given + 1
          end
        end
      end
    end)()
    local ok, run_err = pcall(uv.run)
    wait.SLICE = saved
    assert(ok, run_err)
    assert.is_nil(err)
    assert.are.equal(60, given)
    assert.is_true(luv_driver.stats().sliced > before.sliced, "no settle was cut short")
    client:close()
  end)

  it("waits outside a coroutine by running the loop", function()
    local client = new_client{driver = "luv"}
    local job = assert(client:submit{source = "universal", url = s:page_url(9)})
    assert.is_true(job:wait{timeout = 20})
    local res = assert(job:results())
    assert.truthy(res[1].content:find("<title>Page 9</title>", 1, true))
    local ok, err = client:job("1111111111111111111"):wait{timeout = 0.05}
    assert.is_nil(ok)
    assert.truthy(err)
    client:close()
  end)

  it("says why it cannot wait in a luv callback outside a coroutine", function()
    local client = new_client{loop = uv}
    local job = assert(client:submit{source = "universal", url = s:slow_url(1000)})
    local message
    local t = uv.new_timer()
    t:start(1, 0, function()
      t:close()
      local ok, err = pcall(job.wait, job, {timeout = 5})
      message = not ok and tostring(err) or "no error"
    end)
    uv.run()
    assert.matches("cannot wait inside a luv callback outside a coroutine", message, 1, true)
    client:close()
  end)
end)
