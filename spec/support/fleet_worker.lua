-- A worker of the fleet specs (started by support.workers): one process of
-- a fleet sharing a job store on Redis.
--
--   fleet_worker.lua EMU SITE REDIS DIR FROM N TAG LEASE
--       submits pages FROM+1 .. FROM+N tagged TAG in batches of 50, prints
--       "submitted", then takes the finished
--       jobs of TAG that client:completed hands it, across the fleet,
--       printing "got <id> <status>" for each, and "finished" at the end

local emu_url, site_url, url, dir = arg[1], arg[2], arg[3], arg[4]
local from, n, tag, lease = tonumber(arg[5]), tonumber(arg[6]), arg[7], tonumber(arg[8])

local function say(...)
  io.stdout:write(table.concat({...}, " "), "\n")
  io.stdout:flush()
end

local c = require("support.fleet_client")(emu_url, url, lease,
  {batch_size = 50, poll = {first = 0.05, min = 0.05, max = 0.3, factor = 1.5}})

for start = from, from + n - 1, 50 do
  local urls = {}
  for i = start + 1, math.min(start + 50, from + n) do
    urls[#urls + 1] = site_url .. "/page/" .. i
  end
  assert(c:submit_batch({source = "universal", url = urls}, {results_dir = dir, tag = tag}))
end
say("submitted")

for job in c:completed{tag = tag, timeout = 60} do
  say("got", job.id or "-", job.status)
end
c:close()
say("finished")
