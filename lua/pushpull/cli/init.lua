-- The pushpull command: `pushpull SUBCOMMAND [options]`. Each subcommand is
-- a module of pushpull.cli with a `spec` (its options and help, see
-- pushpull.cli.args) and run(session, opts, positionals) returning an exit
-- code. The session holds what they share: the global options, the client,
-- stdout and the exits.
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

-- In the order --help lists them.
M.COMMANDS = {"submit", "batch", "status", "wait", "results", "ips", "schedules", "emulator"}
local MODULES = {
  submit = "pushpull.cli.submit",
  batch = "pushpull.cli.batch",
  status = "pushpull.cli.jobs",
  wait = "pushpull.cli.jobs",
  results = "pushpull.cli.jobs",
  ips = "pushpull.cli.ips",
  schedules = "pushpull.cli.schedules",
  emulator = "pushpull.cli.emulator",
}

local USAGE = [[
usage: pushpull COMMAND [options]     (pushpull COMMAND --help for each)

commands:
  submit KEY=VALUE... | @job.json     submit one job; --wait, --out DIR
  batch [FILE]                        submit a job per line of FILE (or stdin): URLs or --queries;
                                      --out DIR, --callback, --journal FILE, --json, --quiet
  status ID...                        the status of jobs
  wait ID...                          wait until jobs end
  results ID...                       the results of jobs: --type raw|parsed|png, --out DIR
  ips                                 the addresses the service sends callbacks from
  schedules create|list|show|pause|resume|runs
                                      the scheduler
  emulator [FLAGS]                    run the bundled emulator of the service

credentials: PUSHPULL_USERNAME and PUSHPULL_PASSWORD, else a netrc file entry for the
host of the base URL ($NETRC or ~/.netrc); never on the command line.
the service: --base-url URL, else PUSHPULL_BASE_URL, else the real service.

exit codes: 0 all done; 1 some job faulted or was lost, or the service refused a
request; 2 usage; 3 network or authentication.
]]

-- A failure that ends the command: main() prints it and exits with code.
local Exit = {}
Exit.__index = Exit

local function exit_error(code, message)
  return setmetatable({code = code, message = message}, Exit)
end

local Session = {}
Session.__index = Session

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

-- pushpull --base-url URL status ID: global options before the command
-- move behind it (before a "--", after which words are not options).
local function globals_first(argv)
  local leading, i = {}, 1
  while argv[i] and argv[i]:match("^%-%-%w") do
    local name = argv[i]:match("^%-%-([^=]+)")
    local o
    for _, g in ipairs(args.GLOBAL) do
      if g[1] == name then
        o = g
      end
    end
    if not o or o[1] == "help" then
      break
    end
    leading[#leading + 1] = argv[i]
    if o.arg and not argv[i]:find("=", 1, true) then
      i = i + 1
      leading[#leading + 1] = argv[i]
    end
    i = i + 1
  end
  if #leading == 0 then
    return argv
  end
  local out, dashes = {}, nil
  for k = i, #argv do
    out[#out + 1] = argv[k]
    if argv[k] == "--" and not dashes then
      dashes = #out
    end
  end
  if out[1] == "emulator" then
    -- the emulator takes its own flags; the service's do not concern it
    return out
  end
  local at = dashes or (#out + 1)
  for k = #leading, 1, -1 do
    table.insert(out, at, leading[k])
  end
  return out
end

local function run(session, argv)
  argv = globals_first(argv)
  local name = argv[1]
  if name == nil or name == "--help" or name == "-h" or name == "help" then
    io.stdout:write(USAGE)
    return name == nil and M.USAGE or M.OK
  end
  if name == "--version" then
    io.stdout:write("pushpull ", tostring(pushpull.VERSION), "\n")
    return M.OK
  end
  local modname = MODULES[name]
  if not modname then
    io.stderr:write(("pushpull: unknown command %q\n\n"):format(name), USAGE)
    return M.USAGE
  end
  session.command = name
  local mod = require(modname)
  local which, first = name, 2
  if mod.ACTIONS then
    -- a command with actions of its own: pushpull schedules list
    which, first = argv[2], 3
    if which == nil or which == "--help" or which == "-h" then
      io.stdout:write(mod.USAGE)
      return which == nil and M.USAGE or M.OK
    end
    if not mod.specs[which] then
      session:usage(("unknown action %q"):format(which))
    end
    session.command = name .. " " .. which
  end
  local spec = mod.specs[which]
  if mod.RAW and argv[2] ~= "--help" and argv[2] ~= "-h" then
    local rest = {}
    for i = argv[2] == "--" and 3 or 2, #argv do
      rest[#rest + 1] = argv[i]
    end
    return mod.run(session, {}, rest, which)
  end
  local opts, positionals = args.parse(spec, argv, first)
  if not opts then
    session:usage(positionals)
  end
  session.opts = opts
  if opts.help then
    io.stdout:write(args.help(spec))
    return M.OK
  end
  return mod.run(session, opts, positionals, which)
end

-- Runs the command line argv (arg of the script); returns the exit code.
-- ctx.script_dir: the folder of the script (to find the emulator).
function M.main(argv, ctx)
  local session = setmetatable({command = "", ctx = ctx or {}, opts = {}}, Session)
  local ok, code = xpcall(function() return run(session, argv) end, function(e)
    if getmetatable(e) == Exit then
      return e
    end
    return debug.traceback(tostring(e), 2)
  end)
  if not ok and session.cleanup then
    -- a live progress line is cleared before the error is written
    pcall(session.cleanup)
  end
  session:close()
  io.stdout:flush()
  if ok then
    return code or M.OK
  end
  if type(code) == "string" and code:find("interrupted!", 1, true) then
    io.stderr:write("pushpull: interrupted\n")
    return M.INTERRUPTED
  end
  if getmetatable(code) == Exit then
    io.stderr:write("pushpull: ", code.message, "\n")
    return code.code
  end
  io.stderr:write("pushpull: internal error: ", tostring(code), "\n")
  return M.SOME_FAILED
end

M.Session = Session

return M
