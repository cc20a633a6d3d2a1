-- Baseline: the same batch the way a user would write it without pushpull,
-- shelling out to curl: submit the batch, then poll each job's status at a
-- fixed interval like the provider's SDKs, and download each result.
-- Prints one JSON line with what it measured.
--
--   lua5.4 bench/client/baseline_curl.lua BASE_URL SITE_URL COUNT OUT_DIR [PAGE_SIZE] [POLL_S]
local cjson = require("cjson")
local socket = require("socket")

local base_url, site, count, out_dir = arg[1], arg[2], tonumber(arg[3]), arg[4]
local size, poll_s = tonumber(arg[5] or "20000"), tonumber(arg[6] or "2")
local auth = (os.getenv("PUSHPULL_USERNAME") or "user") .. ":" .. (os.getenv("PUSHPULL_PASSWORD") or "pass1")
assert(os.execute("mkdir -p '" .. out_dir .. "'"))

local requests = 0
local function curl(args)
  requests = requests + 1
  local p = assert(io.popen("curl -s -u '" .. auth .. "' " .. args))
  local body = p:read("a")
  p:close()
  return body
end

local t0 = socket.gettime()
local urls = {}
for i = 1, count do urls[i] = string.format("%s/page/%d?size=%d", site, i, size) end
local payload = os.tmpname()
local f = assert(io.open(payload, "w"))
f:write(cjson.encode{source = "universal", url = urls})
f:close()
local answer = cjson.decode(curl("-H 'Content-Type: application/json' -d @" .. payload .. " " .. base_url .. "/v1/queries/batch"))
os.remove(payload)

local pending = {}
for _, job in ipairs(answer.queries) do pending[#pending + 1] = job.id end
local noticed, total = {}, #pending
while #pending > 0 do
  local still = {}
  for _, id in ipairs(pending) do
    local job = cjson.decode(curl(base_url .. "/v1/queries/" .. id))
    if job.status == "pending" then
      still[#still + 1] = id
    else
      noticed[id] = socket.gettime() - t0
      if job.status == "done" then
        curl("-o '" .. out_dir .. "/" .. id .. ".json' " .. base_url .. "/v1/queries/" .. id .. "/results")
      end
    end
  end
  pending = still
  if #pending > 0 then socket.sleep(poll_s) end
end

io.stdout:write(cjson.encode{
  jobs = total, wall_s = socket.gettime() - t0, requests = requests,
  requests_per_job = requests / total, t0 = t0, noticed = noticed,
}, "\n")
