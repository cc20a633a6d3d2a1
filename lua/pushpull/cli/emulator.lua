-- pushpull emulator: runs the bundled emulator of the service
-- (pushpull-emulator) with the flags given, in the foreground.
--
-- It is looked for in $PUSHPULL_EMULATOR, next to the script in a checkout
-- (build/bin, or $PUSHPULL_BUILD_DIR/bin), then on PATH.
local M = {}

-- Every word after the command goes to the emulator as it is.
M.RAW = true

M.specs = {
  emulator = {
    usage = "pushpull emulator [EMULATOR FLAGS...]",
    summary = "Runs the bundled emulator of the service (pushpull-emulator) in the foreground;\n"
      .. "every flag after the command goes to it (pushpull emulator -- --help lists them).",
    details = "example: pushpull emulator --port 8700 --job-time uniform:1s:5s\n"
      .. "then:    PUSHPULL_USERNAME=user PUSHPULL_PASSWORD=pass1 \\\n"
      .. "         pushpull --base-url http://127.0.0.1:8700 submit url=https://example.com --wait\n"
      .. "found in $PUSHPULL_EMULATOR, build/bin of the checkout ($PUSHPULL_BUILD_DIR/bin), or PATH.",
  },
}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function executable(path)
  return path and os.execute("test -x " .. quote(path) .. " 2>/dev/null")
end

-- The emulator's path, or nil and where it was looked for.
function M.find(script_dir)
  local tried = {}
  local env = os.getenv("PUSHPULL_EMULATOR")
  if env and env ~= "" then
    local ok = executable(env)
    if ok == true or ok == 0 then
      return env
    end
    return nil, "PUSHPULL_EMULATOR names no executable file: " .. env
  end
  local candidates = {}
  local build = os.getenv("PUSHPULL_BUILD_DIR")
  if build and build ~= "" then
    candidates[#candidates + 1] = build .. "/bin/pushpull-emulator"
  end
  if script_dir then
    candidates[#candidates + 1] = script_dir .. "/../build/bin/pushpull-emulator"
    candidates[#candidates + 1] = script_dir .. "/pushpull-emulator"
  end
  for _, path in ipairs(candidates) do
    local ok = executable(path)
    if ok == true or ok == 0 then
      return path
    end
    tried[#tried + 1] = path
  end
  local p = io.popen("command -v pushpull-emulator 2>/dev/null")
  local found = p and p:read("*l")
  if p then
    p:close()
  end
  if found and found ~= "" then
    return found
  end
  tried[#tried + 1] = "PATH"
  return nil, "pushpull-emulator not found (looked in $PUSHPULL_EMULATOR, "
    .. table.concat(tried, ", ") .. "): build it with `make build`, or set PUSHPULL_EMULATOR"
end

function M.run(session, opts, positionals)
  local path, err = M.find(session.ctx.script_dir)
  if not path then
    session:fail(2, err)
  end
  -- Lua cannot exec: the emulator runs as a child of this process, and is
  -- told to stop when this process ends, however it ends (setpriv, of
  -- util-linux, sets the parent-death signal before it becomes the emulator)
  local words = {"exec"}
  local p = io.popen("command -v setpriv 2>/dev/null")
  local setpriv = p and p:read("*l")
  if p then
    p:close()
  end
  if setpriv and setpriv ~= "" then
    words[#words + 1] = "setpriv --pdeathsig TERM --"
  end
  words[#words + 1] = quote(path)
  for _, a in ipairs(positionals) do
    words[#words + 1] = quote(a)
  end
  io.stdout:flush()
  local ok, how, code = os.execute(table.concat(words, " "))
  if type(ok) == "number" then -- Lua 5.1 / LuaJIT: the wait status
    return ok % 256 == 0 and math.floor(ok / 256) or (128 + ok % 128)
  end
  if how == "signal" then
    return 128 + code
  end
  return code or (ok and 0 or 1)
end

return M
