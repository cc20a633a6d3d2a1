-- Schedules: client.schedules:create{cron, items, end_time}, :list(),
-- :get(id), :set_active(id, bool), :runs(id). Each returns the service's
-- decoded answer (true for an empty one), or nil, err.
local util = require("pushpull.util")

local M = {}

---The scheduler: recurring jobs. Each call returns the service's decoded
---answer (true for an empty one), or nil, err.
---@class pushpull.Schedules
local Schedules = {}
Schedules.__index = Schedules

function M.new(client)
  return setmetatable({_client = client}, Schedules)
end

-- Schedule ids may come back from JSON as numbers: print them whole.
local function id_string(fname, id)
  if type(id) == "number" and id >= 0 and id % 1 == 0 then
    return ("%.0f"):format(id)
  end
  if type(id) == "string" and id:match("^[%w%-_]+$") then
    return id
  end
  util.argerror(fname, "id", "must be a schedule id (string or integer), got " .. type(id), 3)
end

---Creates a schedule; params go to the service as given.
---@param params {cron: string, items: table[], end_time?: string}
---@return table? schedule
---@return pushpull.Error? err
function Schedules:create(params)
  local f = "schedules:create"
  util.check(f, "params", params, "table")
  util.check(f, "params.cron", params.cron, "string")
  util.check(f, "params.items", params.items, "table")
  if #params.items == 0 then
    util.argerror(f, "params.items", "must be a non-empty list of job parameters")
  end
  util.check(f, "params.end_time", params.end_time, "string|nil")
  return self._client:call("POST", "/v1/schedules", params)
end

---@return table? answer {schedules = {id, ...}}
---@return pushpull.Error? err
function Schedules:list()
  return self._client:call("GET", "/v1/schedules")
end

---@param id string|integer
---@return table? schedule
---@return pushpull.Error? err
function Schedules:get(id)
  return self._client:call("GET", "/v1/schedules/" .. id_string("schedules:get", id))
end

---@param id string|integer
---@param active boolean
---@return true? ok
---@return pushpull.Error? err
function Schedules:set_active(id, active)
  local sid = id_string("schedules:set_active", id)
  util.check("schedules:set_active", "active", active, "boolean")
  local ok, err = self._client:call("PUT", "/v1/schedules/" .. sid .. "/state", {active = active})
  if not ok then
    return nil, err
  end
  return true
end

---@param id string|integer
---@return table? answer {runs = {...}}
---@return pushpull.Error? err
function Schedules:runs(id)
  return self._client:call("GET", "/v1/schedules/" .. id_string("schedules:runs", id) .. "/runs")
end

return M
