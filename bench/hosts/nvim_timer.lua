-- Run by bench/hosts/run.lua in a headless Neovim: a 10 ms repeating uv
-- timer measures its own lateness while a batch of N jobs is in flight
-- through the luv driver. Reports JSON (see spec/support/nvim.lua).
local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
host.deadline(280000)

host.guard(function()
  local uv = host.uv
  local pushpull = require("pushpull")
  local n = tonumber(os.getenv("JOBS")) or 1000
  local site = os.getenv("SITE")
  local client = assert(pushpull.new{
    username = "user", password = "pass1", base_url = os.getenv("EMULATOR"),
    batch_size = tonumber(os.getenv("BATCH_SIZE") or ""),   -- values per batch request
  })
  local late = {}
  local in_flight = false
  local last = uv.hrtime()
  local timer = uv.new_timer()
  timer:start(10, 10, function()
    local t = uv.hrtime()
    if in_flight then late[#late + 1] = (t - last) / 1e6 - 10 end
    last = t
  end)
  coroutine.wrap(host.guard)(function()
    local urls = {}
    for i = 1, n do urls[i] = site .. "/page/" .. i end
    local t0 = uv.hrtime()
    in_flight = true
    local batch = assert(client:submit_batch{source = "universal", url = urls})
    local ok, err = client:wait_all(batch, {timeout = 240})
    in_flight = false
    local seconds = (uv.hrtime() - t0) / 1e9
    timer:stop()
    timer:close()
    table.sort(late)
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
    }
  end)
end)
