-- Temporary folders and whole-file reads for specs.
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

function files.read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

return files
