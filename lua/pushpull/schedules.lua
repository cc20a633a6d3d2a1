-- Schedules: client.schedules:create{cron, items, end_time}, :list(),
-- :get(id), :set_active(id, bool), :runs(id). Each returns the service's
-- decoded answer (true for an empty one), or nil, err.
local util = require("pushpull.util")

local M = {}

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

function Schedules:list()
  return self._client:call("GET", "/v1/schedules")
end

function Schedules:get(id)
  return self._client:call("GET", "/v1/schedules/" .. id_string("schedules:get", id))
end

function Schedules:set_active(id, active)
  local sid = id_string("schedules:set_active", id)
  util.check("schedules:set_active", "active", active, "boolean")
  local ok, err = self._client:call("PUT", "/v1/schedules/" .. sid .. "/state", {active = active})
  if not ok then
    return nil, err
  end
  return true
end

function Schedules:runs(id)
  return self._client:call("GET", "/v1/schedules/" .. id_string("schedules:runs", id) .. "/runs")
end

return M
