-- Run by bench/hosts/run.lua in a headless Neovim: a 10 ms repeating uv
-- timer measures its own lateness while a batch of N jobs is in flight
-- through the luv driver. Reports JSON (see spec/support/nvim.lua).
local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
host.deadline(280000)

host.guard(function()
  local uv = host.uv
  local pushpull = require("pushpull")
  local luv_driver = require("pushpull.drivers.luv")
  local n = tonumber(os.getenv("JOBS")) or 1000
  local site = os.getenv("SITE")
  local client = assert(pushpull.new{
    username = "user", password = "pass1", base_url = os.getenv("EMULATOR"),
    batch_size = tonumber(os.getenv("BATCH_SIZE") or ""),   -- values per batch request
  })
  -- each tick: how late it is, and what the process did since the last
  -- one (its CPU time, its context switches): a late tick with little CPU
  -- was waiting for the core or the disk, not running its own code
  local late, ticks = {}, {}
  local in_flight = false
  local last, last_cpu, last_ru = uv.hrtime(), os.clock(), uv.getrusage()
  local timer = uv.new_timer()
  timer:start(10, 10, function()
    local t, cpu, ru = uv.hrtime(), os.clock(), uv.getrusage()
    if in_flight then
      local l = (t - last) / 1e6 - 10
      late[#late + 1] = l
      ticks[#ticks + 1] = {late_ms = l, cpu_ms = (cpu - last_cpu) * 1000,
        involuntary = ru.nivcsw - last_ru.nivcsw, voluntary = ru.nvcsw - last_ru.nvcsw}
    end
    last, last_cpu, last_ru = t, cpu, ru
  end)
  coroutine.wrap(host.guard)(function()
    local urls = {}
    for i = 1, n do urls[i] = site .. "/page/" .. i end
    if os.getenv("NVIM_GC") == "stop" then
      collectgarbage("stop") -- a diagnosis: are the late ticks the collector's?
    end
    local s0 = luv_driver.stats()
    local t0 = uv.hrtime()
    in_flight = true
    local batch = assert(client:submit_batch{source = "universal", url = urls})
    local ok, err = client:wait_all(batch, {timeout = 240})
    in_flight = false
    local seconds = (uv.hrtime() - t0) / 1e9
    local s1 = luv_driver.stats()
    collectgarbage("restart")
    timer:stop()
    timer:close()
    table.sort(late)
    table.sort(ticks, function(a, b) return a.late_ms > b.late_ms end)
    local worst_ticks = {}
    for i = 1, math.min(5, #ticks) do worst_ticks[i] = ticks[i] end
    local fetched = 0
    for _, job in ipairs(batch.jobs) do
      if job.fetched then fetched = fetched + 1 end
    end
    client:close()
    host.finish{
      jobs = n, batch_size = tonumber(os.getenv("BATCH_SIZE") or ""), ok = ok == true, err = err and err.message, fetched = fetched, seconds = seconds,
      ticks = #late,
      worst_ms = late[#late] or 0,
      p99_ms = late[math.max(1, math.ceil(#late * 0.99))] or 0,
      p50_ms = late[math.max(1, math.ceil(#late * 0.5))] or 0,
      drives = s1.drives - s0.drives, drive_ms = (s1.work - s0.work) * 1000,
      longest_drive_ms = s1.longest * 1000, longest_step_ms = s1.longest_step * 1000,
      longest_settle_ms = s1.longest_settle * 1000, sliced = s1.sliced - s0.sliced,
      longest_pass_ms = s1.longest_pass * 1000,
      worst_ticks = worst_ticks,
    }
  end)
end)
