-- Small helpers shared by the pushpull modules.
local M = {}

-- Raise an argument error naming the function and the argument, reported at
-- the caller of the public function (level 3: caller of the function that
-- called check()).
function M.argerror(fname, argname, message, level)
  error(("pushpull: %s: %s %s"):format(fname, argname, message), (level or 2) + 1)
end

-- Checks that value has one of the Lua types listed ("string", "table|nil").
function M.check(fname, argname, value, types, level)
  local t = type(value)
  for want in types:gmatch("[^|]+") do
    if t == want then
      return value
    end
  end
  M.argerror(fname, argname, ("must be %s, got %s"):format(types:gsub("|", " or "), t), (level or 2) + 1)
end

-- An options table (nil means {}), checked to be a table.
function M.opts(fname, value, level)
  if value == nil then
    return {}
  end
  M.check(fname, "options", value, "table", (level or 2) + 1)
  return value
end

-- A timeout in seconds from opts.timeout: nil (no limit) or a number >= 0.
function M.timeout(fname, opts, level)
  local t = opts.timeout
  if t ~= nil and (type(t) ~= "number" or t < 0 or t ~= t) then
    M.argerror(fname, "options.timeout", "must be a non-negative number of seconds", (level or 2) + 1)
  end
  return t
end

function M.is_list(t)
  if type(t) ~= "table" then
    return false
  end
  local n = #t
  if n == 0 then
    return next(t) == nil
  end
  local count = 0
  for _ in pairs(t) do
    count = count + 1
  end
  return count == n
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local data = f:read("*a")
  f:close()
  return data
end

function M.write_file(path, data)
  local f, err = io.open(path, "wb")
  if not f then
    return nil, err
  end
  local ok, werr = f:write(data)
  f:close()
  if not ok then
    return nil, werr
  end
  return true
end

return M
