-- Runs the pushpull command (bin/pushpull) as a person would, for the specs
-- of spec/cli: a separate process with its own environment, stdin from a
-- file, stdout and stderr captured, the exit code.
--
--   local cli = require("support.cli")
--   local r = cli.run({"status", id}, {emu = emu})   -- r.code, r.out, r.err
--   cli.run({"batch", "-"}, {emu = emu, stdin = "http://...\n"})
--   cli.check(r, 0)                                   -- asserts the exit code
--
-- The command runs under the interpreter of the running busted (lua5.4, or
-- luajit), with HOME in a fresh folder (no ~/.netrc of the machine), none of
-- the PUSHPULL_ variables of the caller, and with opts.emu the emulator's
-- address as PUSHPULL_BASE_URL and its account in PUSHPULL_USERNAME and
-- PUSHPULL_PASSWORD (opts.credentials = false leaves them out).
local env = require("support.env")
local emulator = require("support.emulator")
local files = require("support.files")

local M = {}

M.script = env.root .. "/bin/pushpull"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote


-- The command line that runs bin/pushpull with argv and the environment
-- of opts (see the top of this file); opts.env adds variables.
function M.command(argv, opts)
  opts = opts or {}
  local words = {"env", "-u", "PUSHPULL_USERNAME", "-u", "PUSHPULL_PASSWORD", "-u", "PUSHPULL_BASE_URL",
    "-u", "NETRC", "-u", "COLUMNS", "PUSHPULL_BUILD_DIR=" .. quote(env.build_dir)}
  if opts.home then
    words[#words + 1] = "HOME=" .. quote(opts.home)
  end
  if opts.emu then
    words[#words + 1] = "PUSHPULL_BASE_URL=" .. quote(opts.emu.url)
    if opts.credentials ~= false then
      words[#words + 1] = "PUSHPULL_USERNAME=" .. emulator.user
      words[#words + 1] = "PUSHPULL_PASSWORD=" .. emulator.password
    end
  end
  for k, v in pairs(opts.env or {}) do
    words[#words + 1] = k .. "=" .. quote(v)
  end
  words[#words + 1] = opts.interpreter or env.lua_name
  words[#words + 1] = quote(M.script)
  for _, a in ipairs(argv) do
    words[#words + 1] = quote(a)
  end
  return table.concat(words, " ")
end

-- Runs the command to its end: {code, out, err}.
function M.run(argv, opts)
  opts = opts or {}
  local dir = files.tmpdir()
  local o = {}
  for k, v in pairs(opts) do
    o[k] = v
  end
  o.home = o.home or dir
  local stdin = "/dev/null"
  if opts.stdin then
    stdin = dir .. "/stdin"
    files.write(stdin, opts.stdin)
  elseif opts.stdin_file then
    stdin = opts.stdin_file
  end
  local cmd = ("cd %s && %s <%s >%s/out 2>%s/err; echo $?"):format(quote(opts.cwd or dir), M.command(argv, o),
    quote(stdin), quote(dir), quote(dir))
  local p = assert(io.popen(cmd))
  local code = tonumber(p:read("*a"):match("(%d+)%s*$"))
  p:close()
  local r = {code = code, out = files.read(dir .. "/out") or "", err = files.read(dir .. "/err") or ""}
  files.rmdir(dir)
  return r
end

-- Asserts that a run exited with code; the run.
function M.check(r, code)
  require("luassert").are.equal(code, r.code, M.describe(r))
  return r
end

-- The lines of a text.
function M.lines(text)
  local list = {}
  for line in text:gmatch("[^\n]+") do
    list[#list + 1] = line
  end
  return list
end

-- A description of a run for assertion messages.
function M.describe(r)
  return ("exit %s\nstdout: %s\nstderr: %s"):format(tostring(r.code), r.out:sub(1, 2000), r.err:sub(1, 2000))
end

return M
