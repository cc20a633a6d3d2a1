-- What the subcommands of the pushpull command share: the global options,
-- the client, stdout, and the ways the command ends (exit codes below).
--
-- Exit codes:
--   0  everything asked for is done
--   1  some job faulted, was lost (unknown, rejected, expired, failed) or
--      did not end in time, or the service refused a request
--   2  usage: a wrong option or argument
--   3  network or authentication: the service could not be reached, or
--      refused the credentials (or there are none)
local pushpull = require("pushpull")
local json = require("pushpull.json")
local args = require("pushpull.cli.args")
local credentials = require("pushpull.cli.credentials")

local M = {}

M.OK, M.SOME_FAILED, M.USAGE, M.NETWORK = 0, 1, 2, 3
M.INTERRUPTED = 130 -- Ctrl-C, as a shell reports a command a SIGINT ended

-- A failure that ends the command: main() prints it and exits with code.
local Exit = {}
Exit.__index = Exit

local function exit_error(code, message)
  return setmetatable({code = code, message = message}, Exit)
end

local Session = {}
Session.__index = Session
M.Session = Session

-- Ends the command: "pushpull: message" on stderr, exit code.
function Session:fail(code, message)
  error(exit_error(code, message), 0)
end

function Session:usage(message)
  self:fail(M.USAGE, message .. " (pushpull " .. self.command .. " --help)")
end

-- The exit code an error of the library stands for: 3 when the service
-- could not be reached or refused the credentials, 1 otherwise.
function M.code_of(err)
  if type(err) ~= "table" then
    return M.SOME_FAILED
  end
  if err.status == 401 or err.status == 403 or err.status == 407 then
    return M.NETWORK
  end
  -- no HTTP status: the exchange itself failed (not a wait that timed out,
  -- nor a job that ended badly)
  local waiting = err.message == "timeout" or err.message == "nothing in flight"
    or err.message == "client is closed"
  -- a job the service refused without an answer (rejected, no status) was
  -- never received; one whose answer was lost (unknown) may exist: lost
  local js = err.job_status
  local job_ended = js == "done" or js == "faulted" or js == "unknown" or js == "expired" or js == "failed"
  if err.status == nil and not waiting and not job_ended then
    return M.NETWORK
  end
  return M.SOME_FAILED
end

-- Ends the command with an error of the library.
function Session:fail_with(err, what)
  local text = tostring(err):gsub("^pushpull: ", "")
  self:fail(M.code_of(err), (what and (what .. ": ") or "") .. text)
end

-- A number option, or the default; a usage error when it is not a number.
function Session:number(opts, name, default, min)
  local n, err = args.number(opts, name, min)
  if err then
    self:usage(err)
  end
  if n == nil then
    return default
  end
  return n
end

-- The base URL: --base-url, $PUSHPULL_BASE_URL, or the library's default.
function Session:base_url()
  local url = self.opts["base-url"] or os.getenv("PUSHPULL_BASE_URL")
  if url and url ~= "" then
    return url
  end
  -- the library's own default, so that it is written down in one place
  local probe = assert(pushpull.new{username = "", password = ""})
  url = probe.base_url
  probe:close()
  return url
end

-- A client for the service. extra: more options of pushpull.new; flags:
-- option name -> the flag it came from, so that an option the library does
-- not take is reported under the flag's name.
function Session:client(extra, flags)
  if self._client then
    return self._client
  end
  local base = self:base_url()
  local user, pass = credentials.find(base, self.opts.netrc)
  if not user then
    self:fail(M.NETWORK, pass)
  end
  local o = {username = user, password = pass, base_url = base,
    max_retries = self:number(self.opts, "retries", nil, 0)}
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  local ok, client, err = pcall(pushpull.new, o)
  if not ok then
    -- raised: an option this library does not take
    local text = tostring(client):gsub("^pushpull: ", "")
    for key, flag in pairs(flags or {}) do
      if text:find("options." .. key, 1, true) then
        self:fail(M.USAGE, ("--%s is not supported by this pushpull library: %s"):format(flag, text))
      end
    end
    self:fail(M.USAGE, text)
  end
  if not client then
    self:fail_with(err)
  end
  self._client = client
  return client
end

-- Makes the folder dir (and its parents); a usage error when it cannot.
function Session:mkdir(dir)
  local ok = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  if ok ~= true and ok ~= 0 then
    self:usage("cannot create the folder " .. dir)
  end
  return dir
end

-- One line on stdout.
function Session:out(...)
  io.stdout:write(...)
  io.stdout:write("\n")
end

-- One JSON document on one line of stdout.
function Session:json_line(value)
  io.stdout:write(json.encode(value), "\n")
  io.stdout:flush()
end

-- An answer of the service: as one JSON line with --json, else the words
-- of `lines`, one a line.
function Session:answer(opts, value, lines)
  if opts.json then
    self:json_line(value)
    return
  end
  for _, line in ipairs(lines) do
    self:out(line)
  end
end

function Session:close()
  if self._client then
    self._client:close()
    self._client = nil
  end
end

-- A session for the command; ctx.script_dir: the folder of the script.
function M.new(ctx)
  return setmetatable({command = "", ctx = ctx or {}, opts = {}}, Session)
end

-- The exit failure e raised by session:fail, or nil.
function M.exit_of(e)
  if getmetatable(e) == Exit then
    return e
  end
  return nil
end

return M
