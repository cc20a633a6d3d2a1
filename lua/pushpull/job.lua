-- Job objects: the Lua face of one pp_job handle of a client.
--
--   job.id       the service's id (a string), nil until the submission is answered
--   job.status   the last known state name: "new", "submitting", "pending",
--                "done", "faulted", "fetching", "fetched", "rejected",
--                "unknown", "expired"
--   job.info     the last job object the service returned, decoded (or nil)
--   job:status() asks the service now (GET /v1/queries/{id}); returns its
--                status string ("pending", "done", "faulted") and updates
--                job.info -- or nil, err. (job:check() is the same call.)
--   job:wait{timeout = s}       true once the job ended well; nil, err if not
--   job:results{type = "parsed"}  the list of results, decoded
--   job:save_results(path, {type = ...})  streams the results to a file
--
-- `job.status` is a string field and `job:status()` a call: calling a string
-- is an error in Lua, so this module gives the string metatable a __call
-- that serves exactly `job:status()` (a string called with a job as its
-- first argument) and raises Lua's usual error for any other call.
local core = require("pushpull.core")
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local util = require("pushpull.util")

local states = core.states
local DONE, FETCHED = core.DONE, core.FETCHED
local PENDING = core.PENDING

local M = {}

local Job = {}
local methods = {}
M.Job = Job
M.methods = methods

local getters = {}

function getters.info(job)
  if job._info_stale then
    local text = job._client.core:job_info(job._h)
    job._info = text and json.decode(text) or nil
    job._info_stale = false
  end
  return job._info
end

Job.__index = function(job, key)
  local m = methods[key]
  if m ~= nil then
    return m
  end
  local g = getters[key]
  if g then
    return g(job)
  end
  return nil
end

function Job.__tostring(job)
  return ("pushpull.job %s (%s)"):format(tostring(job.id or "(no id)"), tostring(job.status))
end

function M.is(value)
  return getmetatable(value) == Job
end

-- A job object for core handle h of client.
function M.new(client, h)
  local c = client.core
  local state = c:job_state(h)
  local job = setmetatable({
    _client = client,
    _h = h,
    _state = state,
    _info_stale = true,
    _ended = false,
    id = c:job_id(h),
    status = states[state],
  }, Job)
  job._ended = M.ended(client, state)
  return job
end

-- Whether a job in `state` has ended for its client: a final state, or done
-- when the client does not fetch results while polling.
function M.ended(client, state)
  if core.state_is_final(state) then
    return true
  end
  return state == DONE and not client._fetch
end

-- Applies a state the core reported (from client:_dispatch()).
function methods._set_state(job, state)
  local client = job._client
  job._state = state
  job.status = states[state] or tostring(state)
  job._info_stale = true
  if job.id == nil and state >= PENDING then
    job.id = client.core:job_id(job._h)
  end
  if not job._ended and M.ended(client, state) then
    job._ended = true
    local batches = job._batches
    if batches then
      for i = 1, #batches do
        batches[i]:_on_end(job)
      end
    end
  end
end

-- Re-reads the state from the core (in case no event told it yet).
function methods._sync(job)
  local state = job._client.core:job_state(job._h)
  if state ~= job._state then
    job:_set_state(state)
  end
end

-- Why the job did not end well, as an error table.
function methods._error(job, fallback)
  local e = job._client.core:job_error(job._h)
  local extra = {job_status = job.status, job = job}
  if e then
    return errors.from_core(e, extra)
  end
  extra.message = fallback or ("job " .. tostring(job.status))
  return errors.new(extra)
end

-- Waits for an operation the core started for this job: its HTTP status
-- and body, or nil, err (with job_status).
function methods._run(job, op, start_err)
  if not op then
    return nil, errors.new(start_err, {job_status = job.status})
  end
  local client = job._client
  client:_kick()
  local status, body = client:_finish(op)
  if not status then
    body.job_status = body.job_status or job.status
  end
  return status, body
end

-- GET the job's status now. Returns the service's status string.
function methods.check(job)
  local status, body = job:_run(job._client.core:refresh(job._h))
  if not status then
    return nil, body
  end
  local info, derr = json.decode(body or "")
  if type(info) ~= "table" then
    return nil, errors.new("malformed job object: " .. tostring(derr), {status = status, body = body})
  end
  job:_sync()
  job._info = info
  job._info_stale = false
  return info.status
end
methods.refresh = methods.check

