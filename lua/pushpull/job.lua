-- Job objects: the Lua face of one job handle of a client's core.
--
--   job.id            the service's id (a string), nil until the submission is answered
--   job.status        "submitting", "pending", "done", "faulted", "unknown",
--                     "rejected", "expired" or "failed" (pushpull.states)
--   job.fetched       true once its results are at hand (in memory or in a file)
--   job.results_path  the file the results were written to (results_dir), or nil
--   job.info          the last job object the service sent, decoded (or nil)
--   job:refresh()     asks the service now
--   job:wait{timeout}, job:results{type}, job:save_results(path, {type}),
--   job:error(), job:release()
--
-- A job's own state sits in a private record that only this module reads;
-- the other modules use the functions this module returns.
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local util = require("pushpull.util")
local states = require("pushpull.states")
local files = require("pushpull.results_files")

local M = {}

---A job of the service, as this client knows it.
---@class pushpull.Job
---@field id string? the service's id; nil until the submission is answered
---@field status pushpull.JobStatus the last known status
---@field fetched boolean whether its results are at hand (in memory or in a file)
---@field results_path string? the file its results were written to (submit's results_dir), or nil
---@field info table? the last job object the service sent, decoded
local Job = {} -- the methods
local JobMT = {} -- the metatable of job objects

local PRIVATE = {} -- key of the job's private record

local function info(job)
  local rec = job[PRIVATE]
  if rec.info_stale then
    local text = rec.host.core:job_info(rec.h)
    rec.info = text and json.decode(text) or nil
    rec.info_stale = false
  end
  return rec.info
end

JobMT.__index = function(job, key)
  local m = Job[key]
  if m ~= nil then
    return m
  end
  if key == "info" then
    return info(job)
  end
  return nil
end

function JobMT.__tostring(job)
  return ("pushpull.job %s (%s)"):format(tostring(job.id or "(no id)"), tostring(job.status))
end

function M.is(value)
  return getmetatable(value) == JobMT
end

-- A job object for core handle h of host (pushpull.host; host:job(h) makes
-- one object per handle).
function M.new(host, h)
  local c = host.core
  local state = c:job_state(h)
  local rec = {
    host = host,
    h = h,
    state = state,
    info_stale = true,
    ended = states.ended(state, host.fetch),
    listeners = nil, -- functions called once when the job ends
    results_dir = nil,
  }
  return setmetatable({
    id = c:job_id(h),
    status = states.word(state),
    fetched = states.fetched(state),
    [PRIVATE] = rec,
  }, JobMT)
end

-- Applies a state the core reported (host:dispatch()).
function M.apply(job, state)
  local rec = job[PRIVATE]
  local host = rec.host
  rec.state = state
  rec.info_stale = true
  job.status = states.word(state)
  job.fetched = states.fetched(state)
  if job.id == nil then
    job.id = host.core:job_id(rec.h)
  end
  if job.fetched then
    job.results_path = files.path(rec)
  end
  if not rec.ended and states.ended(state, host.fetch) then
    rec.ended = true
    local listeners = rec.listeners
    if listeners then
      rec.listeners = nil
      for i = 1, #listeners do
        listeners[i](job)
      end
    end
  end
end

-- Re-reads the state from the core (in case no event told it yet).
function M.sync(job)
  local rec = job[PRIVATE]
  local state = rec.host.core:job_state(rec.h)
  if state ~= rec.state then
    M.apply(job, state)
  end
end

-- The job's handle in its client's core.
function M.handle(job)
  return job[PRIVATE].h
end

function M.ended(job)
  return job[PRIVATE].ended
end

-- Whether the service accepted the job.
function M.accepted(job)
  return job.id ~= nil and states.accepted(job[PRIVATE].state)
end

-- Calls fn(job) once, when the job has ended (now, if it has).
function M.on_end(job, fn)
  local rec = job[PRIVATE]
  if rec.ended then
    fn(job)
    return
  end
  local list = rec.listeners
  if not list then
    list = {}
    rec.listeners = list
  end
  list[#list + 1] = fn
end

-- Polls every job of the list that has not ended (the core polls the jobs
-- it submitted by itself; jobs attached by id wait for this).
function M.watch(jobs)
  local kicked = {}
  for i = 1, #jobs do
    local rec = jobs[i][PRIVATE]
    if not rec.ended and jobs[i].id ~= nil then
      rec.host.core:watch(rec.h)
      kicked[rec.host] = true
    end
  end
  for host in pairs(kicked) do
    host:kick()
  end
end

-- Why the job did not end well, as an error.
function M.failure(job, fallback)
  local rec = job[PRIVATE]
  local e = rec.host.core:job_error(rec.h)
  local extra = {job_status = job.status, job = job}
  if e then
    return errors.from_core(e, extra)
  end
  extra.message = fallback or ("job " .. tostring(job.status))
  return errors.new(extra)
end

-- Waits for an operation the core started for this job: its HTTP status
-- and body, or nil, err (with job_status).
local function run(job, op, start_err)
  if not op then
    return nil, errors.new(start_err, {job_status = job.status})
  end
  local host = job[PRIVATE].host
  host:kick()
  local status, body = host:finish(op)
  if not status then
    body.job_status = body.job_status or job.status
  end
  return status, body
end

---Asks the service for the job now (GET /v1/queries/{id}), updates
---job.info and job.status, and returns the status.
---@return pushpull.JobStatus? status
---@return pushpull.Error? err
function Job:refresh()
  local rec = self[PRIVATE]
  local status, body = run(self, rec.host.core:refresh(rec.h))
  if not status then
    return nil, body
  end
  local decoded, derr = json.decode(body or "")
  if type(decoded) ~= "table" then
    return nil, errors.new("malformed job object: " .. tostring(derr), {status = status, body = body})
  end
  M.sync(self)
  rec.info = decoded
  rec.info_stale = false
  return self.status
end

local TIMEOUT_ONLY = util.option_set("job:wait", "timeout")

---Waits until the job has ended.
---@param opts? {timeout?: number} timeout in seconds (nil: no limit)
---@return true? ok true when it ended done (with its results, when the client fetches them)
---@return pushpull.Error? err err.job_status says how it ended; err.message "timeout" when it has not
function Job:wait(opts)
  opts = util.options("job:wait", opts, TIMEOUT_ONLY)
  local timeout = util.timeout("job:wait", opts)
  local rec = self[PRIVATE]
  M.sync(self)
  if not rec.ended then
    M.watch({self})
    local ok, why = rec.host:wait(function() return rec.ended end, timeout)
    if not ok then
      return nil, errors.new(why, {job_status = self.status, job = self})
    end
  end
  if states.succeeded(rec.state) then
    return true
  end
  return nil, M.failure(self)
end

-- The list of a {"results": [...]} answer, parsed content decoded.
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

-- Whether every result of the list is of type rtype.
local function all_of_type(list, rtype)
  for i = 1, #list do
    if type(list[i]) ~= "table" or list[i].type ~= rtype then
      return false
    end
  end
  return #list > 0
end

-- The answer the poller kept (the service's default type), or nil.
local function kept_results(job)
  local rec = job[PRIVATE]
  local body = rec.host.core:job_results(rec.h)
  if body then
    return body
  end
  local path = job.fetched and files.kept_path(rec)
  if path then
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

-- Downloads results (or streams them to path); returns the body (true with
-- a path) and the HTTP status, or nil, err.
local function download(job, rtype, path)
  local rec = job[PRIVATE]
  local status, body = run(job, rec.host.core:fetch(rec.h, rtype, path))
  if not status then
    return nil, body
  end
  if status == 204 then
    return nil, errors.new("results not ready", {status = 204, job_status = job.status})
  end
  return body or true, status
end

local TYPE_ONLY = util.option_set("job:results, job:save_results", "type")

---The job's results: the list of the service's {"results": [...]} answer,
---parsed content decoded. Results the poller kept are used when they are
---of the type asked for (a job submitted with parse = true keeps parsed
---ones); otherwise they are downloaded.
---@param opts? {type?: string} "raw", "parsed", "png", "markdown", ... (nil: the service's default)
---@return table[]? results
---@return pushpull.Error? err
function Job:results(opts)
  opts = util.options("job:results", opts, TYPE_ONLY)
  local rtype = check_type("job:results", opts)
  local kept = kept_results(self)
  if kept then
    local list = decode_results(kept, rtype)
    if list and (rtype == nil or all_of_type(list, rtype)) then
      return list
    end
  end
  local body, status = download(self, rtype, nil)
  if not body then
    return nil, status
  end
  return decode_results(body, rtype, status)
end

---Saves the job's results to files. With type "png", each result's image
---(its base64 content, decoded) goes to an image file: path for the first,
---then path with "-2", "-3", ... before the extension. Otherwise the
---service's JSON answer is streamed to path.
---@param path string
---@param opts? {type?: string}
---@return string[]? paths the files written
---@return pushpull.Error? err
function Job:save_results(path, opts)
  util.check("job:save_results", "path", path, "string")
  opts = util.options("job:save_results", opts, TYPE_ONLY)
  local rtype = check_type("job:save_results", opts)
  if rtype == "png" then
    local list, err = self:results{type = "png"}
    if not list then
      return nil, err
    end
    local paths, werr = files.write_images(self[PRIVATE], path, list, util.base64_decode)
    if not paths then
      local extra = {job_status = self.status, job = self}
      if type(werr) == "table" then
        return nil, errors.from_core(werr, extra)
      end
      return nil, errors.new(werr, extra)
    end
    return paths
  end
  local rec = self[PRIVATE]
  if rtype == nil and self.fetched and (rec.host.core:job_results(rec.h) or files.kept_path(rec)) then
    -- the core puts them in place (a spool file is renamed there)
    local ok, err = files.save(rec, path)
    if not ok then
      return nil, errors.from_core(err, {job_status = self.status, job = self})
    end
    self.results_path = files.path(rec)
    return {path}
  end
  local ok, err = download(self, rtype, path)
  if not ok then
    return nil, err
  end
  return {path}
end

---Why the job was rejected, is unknown, faulted, expired or failed; nil
---while nothing went wrong.
---@return pushpull.Error?
function Job:error()
  local rec = self[PRIVATE]
  local e = rec.host.core:job_error(rec.h)
  if e then
    return errors.from_core(e, {job_status = self.status})
  end
  return nil
end

---Forgets the job in the client (and its kept results); the object must
---not be used afterwards.
---@return true
function Job:release()
  local rec = self[PRIVATE]
  rec.host:forget(rec.h)
  return true
end

return M
