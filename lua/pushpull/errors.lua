-- Errors as pushpull returns them: tables with `message`, `status` (the
-- HTTP status, or nil), `body` (the service's raw answer, or nil) and,
-- where a job is concerned, `job_status` (its state name). tostring() gives
-- a one-line description.
local M = {}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local s = "pushpull: " .. tostring(e.message)
  if e.status then
    s = s .. " (HTTP " .. tostring(e.status) .. ")"
  end
  if e.job_status then
    s = s .. " [job " .. tostring(e.job_status) .. "]"
  end
  return s
end

-- new("message", {status = ..., body = ..., ...}) or new{message = ..., ...}
function M.new(message, fields)
  local e
  if type(message) == "table" then
    e = message
  else
    e = fields or {}
    e.message = message
  end
  if e.message == nil then
    e.message = "unknown error"
  end
  if e.status == 0 then
    e.status = nil
  end
  return setmetatable(e, Error)
end

-- The {message, status, body} tables of the C binding; extra fields merged.
function M.from_core(t, extra)
  if type(t) ~= "table" then
    t = {message = tostring(t)}
  end
  if extra then
    for k, v in pairs(extra) do
      if t[k] == nil then
        t[k] = v
      end
    end
  end
  return M.new(t)
end

function M.is(value)
  return getmetatable(value) == Error
end

return M
