-- Scrape a batch of pages and write every result to a folder.
--
--   lua5.4 examples/batch_to_files.lua SITE_URL [COUNT] [OUT_DIR]
--
-- The service and the credentials come from PUSHPULL_BASE_URL,
-- PUSHPULL_USERNAME and PUSHPULL_PASSWORD (`make demo` points them at the
-- bundled emulator and SITE_URL at a local site).
local pushpull = require("pushpull")

local site = arg[1] or error("usage: batch_to_files.lua SITE_URL [COUNT] [OUT_DIR]")
local count = tonumber(arg[2] or "100")
local out_dir = arg[3] or "out"

local function now()
  return os.time()
end

assert(os.execute("mkdir -p '" .. out_dir:gsub("'", "'\\''") .. "'"))

local client = assert(pushpull.new{
  base_url = os.getenv("PUSHPULL_BASE_URL"),
  username = os.getenv("PUSHPULL_USERNAME"),
  password = os.getenv("PUSHPULL_PASSWORD"),
})

local urls = {}
for i = 1, count do
  urls[i] = string.format("%s/page/%d?size=4096", site, i)
end

local started = now()
print(string.format("submitting %d pages in one batch", #urls))
local batch, err = client:submit_batch{source = "universal", url = urls}
if not batch then
  io.stderr:write("submit failed: ", tostring(err), "\n")
  os.exit(1)
end
print(string.format("accepted: %d jobs", #batch.jobs))

local done, faulted, seen = 0, 0, 0
for job in batch:completed{timeout = 120} do
  seen = seen + 1
  if job.status ~= "done" then
    faulted = faulted + 1
    print(string.format("[%d/%d] %s %s%s", seen, #batch.jobs, tostring(job.id), job.status,
      job.status == "faulted" and " (not billed)" or ""))
  else
    local path = string.format("%s/%s.json", out_dir, job.id)
    local ok, serr = job:save_results(path)
    if ok then
      done = done + 1
      if done % 25 == 0 or seen == #batch.jobs then
        print(string.format("[%d/%d] saved %s", seen, #batch.jobs, path))
      end
    else
      print(string.format("[%d/%d] %s: could not save: %s", seen, #batch.jobs, job.id, tostring(serr)))
    end
  end
end

local left = batch:pending()
print(string.format("finished in %ds: %d saved to %s, %d not done, %d still pending",
  now() - started, done, out_dir, faulted, #left))
local stats = client:stats()
if stats then
  print(string.format("HTTP requests: %d for %d jobs (%.2f per job)",
    stats.requests, #batch.jobs, stats.requests / #batch.jobs))
end
os.exit(#left == 0 and 0 or 1)
