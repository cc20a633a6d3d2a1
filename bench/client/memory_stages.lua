-- Where a batch's memory goes: the workflow of batch.lua (submit_batch with
-- results_dir, then batch:completed()), with the Lua heap
-- (collectgarbage "count") and the process's resident and anonymous memory
-- (/proc/self/status, /proc/self/smaps_rollup) printed to stderr at each
-- stage. The rest of the anonymous memory is the C side: the core, libcurl,
-- jansson, lua-cjson.
--
--   lua5.4 bench/client/memory_stages.lua BASE_URL SITE_URL COUNT OUT_DIR [PAGE_SIZE]
--
-- It ends without closing the Lua state, so that C modules stay mapped and
-- valgrind --tool=massif names their functions in its report.
local pushpull = require("pushpull")

local base_url, site, count, out_dir, size = arg[1], arg[2], tonumber(arg[3]), arg[4], tonumber(arg[5] or "20000")
assert(base_url and site and count and out_dir, "usage: memory_stages.lua BASE_URL SITE_URL COUNT OUT_DIR [PAGE_SIZE]")
assert(os.execute("mkdir -p '" .. out_dir .. "'"))

-- Opened once: with tens of thousands of jobs the core may hold as many
-- descriptors as the process may open. Unbuffered, so that each read asks
-- the kernel again rather than rereading a stale buffer.
local status_file = assert(io.open("/proc/self/status"))
local rollup_file = assert(io.open("/proc/self/smaps_rollup"))
status_file:setvbuf("no")
rollup_file:setvbuf("no")

local function kb(file, pattern)
  file:seek("set", 0)
  return tonumber(file:read("a"):match(pattern))
end

local function report(stage, collect)
  local before = collectgarbage("count")
  if collect then collectgarbage("collect") end
  io.stderr:write(("%-26s lua heap %6.1f MB (%6.1f before a full collection)  rss %6.1f MB  anonymous %6.1f MB  peak rss %6.1f MB\n"):format(
    stage, collectgarbage("count") / 1024, before / 1024,
    kb(status_file, "\nVmRSS:%s*(%d+)") / 1024, kb(rollup_file, "\nAnonymous:%s*(%d+)") / 1024,
    kb(status_file, "\nVmHWM:%s*(%d+)") / 1024))
end

report("start", true)
local client = assert(pushpull.new{
  base_url = base_url, username = "user", password = "pass1",
  timeout = tonumber(os.getenv("BENCH_TIMEOUT") or ""),
})
local urls = {}
for i = 1, count do urls[i] = ("%s/page/%d?size=%d"):format(site, i, size) end
report("urls built", false)
local batch = assert(client:submit_batch({source = "universal", url = urls}, {results_dir = out_dir}))
report("submit_batch returned", false)
report("  after a collection", true)
local n, quarter = 0, math.max(1, count // 4)
for _ in batch:completed{timeout = 1800} do
  n = n + 1
  if n % quarter == 0 then report(("%d jobs ended"):format(n), false) end
end
urls = nil
report("end, urls dropped", true)
io.stderr:flush()
os.exit(n == count and 0 or 1, false)
