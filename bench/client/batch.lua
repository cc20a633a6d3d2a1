-- Benchmark: one batch of URLs through pushpull, every result streamed to a
-- file. Prints one JSON line with what it measured.
--
--   lua5.4 bench/client/batch.lua BASE_URL SITE_URL COUNT OUT_DIR [PAGE_SIZE]
--
-- BENCH_CALLBACK=1: the client listens for callbacks (client:listen{}) and
-- submits with {callback = true}; polls are then only a safety net.
-- BENCH_TIMEOUT=S: the client's request timeout in seconds.
-- BENCH_JOURNAL=PATH: the client keeps a job journal there (pushpull.new{journal}).
local pushpull = require("pushpull")
local socket = require("socket")
local cjson = require("cjson")

local base_url, site, count, out_dir, size = arg[1], arg[2], tonumber(arg[3]), arg[4], tonumber(arg[5] or "20000")
assert(base_url and site and count and out_dir, "usage: batch.lua BASE_URL SITE_URL COUNT OUT_DIR [PAGE_SIZE]")
assert(os.execute("mkdir -p '" .. out_dir .. "'"))

local client = assert(pushpull.new{
  base_url = base_url,
  username = os.getenv("PUSHPULL_USERNAME") or "user",
  password = os.getenv("PUSHPULL_PASSWORD") or "pass1",
  -- seconds per request; longer under valgrind, where reading a 5,000-job
  -- answer can take more than the default 30 s
  timeout = tonumber(os.getenv("BENCH_TIMEOUT") or ""),
  journal = os.getenv("BENCH_JOURNAL"),
})

local urls = {}
for i = 1, count do urls[i] = string.format("%s/page/%d?size=%d", site, i, size) end

local callback = os.getenv("BENCH_CALLBACK") == "1"
if callback then
  assert(client:listen{})
end

local t0 = socket.gettime()
local batch = assert(client:submit_batch({source = "universal", url = urls},
  {results_dir = out_dir, callback = callback}))
local submitted = socket.gettime()

-- When each job was noticed as finished, by id, in seconds since t0; how
-- many ended in each state, and the first error of a job that did not end
-- well (a job whose submission went unanswered has no id).
local noticed, ended, first_error = {}, {}, nil
local n, faulted = 0, 0
for job in batch:completed{timeout = 1800} do
  n = n + 1
  if job.id then noticed[job.id] = socket.gettime() - t0 end
  local how = job.fetched and "fetched" or job.status
  ended[how] = (ended[how] or 0) + 1
  if job.status == "faulted" then faulted = faulted + 1 end
  if job.status ~= "fetched" and not first_error then
    first_error = tostring(job:error() or job.status)
  end
end
local wall = socket.gettime() - t0

local stats = client:stats()
local line = cjson.encode{
  jobs = #batch.jobs, finished = n, faulted = faulted, pending = #batch:pending(),
  ended = ended, first_error = first_error,
  wall_s = wall, submit_s = submitted - t0,
  requests = stats.requests, requests_per_job = stats.requests / #batch.jobs,
  callbacks = stats.callbacks_received,
  t0 = t0,
}
-- noticed is written entry by entry: encoded whole, 50,000 of them would
-- take the script itself several MB at its very end (the core accepts only
-- ids of letters, digits, - and _; numbers print as JSON numbers)
io.stdout:write(line:sub(1, -2), ',"noticed":{')
local sep = ""
for id, at in pairs(noticed) do
  io.stdout:write(sep, '"', id, '":', at)
  sep = ","
end
io.stdout:write("}}\n")
