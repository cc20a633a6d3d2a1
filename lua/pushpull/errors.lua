-- Errors as pushpull returns them: tables with `message`, `status` (the
-- HTTP status, or nil), `body` (the service's raw answer, or nil) and,
-- where a job is concerned, `job_status` (its status word). They stand in
-- for a string: tostring(err) gives a one-line description, and so do
-- "text" .. err and assert(nil, err) under Lua 5.4 and LuaJIT.
local M = {}

---An expected failure: the second value of a call that returned nil.
---@class pushpull.Error
---@field message string what happened ("timeout", "nothing in flight", "client is closed", the service's words, ...)
---@field status? integer the HTTP status of the service's answer
---@field body? string the service's answer
---@field job_status? pushpull.JobStatus the status of the job concerned
---@field job? pushpull.Job the job concerned
---@field pending? pushpull.Job[] client:wait_all / batch:wait: the jobs still out
---@field batch? pushpull.Batch client:submit_batch: the batch, when no job of it was accepted
---@field unknown? boolean client:feed_callback: a job object of no job of this client
---@field malformed? boolean client:feed_callback: not a job object
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

function Error.__concat(a, b)
  return tostring(a) .. tostring(b)
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

---Whether value is an error pushpull returned.
---@param value any
---@return boolean
function M.is(value)
  return getmetatable(value) == Error
end

return M
