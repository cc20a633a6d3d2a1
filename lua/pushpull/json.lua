-- A private lua-cjson instance with the settings pushpull needs, so that a
-- host application's own cjson configuration neither affects nor is
-- affected by this module.
local cjson = require("cjson")

local codec = cjson.new()
codec.decode_max_depth(1000)
codec.encode_max_depth(1000)
-- Result pages can be large and arbitrary: never refuse a sparse array.
codec.encode_sparse_array(true)
if codec.decode_array_with_array_mt then
  -- OpenResty's fork: decoded arrays re-encode as arrays even when empty.
  codec.decode_array_with_array_mt(true)
end

local M = {null = cjson.null}

function M.encode(value)
  return codec.encode(value)
end

-- value, or nil and a message
function M.decode(text)
  local ok, value = pcall(codec.decode, text)
  if ok then
    return value
  end
  return nil, value
end

return M
