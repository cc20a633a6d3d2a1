-- One process of the fleet benchmark (bench/fleet/throughput.lua): submits
-- its share of a tag's jobs on the shared Redis store, then stores every
-- finished job client:completed{tag} hands it (its result file moved into
-- STORED), across the fleet. Prints one JSON line at the end.
--
--   lua5.4 bench/fleet/worker.lua EMU SITE REDIS RESULTS STORED FROM N TAG PAGE_SIZE
local pushpull = require("pushpull")
local socket = require("socket")
local cjson = require("cjson")

local emu, site, redis_url, results, stored = arg[1], arg[2], arg[3], arg[4], arg[5]
local from, n, tag, size = tonumber(arg[6]), tonumber(arg[7]), arg[8], tonumber(arg[9])

local function peak_rss_kb()
  local f = io.open("/proc/self/status")
  local kb = f and tonumber(f:read("a"):match("VmHWM:%s*(%d+)"))
  if f then f:close() end
  return kb
end

local t0 = socket.gettime()
local client = assert(pushpull.new{base_url = emu, username = "user", password = "pass1",
  journal = redis_url})
local urls = {}
for i = 1, n do
  urls[i] = string.format("%s/page/%d?size=%d", site, from + i, size)
end
assert(client:submit_batch({source = "universal", url = urls}, {results_dir = results, tag = tag}))
local submitted = socket.gettime()

local got, done = 0, 0
for job in client:completed{tag = tag, timeout = 600} do
  got = got + 1
  if job.status == "done" and job.results_path
    and os.rename(job.results_path, stored .. "/" .. job.id .. ".json") then
    done = done + 1
  end
end
local t1 = socket.gettime()
client:close()
print(cjson.encode{got = got, stored = done, submit_s = submitted - t0, seconds = t1 - t0,
  peak_rss_kb = peak_rss_kb()})
