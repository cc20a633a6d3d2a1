-- A worker of a fleet that takes callbacks (started by support.workers):
-- one process sharing the job store on Redis, with its own callback
-- listener, that submits its part of a tag's jobs and stores the finished
-- jobs client:completed hands it, across the fleet.
--
--   fleet_member.lua EMU SITE REDIS RESULTS STORE FROM N TAG LEASE HOSTS
--
-- It prints "listening <url>" first, then waits for the file HOSTS (the
-- fleet's callback URLs, one a line). It submits pages FROM+1 .. FROM+N
-- tagged TAG, each value's callback going to a random URL of HOSTS (one
-- batch request per URL and group of 48 values), results to the folder
-- RESULTS, and prints "submitted". Each job handed to it is stored: its
-- results copied to STORE/<id>.json (a temporary file renamed), then
-- "got <id> <status> <unix time>" printed. "finished" at the end.
local socket = require("socket")
local read = require("support.files").read

local emu_url, site_url, url, results, store = arg[1], arg[2], arg[3], arg[4], arg[5]
local from, n, tag, lease, hosts_path = tonumber(arg[6]), tonumber(arg[7]), arg[8], tonumber(arg[9]),
  arg[10]

local GROUP = 48
-- seconds before a job whose callback never came is polled (its host died)
local SAFETY_MIN = 4

local function say(...)
  io.stdout:write(table.concat({...}, " "), "\n")
  io.stdout:flush()
end

local c = require("support.fleet_client")(emu_url, url, lease)
local listener = assert(c:listen{})
say("listening", listener.url)

local hosts
local deadline = socket.gettime() + 60
repeat
  local text = read(hosts_path)
  if text and text:find("\n$") then
    hosts = {}
    for line in text:gmatch("[^\n]+") do
      hosts[#hosts + 1] = line
    end
  else
    socket.sleep(0.02)
  end
until hosts or socket.gettime() > deadline
assert(hosts, "no hosts file " .. hosts_path)

math.randomseed(from + math.floor(socket.gettime() * 1000) % 100000)
for start = from, from + n - 1, GROUP do
  local by_host = {}
  for i = start + 1, math.min(start + GROUP, from + n) do
    local host = hosts[math.random(#hosts)]
    by_host[host] = by_host[host] or {}
    table.insert(by_host[host], site_url .. "/page/" .. i)
  end
  for _, host in ipairs(hosts) do
    if by_host[host] then
      -- the job expects its callback there: it is polled only as a safety net
      assert(c:expect_callbacks(host, {safety_min = SAFETY_MIN}))
      assert(c:submit_batch({source = "universal", url = by_host[host], callback_url = host},
        {results_dir = results, tag = tag}))
    end
  end
end
say("submitted")

for job in c:completed{tag = tag, timeout = 120} do
  local body = job.results_path and read(job.results_path)
  if body then
    local path = store .. "/" .. job.id .. ".json"
    local f = assert(io.open(path .. ".tmp", "wb"))
    f:write(body)
    f:close()
    assert(os.rename(path .. ".tmp", path))
  end
  say("got", job.id or "-", job.status, ("%.3f"):format(socket.gettime()))
end
c:close()
say("finished")
