-- Benchmark: the loop a user writes first, with no results_dir --
--   for job in batch:completed() do job:save_results(path) end
-- -- and the peak memory of the whole process (VmHWM) at the end.
--
--   lua5.4 bench/client/natural_loop.lua BASE_URL SITE_URL COUNT OUT_DIR PAGE_SIZE
--
-- Prints one JSON line: jobs, saved, wall_s, peak_rss_kb, requests.
local pushpull = require("pushpull")
local socket = require("socket")
local cjson = require("cjson")

local base_url, site, count, out_dir, size =
  arg[1], arg[2], tonumber(arg[3]), arg[4], tonumber(arg[5])
assert(base_url and site and count and out_dir and size,
  "usage: natural_loop.lua BASE_URL SITE_URL COUNT OUT_DIR PAGE_SIZE")
assert(os.execute("mkdir -p '" .. out_dir .. "'"))

local function peak_rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local client = assert(pushpull.new{base_url = base_url, username = "user", password = "pass1"})
local urls = {}
for i = 1, count do urls[i] = ("%s/page/%d?size=%d"):format(site, i, size) end

local t0 = socket.gettime()
local batch = assert(client:submit_batch{source = "universal", url = urls})
local saved = 0
for job in batch:completed{timeout = 900} do
  if job.status ~= "faulted" then
    assert(job:save_results(out_dir .. "/" .. job.id .. ".json"))
    saved = saved + 1
  end
end
io.stdout:write(cjson.encode{
  jobs = count, saved = saved, wall_s = socket.gettime() - t0,
  peak_rss_kb = peak_rss_kb(), requests = client:stats().requests,
}, "\n")
