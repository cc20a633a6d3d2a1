-- Run by spec/hosts/nvim_driver_spec.lua in a headless Neovim: several
-- coroutines submit jobs and wait while a 10 ms uv timer keeps firing; each
-- resumed coroutine writes to a buffer with vim.api (only allowed outside
-- fast callbacks). Reports what it saw as JSON.
local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
host.deadline(50000)

host.guard(function()
  local uv = host.uv
  local pushpull = require("pushpull")
  local site = os.getenv("SITE")
  local client = assert(pushpull.new{
    username = "user", password = "pass1", base_url = os.getenv("EMULATOR"),
  })
  local inside = require("pushpull.client").host(client)
  local report = {
    coroutines = 0, jobs_ok = 0, failures = {}, api_calls = 0,
    driver_default = inside:driver() == inside.drivers.luv,
  }

  -- the timer that must keep firing while jobs are waited for
  local ticks, worst_ms, last = 0, 0, uv.hrtime()
  local ticks_during_waits = 0
  local waiting = 0
  local timer = uv.new_timer()
  timer:start(10, 10, function()
    local t = uv.hrtime()
    ticks = ticks + 1
    worst_ms = math.max(worst_ms, (t - last) / 1e6 - 10)
    last = t
    if waiting > 0 then ticks_during_waits = ticks_during_waits + 1 end
  end)

  local buf = vim.api.nvim_create_buf(false, true)
  local N, PER = 6, 5
  local finished = 0

  local function finish()
    timer:stop()
    timer:close()
    report.ticks = ticks
    report.ticks_during_waits = ticks_during_waits
    report.worst_timer_lateness_ms = worst_ms
    report.buffer_lines = #vim.api.nvim_buf_get_lines(buf, 0, -1, false)

    -- a wait outside any coroutine (vim.wait runs the loop)
    local job = assert(client:submit{source = "universal", url = site .. "/page/77"})
    local ok, err = job:wait{timeout = 20}
    report.plain_wait = ok == true or tostring(err)
    local res = ok and job:results()
    report.plain_wait_content = res and res[1].content:find("<title>Page 77</title>", 1, true) ~= nil
    report.watched_when_idle = inside:driver():watched()
    report.busy_when_idle = inside.core:busy()

    -- a wait inside a fast callback (uv timer) must fail clearly
    local slow = assert(client:submit{source = "universal", url = site .. "/slow/1000"})
    local t2 = uv.new_timer()
    t2:start(1, 0, function()
      t2:close()
      local okf, errf = pcall(slow.wait, slow, {timeout = 1})
      report.fast_wait_ok = okf
      report.fast_wait_error = tostring(errf)
      vim.schedule(function()
        client:close()
        host.finish(report)
      end)
    end)
  end

  for k = 1, N do
    local co = coroutine.create(function()
      waiting = waiting + 1
      local urls = {}
      for i = 1, PER do urls[i] = site .. "/page/" .. (k * 100 + i) end
      local batch, err = client:submit_batch{source = "universal", url = urls}
      if not batch then
        report.failures[#report.failures + 1] = tostring(err.message or err)
      else
        local ok, werr = client:wait_all(batch, {timeout = 30})
        if not ok then
          report.failures[#report.failures + 1] = "wait_all: " .. tostring(werr.message or werr)
        end
        for i, job in ipairs(batch.jobs) do
          local res, rerr = job:results()
          if res and res[1].content:find("<title>Page " .. (k * 100 + i) .. "</title>", 1, true) then
            report.jobs_ok = report.jobs_ok + 1
          else
            report.failures[#report.failures + 1] = "results: " .. tostring(rerr and rerr.message or rerr)
          end
        end
      end
      -- resumed through vim.schedule: the API is usable here
      local okapi = pcall(vim.api.nvim_buf_set_lines, buf, -1, -1, false, {"coroutine " .. k})
      if okapi then report.api_calls = report.api_calls + 1 end
      waiting = waiting - 1
      report.coroutines = report.coroutines + 1
      finished = finished + 1
      if finished == N then finish() end
    end)
    local ok, err = coroutine.resume(co)
    if not ok then error(err) end
  end
end)
