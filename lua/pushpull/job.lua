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
-- A job's own state sits in its client's job store, which only this module
-- reads; the other modules use the functions this module returns. A job
-- object is one small table: its public fields and its handle. Everything
-- else is kept per client, by handle, in flat lists (a workflow of 50,000
-- jobs holds 50,000 of them).
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

local HANDLE = {} -- key of the job's core handle in the job object
local STORE = {}  -- key of the job store in a host and in the jobs' metatable
local IS_JOB = {} -- key that marks the metatable of job objects

local function tostring_job(job)
  return ("pushpull.job %s (%s)"):format(tostring(job.id or "(no id)"), tostring(job.status))
end

-- The store of the jobs of a host: their metatable (one per host, so that a
-- job finds its host without a field of its own) and, by core handle,
--   state[h]  the core state last applied
--   marks[h]  nil, the function or list of functions to call when the job
--             ends, or true once it has ended
--   info      job object -> its decoded info, false when it has none (weak
--             keys: a job dropped by the user takes its info with it)
local function store_of(host)
  local s = host[STORE]
  if s then
    return s
  end
  s = {host = host, state = {}, marks = {}, info = setmetatable({}, {__mode = "k"})}
  local function index(job, key)
    local m = Job[key]
    if m ~= nil then
      return m
    end
    if key == "info" then
      local v = s.info[job]
      if v == nil then
        local text = host.core:job_info(job[HANDLE])
        v = text and json.decode(text) or false
        s.info[job] = v
      end
      return v or nil
    end
    if key == "results_path" and rawget(job, "fetched") then
      return files.path(host.core, job[HANDLE])
    end
    return nil
  end
  s.mt = {__index = index, __tostring = tostring_job, [STORE] = s, [IS_JOB] = true}
  host[STORE] = s
  return s
end

-- The store of job and its handle.
local function private(job)
  return getmetatable(job)[STORE], job[HANDLE]
end

function M.is(value)
  local mt = getmetatable(value)
  return type(mt) == "table" and rawget(mt, IS_JOB) == true
end

-- A job object for core handle h of host (pushpull.host; host:job(h) makes
-- one object per handle).
function M.new(host, h)
  local s = store_of(host)
  local c = host.core
  local state = c:job_state(h)
  s.state[h] = state
  s.marks[h] = states.ended(state, host.fetch) or nil
  return setmetatable({
    id = c:job_id(h),
    status = states.word(state),
    fetched = states.fetched(state),
    [HANDLE] = h,
  }, s.mt)
end

-- Applies a state the core reported (host:dispatch()).
function M.apply(job, state)
  local s, h = private(job)
  local host = s.host
  s.state[h] = state
  s.info[job] = nil
  job.status = states.word(state)
  job.fetched = states.fetched(state)
  if job.id == nil then
    job.id = host.core:job_id(h)
  end
  local marks = s.marks
  local listeners = marks[h]
  if listeners ~= true and states.ended(state, host.fetch) then
    marks[h] = true
    if type(listeners) == "function" then
      listeners(job)
    elseif listeners then
      for i = 1, #listeners do
        listeners[i](job)
      end
    end
  end
end

-- Re-reads the state from the core (in case no event told it yet).
function M.sync(job)
  local s, h = private(job)
  local state = s.host.core:job_state(h)
  if state ~= s.state[h] then
    M.apply(job, state)
  end
end

-- The job's handle in its client's core.
function M.handle(job)
  return job[HANDLE]
end

function M.ended(job)
  local s, h = private(job)
  return s.marks[h] == true
end

-- Whether the service accepted the job.
function M.accepted(job)
  local s, h = private(job)
  return job.id ~= nil and states.accepted(s.state[h])
end

-- Calls fn(job) once, when the job has ended (now, if it has).
function M.on_end(job, fn)
  local s, h = private(job)
  local marks = s.marks
  local m = marks[h]
  if m == true then
    fn(job)
  elseif m == nil then
    marks[h] = fn -- the usual case, one listener (its batch): no list
  elseif type(m) == "function" then
    marks[h] = {m, fn}
  else
    m[#m + 1] = fn
  end
end

-- Polls every job of the list that has not ended (the core polls the jobs
-- it submitted by itself; jobs attached by id wait for this).
function M.watch(jobs)
  local kicked = {}
  for i = 1, #jobs do
    local s, h = private(jobs[i])
    if s.marks[h] ~= true and jobs[i].id ~= nil then
      s.host.core:watch(h)
      kicked[s.host] = true
    end
  end
  for host in pairs(kicked) do
    host:kick()
  end
end

-- Why the job did not end well, as an error.
function M.failure(job, fallback)
  local s, h = private(job)
  local e = s.host.core:job_error(h)
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
  local host = (private(job)).host
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
  local s, h = private(self)
  local status, body = run(self, s.host.core:refresh(h))
  if not status then
    return nil, body
  end
  local decoded, derr = json.decode(body or "")
  if type(decoded) ~= "table" then
    return nil, errors.new("malformed job object: " .. tostring(derr), {status = status, body = body})
  end
  M.sync(self)
  s.info[self] = decoded
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
  local s, h = private(self)
  local marks = s.marks
  M.sync(self)
  if marks[h] ~= true then
    M.watch({self})
    local ok, why = s.host:wait(function() return marks[h] == true end, timeout)
    if not ok then
      return nil, errors.new(why, {job_status = self.status, job = self})
    end
  end
  if states.succeeded(s.state[h]) then
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
  local s, h = private(job)
  local body = s.host.core:job_results(h)
  if body then
    return body
  end
  local path = job.fetched and files.kept_path(s.host.core, h)
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
  local s, h = private(job)
  local status, body = run(job, s.host.core:fetch(h, rtype, path))
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
  local s, h = private(self)
  local c = s.host.core
  if rtype == "png" then
    local list, err = self:results{type = "png"}
    if not list then
      return nil, err
    end
    local paths, werr = files.write_images(c, path, list, util.base64_decode)
    if not paths then
      local extra = {job_status = self.status, job = self}
      if type(werr) == "table" then
        return nil, errors.from_core(werr, extra)
      end
      return nil, errors.new(werr, extra)
    end
    return paths
  end
  if rtype == nil and self.fetched and (c:job_results(h) or files.kept_path(c, h)) then
    -- the core puts them in place (a spool file is renamed there)
    local ok, err = files.save(c, h, path)
    if not ok then
      return nil, errors.from_core(err, {job_status = self.status, job = self})
    end
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
  local s, h = private(self)
  local e = s.host.core:job_error(h)
  if e then
    return errors.from_core(e, {job_status = self.status})
  end
  return nil
end

---Forgets the job in the client (and its kept results); the object must
---not be used afterwards.
---@return true
function Job:release()
  local s, h = private(self)
  s.state[h], s.marks[h], s.info[self] = nil, nil, nil
  s.host:forget(h)
  return true
end

return M
