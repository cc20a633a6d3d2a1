-- Recurring jobs with the service's scheduler: create a schedule, look at
-- it, then at its runs and the results of their jobs, and pause it.
--
--   lua5.4 examples/scheduler.lua CRON URL...
--   lua5.4 examples/scheduler.lua "0 3 * * *" https://example.com/a https://example.com/b
--
-- The schedule submits one job per URL at each time CRON names (5 fields,
-- UTC), until a week from now. On the bundled emulator the example runs it
-- once right away (its admin tick); on the real service the first run comes
-- at the cron time, and `pushpull schedules runs ID` shows it later.
--
-- The service and the credentials come from PUSHPULL_BASE_URL,
-- PUSHPULL_USERNAME and PUSHPULL_PASSWORD.
local pushpull = require("pushpull")

local cron = arg[1]
if not cron or not arg[2] then
  io.stderr:write("usage: scheduler.lua CRON URL...\n")
  os.exit(2)
end

local client = assert(pushpull.new{
  base_url = os.getenv("PUSHPULL_BASE_URL"),
  username = os.getenv("PUSHPULL_USERNAME"),
  password = os.getenv("PUSHPULL_PASSWORD"),
})

local items = {}
for i = 2, #arg do
  items[#items + 1] = {source = "universal", url = arg[i]}
end
local schedule = assert(client.schedules:create{
  cron = cron,
  items = items,
  end_time = os.date("!%Y-%m-%d %H:%M:%S", os.time() + 7 * 24 * 3600),
})
local id = schedule.schedule_id
print(("schedule %s: %d items, cron %q, next run at %s"):format(
  ("%.0f"):format(id), schedule.items_count, schedule.cron, tostring(schedule.next_run_at)))

local list = assert(client.schedules:list())
print(("%d schedules on this account"):format(#list.schedules))

-- The bundled emulator answers its health check; the real service does not.
if client:call("GET", "/_emulator/health") then
  assert(client:call("POST", ("/_emulator/schedules/%.0f/tick"):format(id)))
  print("ran it once now (the emulator's tick)")
end

local runs = assert(client.schedules:runs(id)).runs
for _, run in ipairs(runs) do
  print(("run %s: %d jobs"):format(tostring(run.run_id), #run.jobs))
  for _, j in ipairs(run.jobs) do
    -- the jobs of a run are ordinary jobs: attach, wait, read
    local job = assert(client:job(tostring(j.id)))
    local ok, err = job:wait{timeout = 120}
    if ok then
      local results = assert(job:results())
      print(("  %s done: %d bytes from %s"):format(job.id, #tostring(results[1].content), results[1].url))
    else
      print(("  %s %s"):format(job.id, tostring(err)))
    end
  end
end

assert(client.schedules:set_active(id, false))
local now = assert(client.schedules:get(id))
print(("schedule %.0f paused (active = %s)"):format(id, tostring(now.active)))
client:close()
