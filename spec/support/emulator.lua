-- Starts the bundled emulator (build/bin/pushpull-emulator) on a free port.
--
--   local emu = emulator.start{"--job-time", "2s"}
--   emu.url, emu.port;  emu:stats();  emu:reset();  emu:stop()
--   emu:request{method = "POST", path = "/v1/queries", body = {...}}
--   emu:submit{source = "universal", url = ...}      -- the job object
--   emu:wait_status(id, "done", 5)                   -- the job object
--
-- The default arguments, --user user:pass1 and --job-time 0, apply unless
-- the same flag is given.
local socket = require("socket")
local env = require("support.env")
local process = require("support.process")
local http = require("support.http")

local emulator = {}

emulator.user = "user"
emulator.password = "pass1"

local Emulator = {}
Emulator.__index = Emulator

function Emulator:stop()
  return self.process:stop()
end

-- What the emulator wrote to stderr so far.
function Emulator:log()
  return self.process:log()
end

-- http.request with the emulator's address and the default credentials;
-- opts.path is the path (and query), opts.user = false sends no auth.
function Emulator:request(opts)
  local o = {}
  for k, v in pairs(opts) do
    o[k] = v
  end
  o.url = o.url or (self.url .. assert(o.path, "request wants a path"))
  o.path = nil
  if o.user == nil then
    o.user, o.password = emulator.user, emulator.password
  elseif o.user == false then
    o.user, o.password = nil, nil
  end
  return http.request(o)
end

-- GET /_emulator/stats, decoded.
function Emulator:stats()
  local res = assert(self:request{path = "/_emulator/stats"})
  return http.json(res, 200)
end

-- POST /_emulator/reset: forgets jobs, schedules and counters.
function Emulator:reset()
  local res = assert(self:request{method = "POST", path = "/_emulator/reset"})
  assert(res.status >= 200 and res.status < 300,
    "reset answered " .. tostring(res.status) .. ": " .. tostring(res.body))
  return res
end

-- Submits one job and returns the job object (raises unless 202).
function Emulator:submit(params)
  local res = assert(self:request{method = "POST", path = "/v1/queries", body = params})
  return http.json(res, 202), res
end

-- Submits a batch and returns the list of jobs (raises unless 202).
function Emulator:submit_batch(params)
  local res = assert(self:request{method = "POST", path = "/v1/queries/batch", body = params})
  return http.json(res, 202).queries, res
end

function Emulator:job(id)
  local res = assert(self:request{path = "/v1/queries/" .. id})
  return http.json(res, 200)
end

-- Polls the job until its status is one of the wanted ones ("done" and
-- "faulted" by default); raises after timeout seconds.
function Emulator:wait_status(id, wanted, timeout)
  local want = {}
  if type(wanted) == "string" then
    want[wanted] = true
  else
    for _, w in ipairs(wanted or {"done", "faulted"}) do
      want[w] = true
    end
  end
  local deadline = socket.gettime() + (timeout or 10)
  local job
  repeat
    job = self:job(id)
    if want[job.status] then
      return job
    end
    socket.sleep(0.03)
  until socket.gettime() > deadline
  error(("job %s still %q after %ss"):format(id, tostring(job.status), timeout or 10), 2)
end

-- GET .../results[?type=...] once the job ended; returns the response.
function Emulator:results(id, rtype, timeout)
  self:wait_status(id, nil, timeout)
  return assert(self:request{path = "/v1/queries/" .. id .. "/results"
    .. (rtype and ("?type=" .. rtype) or "")})
end

local function has_flag(args, flag)
  for _, a in ipairs(args) do
    if a == flag or a:sub(1, #flag + 1) == flag .. "=" then
      return true
    end
  end
  return false
end

function emulator.start(args)
  args = args or {}
  local argv = {"--port", "0"}
  if not has_flag(args, "--user") then
    argv[#argv + 1] = "--user"
    argv[#argv + 1] = emulator.user .. ":" .. emulator.password
  end
  if not has_flag(args, "--job-time") then
    argv[#argv + 1] = "--job-time"
    argv[#argv + 1] = "0"
  end
  for _, a in ipairs(args) do
    argv[#argv + 1] = a
  end
  local p = process.start(env.bin("pushpull-emulator"), argv)
  return setmetatable({process = p, url = p.url, port = p.port, pid = p.pid,
    host = p.host}, Emulator)
end

return emulator
