-- Reads a benchmark's JSON line (stdin) and asks the emulator when each job
-- really finished (GET /_emulator/jobs/{id}, not counted as client traffic);
-- prints the mean and p95 delay between a job's end and the client noticing it.
--
--   lua5.4 bench/client/notice_delay.lua EMULATOR_URL < result.json
local cjson = require("cjson")
local http = require("socket.http")
local ltn12 = require("ltn12")

local emulator = assert(arg[1], "usage: notice_delay.lua EMULATOR_URL < result.json")
local run = cjson.decode(io.read("a"))

local delays, job_times = {}, {}
for id, at in pairs(run.noticed) do
  local chunks = {}
  local ok, code = http.request{url = emulator .. "/_emulator/jobs/" .. id, sink = ltn12.sink.table(chunks)}
  if ok and code == 200 then
    local info = cjson.decode(table.concat(chunks))
    delays[#delays + 1] = (run.t0 + at) - info.finished_at
    job_times[#job_times + 1] = info.finished_at - info.created_at
  end
end
table.sort(delays)
local function mean(t) local s = 0 for _, v in ipairs(t) do s = s + v end return s / math.max(#t, 1) end
io.stdout:write(cjson.encode{
  jobs = #delays,
  mean_notice_delay_s = mean(delays),
  p95_notice_delay_s = delays[math.max(1, math.floor(#delays * 0.95))] or 0,
  mean_job_time_s = mean(job_times),
}, "\n")