-- Serves `job:status()`: the field job.status is a string, and this makes
-- calling it with its job as the argument mean job:check().
do
  local smt = getmetatable("")
  if smt then
    local previous = smt.__call
    smt.__call = function(s, self, ...)
      if getmetatable(self) == Job then
        return methods.check(self, ...)
      end
      if previous then
        return previous(s, self, ...)
      end
      error("attempt to call a string value", 2)
    end
  end
end

-- Waits until the job ended. true when it ended done (and its results are
-- here, when the client fetches while polling); nil, err otherwise, with
-- err.job_status the state it ended in, or err.message "timeout".
function methods.wait(job, opts)
  opts = util.opts("job:wait", opts)
  local timeout = util.timeout("job:wait", opts)
  local client = job._client
  job:_sync()
  if not job._ended then
    client.core:watch(job._h)
    client:_kick()
    local ok, why = client:_wait(function() return job._ended end, timeout)
    if not ok then
      return nil, errors.new(why, {job_status = job.status, job = job})
    end
  end
  local state = job._state
  if state == FETCHED or state == DONE then
    return true
  end
  return nil, job:_error()
end

local function decode_results(body, rtype, status)
  local data, derr = json.decode(body)
  if type(data) ~= "table" or type(data.results) ~= "table" then
    return nil, errors.new("malformed results: " .. tostring(derr or "no results list"),
      {status = status, body = body})
  end
  local parsed_wanted = rtype == "parsed"
  for _, r in ipairs(data.results) do
    if type(r) == "table" and type(r.content) == "string"
        and (r.type == "parsed" or parsed_wanted) then
      local content = json.decode(r.content)
      if type(content) == "table" then
        r.content = content
      end
    end
  end
  return data.results
end

-- The kept answer of the poller, when it matches the type asked for.
local function kept_results(job, rtype)
  if rtype ~= nil then
    return nil
  end
  local c = job._client.core
  local body = c:job_results(job._h)
  if body then
    return body
  end
  local path = c:job_results_path(job._h)
  if path and job._state == FETCHED then
    return util.read_file(path)
  end
  return nil
end

local function check_type(fname, opts)
  local rtype = opts.type
  if rtype ~= nil and (type(rtype) ~= "string" or rtype == "") then
    util.argerror(fname, "options.type", "must be a non-empty string (raw, parsed, png, ...)", 3)
  end
  return rtype
end

-- Downloads results (or streams them to path); returns the body (nil with
-- a path) or nil, err.
local function fetch(job, rtype, path)
  local status, body = job:_run(job._client.core:fetch(job._h, rtype, path))
  if not status then
    return nil, body
  end
  if status == 204 then
    return nil, errors.new("results not ready", {status = 204, job_status = job.status})
  end
  return body or true, status
end

-- The job's results: the list of the {"results": [...]} answer, with
-- parsed content decoded. opts.type: "raw", "parsed", "png", ...
function methods.results(job, opts)
  opts = util.opts("job:results", opts)
  local rtype = check_type("job:results", opts)
  local body = kept_results(job, rtype)
  local status
  if not body then
    local err
    body, err = fetch(job, rtype, nil)
    if not body then
      return nil, err
    end
    status = err
  end
  return decode_results(body, rtype, status)
end

-- Streams the results to path (created or truncated). true, or nil, err.
function methods.save_results(job, path, opts)
  util.check("job:save_results", "path", path, "string")
  opts = util.opts("job:save_results", opts)
  local rtype = check_type("job:save_results", opts)
  local c = job._client.core
  if rtype == nil and job._state == FETCHED and (c:job_results(job._h) or c:job_results_path(job._h)) then
    -- the core puts them in place atomically (a spool file is renamed)
    local ok, err = c:job_save_results(job._h, path)
    if not ok then
      return nil, errors.from_core(err, {job_status = job.status})
    end
    return true
  end
  local ok, err = fetch(job, rtype, path)
  if not ok then
    return nil, err
  end
  return true
end

-- Why the job is rejected, unknown, faulted or expired (an error table), or nil.
function methods.error(job)
  local e = job._client.core:job_error(job._h)
  if e then
    return errors.from_core(e, {job_status = job.status})
  end
  return nil
end

-- Where the poller wrote the results, when it wrote them to a file.
function methods.results_path(job)
  local path, temporary = job._client.core:job_results_path(job._h)
  if temporary then
    return nil
  end
  return path
end

-- Forgets the job in the client; the object must not be used afterwards.
function methods.release(job)
  local client = job._client
  client._jobs[job._h] = nil
  client.core:job_release(job._h)
  job._released = true
end

return M
