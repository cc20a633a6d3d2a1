-- A private lua-cjson instance with the settings pushpull needs, so that a
-- host application's own cjson configuration neither affects nor is
-- affected by this module.
--
-- lua-cjson reads every JSON number as a float: under Lua 5.3+ the service's
-- 200 would be 200.0 (math.type "float", tostring "200.0"). decode() turns
-- numbers with an integral value that fits an integer back into integers.
local cjson = require("cjson")

local codec = cjson.new()
codec.decode_max_depth(1000)
codec.encode_max_depth(1000)
-- Result pages can be large and arbitrary: never refuse a sparse array.
codec.encode_sparse_array(true)
-- The encode buffer grows to the largest text encoded (a 50,000-URL batch:
-- 4 MB); kept, it would stay that size for the life of the process.
codec.encode_keep_buffer(false)
if codec.decode_array_with_array_mt then
  -- OpenResty's fork: decoded arrays re-encode as arrays even when empty.
  codec.decode_array_with_array_mt(true)
end

local tointeger = math.tointeger -- nil before Lua 5.3, where there are no integers

local M = {null = cjson.null}

function M.encode(value)
  return codec.encode(value)
end

local function integers(t)
  for k, v in pairs(t) do
    local kind = type(v)
    if kind == "number" then
      local i = tointeger(v)
      if i then
        t[k] = i
      end
    elseif kind == "table" then
      integers(v)
    end
  end
  return t
end

-- value, or nil and a message
function M.decode(text)
  local ok, value = pcall(codec.decode, text)
  if not ok then
    return nil, value
  end
  if tointeger then
    local kind = type(value)
    if kind == "table" then
      integers(value)
    elseif kind == "number" then
      value = tointeger(value) or value
    end
  end
  return value
end

return M
