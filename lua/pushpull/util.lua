-- Small helpers shared by the pushpull modules: argument checks that name
-- the argument, option tables that refuse unknown keys, list tests, whole
-- file reads and writes, base64.
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

-- A set {name = true} of the names given.
function M.set(...)
  local s = {}
  for i = 1, select("#", ...) do
    s[select(i, ...)] = true
  end
  return s
end

-- The option tables of pushpull's calls, by the names of the calls that
-- take them ("pushpull.new", "options.poll", "client:listen", ...): what
-- each call refuses, in one place that the documentation is checked against.
M.option_sets = {}

-- A set of option names (as M.set) for the calls named in `calls` (one
-- name, or several separated by commas), recorded in M.option_sets.
function M.option_set(calls, ...)
  local s = M.set(...)
  for call in calls:gmatch("[^,%s]+") do
    M.option_sets[call] = s
  end
  return s
end

-- Raises for the first key of t that is not in the set known, naming it
-- (prefix is where t sits: "options", "options.poll").
function M.known_keys(fname, prefix, t, known, level)
  for k in pairs(t) do
    if not known[k] then
      local names = {}
      for name in pairs(known) do
        names[#names + 1] = name
      end
      table.sort(names)
      M.argerror(fname, prefix .. "." .. tostring(k),
        "is not an option (options are " .. table.concat(names, ", ") .. ")", (level or 2) + 1)
    end
  end
end

-- An options table (nil means {}), checked to be a table whose keys are all
-- in the set known.
function M.options(fname, value, known, level)
  if value == nil then
    return {}
  end
  M.check(fname, "options", value, "table", (level or 2) + 1)
  M.known_keys(fname, "options", value, known, (level or 2) + 1)
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
  local cok, cerr = f:close()
  if not ok or not cok then
    return nil, werr or cerr
  end
  return true
end

-- ---- base64 (RFC 4648, the alphabet the service encodes png results with)

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64_value = {}
for i = 1, #B64 do
  b64_value[B64:sub(i, i)] = i - 1
end

local function quad(s)
  local a, b, c, d = b64_value[s:sub(1, 1)], b64_value[s:sub(2, 2)], b64_value[s:sub(3, 3)],
    b64_value[s:sub(4, 4)]
  local n = ((a * 64 + b) * 64 + (c or 0)) * 64 + (d or 0)
  local x, y, z = math.floor(n / 65536), math.floor(n / 256) % 256, n % 256
  if not c then
    return string.char(x)
  elseif not d then
    return string.char(x, y)
  end
  return string.char(x, y, z)
end

-- The bytes of base64 text (whitespace ignored), or nil when it is not base64.
function M.base64_decode(text)
  local s = text:gsub("%s+", "")
  if #s % 4 ~= 0 or s:find("[^%w%+/=]") or s:find("=[^=]") or s:find("===$") then
    return nil
  end
  return (s:gsub("....", quad))
end

return M
