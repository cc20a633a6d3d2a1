-- Temporary folders and whole-file reads and writes for specs.
local files = {}

-- A fresh folder under /tmp; files.rmdir removes it.
function files.tmpdir()
  local p = assert(io.popen("mktemp -d /tmp/pushpull-spec.XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir:match("^/tmp/pushpull%-spec%."), "mktemp failed")
  return dir
end

-- Removes a folder made by files.tmpdir (and nothing else).
function files.rmdir(dir)
  if dir and dir:match("^/tmp/pushpull%-spec%.[%w]+$") then
    os.execute("rm -rf '" .. dir .. "'")
  end
end

function files.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function files.read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- The names in a folder matching a Lua pattern, sorted ({} when none or
-- no such folder).
function files.names(dir, pattern)
  local p = assert(io.popen("ls -A '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null"))
  local out = {}
  for name in p:lines() do
    if name:match(pattern) then
      out[#out + 1] = name
    end
  end
  p:close()
  table.sort(out)
  return out
end

-- Runs a shell command: its output (stdout and stderr) and its exit code.
function files.run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit $?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit (%d+)\n$"))
  return out:gsub("exit %d+\n$", ""), code
end

return files
