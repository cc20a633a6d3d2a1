-- The pushpull command: `pushpull SUBCOMMAND [options]`. Each subcommand is
-- a module of pushpull.cli with `specs` (its options and help, see
-- pushpull.cli.args) and run(session, opts, positionals, name) returning an
-- exit code; the session (pushpull.cli.session) holds what they share and
-- names the exit codes.
local pushpull = require("pushpull")
local args = require("pushpull.cli.args")
local sessions = require("pushpull.cli.session")

local M = {}


-- The module of each command.
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
    return name == nil and sessions.USAGE or sessions.OK
  end
  if name == "--version" then
    io.stdout:write("pushpull ", tostring(pushpull.VERSION), "\n")
    return sessions.OK
  end
  local modname = MODULES[name]
  if not modname then
    io.stderr:write(("pushpull: unknown command %q\n\n"):format(name), USAGE)
    return sessions.USAGE
  end
  session.command = name
  local mod = require(modname)
  local which, first = name, 2
  if mod.ACTIONS then
    -- a command with actions of its own: pushpull schedules list
    which, first = argv[2], 3
    if which == nil or which == "--help" or which == "-h" then
      io.stdout:write(mod.USAGE)
      return which == nil and sessions.USAGE or sessions.OK
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
    return sessions.OK
  end
  return mod.run(session, opts, positionals, which)
end

-- Runs the command line argv (arg of the script); returns the exit code.
-- ctx.script_dir: the folder of the script (to find the emulator).
function M.main(argv, ctx)
  local session = sessions.new(ctx)
  local ok, code = xpcall(function() return run(session, argv) end, function(e)
    return sessions.exit_of(e) or debug.traceback(tostring(e), 2)
  end)
  if not ok and session.cleanup then
    -- a live progress line is cleared before the error is written
    pcall(session.cleanup)
  end
  session:close()
  io.stdout:flush()
  if ok then
    return code or sessions.OK
  end
  if type(code) == "string" and code:find("interrupted!", 1, true) then
    io.stderr:write("pushpull: interrupted\n")
    return sessions.INTERRUPTED
  end
  if sessions.exit_of(code) then
    io.stderr:write("pushpull: ", code.message, "\n")
    return code.code
  end
  io.stderr:write("pushpull: internal error: ", tostring(code), "\n")
  return sessions.SOME_FAILED
end


return M
