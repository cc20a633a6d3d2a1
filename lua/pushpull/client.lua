-- The client: one C core (pp_client), the job objects made from its
-- handles, and the waits, which go through a driver (pushpull.drivers).
local core = require("pushpull.core")
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local util = require("pushpull.util")
local jobmod = require("pushpull.job")
local batchmod = require("pushpull.batch")
local schedules = require("pushpull.schedules")
local drivers = require("pushpull.drivers")

local M = {}

local Client = {}
Client.__index = Client
M.Client = Client

local DEFAULT_BASE_URL = "https://data.oxylabs.io"

-- Values per batch request on an event loop (OpenResty, Neovim). Reading the
-- answer to a 5,000-value request takes the core tens of milliseconds in one
-- step, which an nginx worker or an editor would feel; answers to 100 values
-- read in well under a millisecond each, for 50 requests instead of one.
M.EVENT_LOOP_BATCH_SIZE = 100

local function seconds_to_ms(fname, name, v)
  if v == nil then
    return nil
  end
  if type(v) ~= "number" or v < 0 or v ~= v then
    util.argerror(fname, name, "must be a non-negative number of seconds", 3)
  end
  return math.floor(v * 1000 + 0.5)
end

local function int_option(fname, name, v, min, max)
  if v == nil then
    return nil
  end
  if type(v) ~= "number" or v < min or v % 1 ~= 0 or (max and v > max) then
    util.argerror(fname, name, "must be an integer from " .. min .. (max and (" to " .. max) or ""), 3)
  end
  return v
end

-- pushpull.new{username, password, base_url, timeout, max_connections,
--   poll = {first, min, max, factor, fetch}, batch_size, driver, ...}
-- -> client, or nil, err
function M.new(opts)
  local f = "pushpull.new"
  util.check(f, "options", opts, "table")
  util.check(f, "options.username", opts.username, "string")
  util.check(f, "options.password", opts.password, "string")
  util.check(f, "options.base_url", opts.base_url, "string|nil")
  util.check(f, "options.user_agent", opts.user_agent, "string|nil")
  util.check(f, "options.driver", opts.driver, "string|nil")
  local poll = util.check(f, "options.poll", opts.poll, "table|nil") or {}
  if poll.factor ~= nil and (type(poll.factor) ~= "number" or poll.factor < 1) then
    util.argerror(f, "options.poll.factor", "must be a number >= 1")
  end
  if opts.driver and not drivers.load(opts.driver) then
    util.argerror(f, "options.driver", "names no installed driver: " .. opts.driver)
  end
  local fetch = poll.fetch
  if fetch == nil then
    fetch = true
  end

  local base_url = (opts.base_url or DEFAULT_BASE_URL):gsub("/+$", "")
  local c, err = core.new{
    base_url = base_url,
    username = opts.username,
    password = opts.password,
    user_agent = opts.user_agent,
    timeout_ms = seconds_to_ms(f, "options.timeout", opts.timeout),
    connect_timeout_ms = seconds_to_ms(f, "options.connect_timeout", opts.connect_timeout),
    max_connections = int_option(f, "options.max_connections", opts.max_connections, 1),
    max_retries = int_option(f, "options.max_retries", opts.max_retries, 0),
    retry_base_ms = seconds_to_ms(f, "options.retry_base", opts.retry_base),
    retry_max_ms = seconds_to_ms(f, "options.retry_max", opts.retry_max),
    batch_size = int_option(f, "options.batch_size", opts.batch_size, 1, core.BATCH_MAX)
      or (drivers.on_event_loop(opts) and M.EVENT_LOOP_BATCH_SIZE or nil),
    poll_first_ms = seconds_to_ms(f, "options.poll.first", poll.first),
    poll_min_ms = seconds_to_ms(f, "options.poll.min", poll.min),
    poll_max_ms = seconds_to_ms(f, "options.poll.max", poll.max),
    poll_factor = poll.factor,
    poll_fetch = fetch and true or false,
  }
  if not c then
    return nil, errors.new(err)
  end
  local self = setmetatable({
    core = c,
    base_url = base_url,
    now = core.now,
    _fetch = fetch and true or false,
    _jobs = setmetatable({}, {__mode = "v"}), -- handle -> job object
    _drivers = {}, -- name -> driver instance
    _driver_name = opts.driver,
    _loop = opts.loop, -- for the luv driver
  }, Client)
  self.options = {}
  for k, v in pairs(opts) do
    self.options[k] = v
  end
  self.options.password = nil
  self.schedules = schedules.new(self)
  return self
end

-- ---- the host side of the driver interface (see pushpull/drivers/init.lua)

-- Applies the core's events to the job objects; returns how many there were.
function Client:dispatch()
  local jev, oev = self.core:take_events()
  local jobs = self._jobs
  for i = 1, #jev, 2 do
    local job = jobs[jev[i]]
    if job then
      job:_set_state(jev[i + 1])
    end
  end
  return #jev / 2 + #oev
end

-- The driver for a wait made now.
function Client:driver()
  return drivers.pick(self, self._driver_name)
end

-- Tells the drivers that new work was started in the core.
function Client:_kick()
  for _, d in pairs(self._drivers) do
    if d.kick then
      d:kick()
    end
  end
end

-- Waits until cond() holds, at most timeout seconds (nil: no limit).
-- true, or nil and a reason ("timeout", ...).
function Client:_wait(cond, timeout)
  if cond() then
    return true
  end
  if self._closed then
    return nil, "client is closed"
  end
  local deadline = timeout and (core.now() + timeout)
  return self:driver():wait(cond, deadline)
end

-- Waits for an operation to finish, then frees it. Returns its HTTP status
-- and body, or nil, err.
function Client:_finish(op, timeout)
  local c = self.core
  local ok, why = self:_wait(function() return c:op_done(op) end, timeout)
  if not ok then
    return nil, errors.new(why)
  end
  local e = c:op_error(op)
  local status, body = c:op_status(op), c:op_body(op)
  c:op_free(op)
  if e then
    return nil, errors.from_core(e)
  end
  return status, body
end

-- The job object of a core handle (one per handle).
function Client:_job(h)
  local job = self._jobs[h]
  if not job then
    job = jobmod.new(self, h)
    self._jobs[h] = job
  end
  return job
end

function Client:_watch_all(jobs)
  local c = self.core
  for i = 1, #jobs do
    local job = jobs[i]
    if not job._ended and job._state >= core.PENDING then
      c:watch(job._h)
    end
  end
  self:_kick()
end

-- ---- submitting

local function check_params(fname, params, batch)
  util.check(fname, "params", params, "table")
  if batch then
    local key
    for _, k in ipairs{"url", "query"} do
      if type(params[k]) == "table" then
        if key then
          util.argerror(fname, "params", "must have a list in url or in query, not both", 3)
        end
        key = k
      end
    end
    if not key then
      util.argerror(fname, "params.url", "(or params.query) must be a list of values", 3)
    end
    local list = params[key]
    if not util.is_list(list) or #list == 0 then
      util.argerror(fname, "params." .. key, "must be a non-empty list", 3)
    end
  else
    for _, k in ipairs{"url", "query"} do
      if type(params[k]) == "table" then
        util.argerror(fname, "params." .. k, "must be a single value (use submit_batch for lists)", 3)
      end
    end
  end
end

local function check_submit_opts(fname, opts)
  opts = util.opts(fname, opts, 3)
  util.check(fname, "options.results_dir", opts.results_dir, "string|nil", 3)
  util.check(fname, "options.callback", opts.callback, "boolean|nil", 3)
  return opts
end

-- Starts the submission; returns op and the job objects, or nil, err.
function Client:_start(fname, params, opts)
  if opts.callback then
    -- the service posts the job to this client's listener when it ends, or
    -- to the URL of client:expect_callbacks (served by the host)
    local port, url = self.core:listening()
    if not port then
      url = self.core:expected_callback_url()
    end
    if not url then
      util.argerror(fname, "options.callback",
        "needs a listener (client:listen{}) or a callback URL (client:expect_callbacks(url))", 3)
    end
    if params.callback_url ~= nil and params.callback_url ~= url then
      util.argerror(fname, "options.callback", "and params.callback_url name different URLs", 3)
    end
    local copy = {}
    for k, v in pairs(params) do
      copy[k] = v
    end
    copy.callback_url = url
    params = copy
  end
  local ok, text = pcall(json.encode, params)
  if not ok then
    util.argerror(fname, "params", "cannot be encoded as JSON: " .. tostring(text), 3)
  end
  local dir = opts.results_dir and opts.results_dir:gsub("/+$", "")
  local op, handles = self.core:submit(text, {results_dir = dir ~= "" and dir or opts.results_dir})
  if not op then
    return nil, errors.from_core(handles)
  end
  local jobs = {}
  for i = 1, #handles do
    jobs[i] = self:_job(handles[i])
  end
  self:_kick()
  return op, jobs
end

local function accepted(job)
  local s = job._state
  return job.id ~= nil and s ~= core.REJECTED and s ~= core.UNKNOWN
end

-- client:submit(params, {results_dir = ..., callback = true}) -> job, or nil, err
-- (callback = true: callback_url is this client's listener)
function Client:submit(params, opts)
  check_params("client:submit", params, false)
  opts = check_submit_opts("client:submit", opts)
  local op, jobs = self:_start("client:submit", params, opts)
  if not op then
    return nil, jobs
  end
  local job = jobs[1]
  local status, err = self:_finish(op)
  job:_sync()
  if accepted(job) then
    return job
  end
  if status then
    err = job:_error("submission failed")
  else
    local jerr = job:_error()
    if jerr.status or job._state == core.UNKNOWN or job._state == core.REJECTED then
      err = jerr
    else
      err.job_status, err.job = job.status, job
    end
  end
  return nil, err
end

-- client:submit_batch(params, {results_dir = ..., callback = true}) -> batch, or nil, err
-- when no job was accepted.
function Client:submit_batch(params, opts)
  check_params("client:submit_batch", params, true)
  opts = check_submit_opts("client:submit_batch", opts)
  local op, jobs = self:_start("client:submit_batch", params, opts)
  if not op then
    return nil, jobs
  end
  local batch = batchmod.new(self, jobs)
  local status, err = self:_finish(op)
  if status then
    err = nil
  end
  local any = false
  for i = 1, #jobs do
    local job = jobs[i]
    job:_sync()
    if not any and accepted(job) then
      any = true
    end
  end
  if not any then
    if not err then
      err = jobs[1]:_error("no job of the batch was accepted")
    end
    err.batch = batch
    return nil, err
  end
  return batch
end

-- client:job(id) -> the job with that service id
function Client:job(id)
  if type(id) ~= "string" or not id:match("^%S+$") then
    util.argerror("client:job", "id", "must be a job id string, got " .. type(id))
  end
  local h, err = self.core:attach(id)
  if not h then
    return nil, errors.new(err)
  end
  return self:_job(h)
end

-- client:wait_all(jobs, {timeout}) -> true once every job ended, or nil, err
-- (err.message "timeout", err.pending the jobs still out).
function Client:wait_all(jobs, opts)
  util.check("client:wait_all", "jobs", jobs, "table")
  if rawget(jobs, "jobs") then
    jobs = jobs.jobs
  end
  opts = util.opts("client:wait_all", opts)
  local timeout = util.timeout("client:wait_all", opts)
  for i = 1, #jobs do
    if not jobmod.is(jobs[i]) then
      util.argerror("client:wait_all", "jobs[" .. i .. "]", "is not a job")
    end
    jobs[i]:_sync()
  end
  self:_watch_all(jobs)
  local n, i = #jobs, 1
  local ok, why = self:_wait(function()
    while i <= n and jobs[i]._ended do
      i = i + 1
    end
    return i > n
  end, timeout)
  if ok then
    return true
  end
  local pending = {}
  for k = 1, n do
    if not jobs[k]._ended then
      pending[#pending + 1] = jobs[k]
    end
  end
  return nil, errors.new(why, {pending = pending})
end

-- ---- other calls

-- Any API call: method, path, body (a table, encoded; a string, sent as is).
-- Returns the decoded answer (true for an empty one) and the HTTP status,
-- or nil, err.
function Client:call(method, path, body)
  util.check("client:call", "method", method, "string")
  util.check("client:call", "path", path, "string")
  util.check("client:call", "body", body, "table|string|nil")
  if type(body) == "table" then
    body = json.encode(body)
  end
  local op, err = self.core:request(method, path, body)
  if not op then
    return nil, errors.new(err)
  end
  self:_kick()
  local status, answer = self:_finish(op)
  if not status then
    return nil, answer
  end
  if answer == nil or answer:match("^%s*$") then
    return true, status
  end
  local value, derr = json.decode(answer)
  if value == nil then
    return nil, errors.new("malformed answer: " .. tostring(derr), {status = status, body = answer})
  end
  return value, status
end

-- The addresses the service sends callbacks from.
function Client:callbacker_ips()
  local v, err = self:call("GET", "/v1/info/callbacker_ips")
  if not v then
    return nil, err
  end
  if type(v) ~= "table" or type(v.ips) ~= "table" then
    return nil, errors.new("malformed answer: no ips list", {body = json.encode(v)})
  end
  return v.ips
end

-- ---- the callback listener

local function check_allow(fname, allow)
  if allow == nil or allow == false or allow == "callbacker_ips" then
    return
  end
  if type(allow) ~= "table" or not util.is_list(allow) then
    util.argerror(fname, "options.allow", 'must be "callbacker_ips", a list of IP addresses, false or nil', 4)
  end
  for i = 1, #allow do
    if type(allow[i]) ~= "string" then
      util.argerror(fname, "options.allow[" .. i .. "]", "must be a string", 4)
    end
  end
end

-- The list of addresses an allow option names, or nil, err.
function Client:_allowlist(allow)
  if allow == "callbacker_ips" then
    return self:callbacker_ips()
  end
  return allow or false
end

-- client:listen{port = 0, host = "127.0.0.1", path = "/callback",
--   allow = "callbacker_ips" | {ip, ...} | false | nil, max_body = bytes,
--   public_url = "https://...", safety_min = 30, safety_factor = 3}
-- Starts the callback listener in the core (no thread: the driver watches
-- its fd). Returns {url = the callback URL to give the service, port}, or
-- nil, err.
function Client:listen(opts)
  local f = "client:listen"
  opts = util.opts(f, opts)
  util.check(f, "options.host", opts.host, "string|nil")
  util.check(f, "options.path", opts.path, "string|nil")
  util.check(f, "options.public_url", opts.public_url, "string|nil")
  local port = int_option(f, "options.port", opts.port, 0, 65535)
  local max_body = int_option(f, "options.max_body", opts.max_body, 1)
  local max_conn = int_option(f, "options.max_connections", opts.max_connections, 1)
  if opts.path and opts.path:sub(1, 1) ~= "/" then
    util.argerror(f, "options.path", "must begin with /")
  end
  if opts.safety_factor ~= nil and (type(opts.safety_factor) ~= "number" or opts.safety_factor <= 0) then
    util.argerror(f, "options.safety_factor", "must be a positive number")
  end
  local safety_min = seconds_to_ms(f, "options.safety_min", opts.safety_min)
  check_allow(f, opts.allow)
  if self.core:listening() then
    return nil, errors.new("already listening")
  end
  local allow, err = self:_allowlist(opts.allow)
  if allow == nil then
    return nil, err
  end
  local p, url = self.core:listen{
    bind = opts.host,
    port = port,
    path = opts.path,
    public_url = opts.public_url,
    max_body = max_body,
    max_connections = max_conn,
    -- false: every sender, asked for knowingly (the core refuses a listener
    -- beyond loopback with no allowlist)
    allow = opts.allow == false and false or (allow or nil),
    safety_min_ms = safety_min,
    safety_factor = opts.safety_factor,
  }
  if not p then
    return nil, errors.from_core(url)
  end
  self:_kick()
  return {url = url, port = p}
end

-- {url, port} of the running listener, or nil.
function Client:listener()
  local port, url = self.core:listening()
  if not port then
    return nil
  end
  return {url = url, port = port}
end

-- Replaces the listener's allowlist: "callbacker_ips" (asks the service
-- again), a list of addresses, or nil (every sender). true, or nil, err.
function Client:listen_allow(allow)
  check_allow("client:listen_allow", allow)
  local list, err = self:_allowlist(allow)
  if list == nil then
    return nil, err
  end
  local ok, cerr = self.core:listen_allow(list or nil)
  if not ok then
    return nil, errors.from_core(cerr)
  end
  return true
end

-- Stops the listener; jobs that expected a callback are polled as usual.
function Client:stop_listening()
  self.core:listen_stop()
  self:_kick()
end

-- client:expect_callbacks(url, {safety_min = 30, safety_factor = 3})
-- Callbacks that the host serves itself (e.g. an nginx location with
-- pushpull.ngx.callback_handler) and passes to client:feed_callback: jobs
-- submitted with callback_url = url (or with options.callback = true when
-- there is no listener) are polled only as a safety net, as the listener's
-- are. url nil forgets it: those jobs are polled as usual again.
-- true, or nil, err.
function Client:expect_callbacks(url, opts)
  local f = "client:expect_callbacks"
  util.check(f, "url", url, "string|nil")
  opts = util.opts(f, opts)
  if opts.safety_factor ~= nil and (type(opts.safety_factor) ~= "number" or opts.safety_factor <= 0) then
    util.argerror(f, "options.safety_factor", "must be a positive number")
  end
  local safety_min = seconds_to_ms(f, "options.safety_min", opts.safety_min)
  local ok, err = self.core:expect_callbacks(url, safety_min, opts.safety_factor)
  if not ok then
    return nil, errors.from_core(err)
  end
  self:_kick()
  return true
end

-- The URL of client:expect_callbacks, or nil.
function Client:expected_callback_url()
  return self.core:expected_callback_url()
end

-- Feeds a callback the service posted (the job object as JSON text).
-- true when it named a job of this client; nil, err otherwise, with
-- err.unknown = true when it is a well formed job object of no job of this
-- client (nothing to retry), and err.malformed = true when it is not a job
-- object (a JSON object with an id and a status).
function Client:feed_callback(body)
  util.check("client:feed_callback", "body", body, "string")
  local ok, rc = self.core:feed_callback(body)
  self:dispatch()
  self:_kick()
  if not ok then
    if rc == 1 then
      return nil, errors.new("the callback names no job of this client", {body = body, unknown = true})
    end
    return nil, errors.new("malformed callback: not a job object with an id and a status",
      {body = body, malformed = true})
  end
  return true
end

-- Counters of the core: requests, retries, submitted, polls, bytes_in,
-- callbacks_received, callbacks_rejected.
function Client:stats()
  return self.core:stats()
end

function Client:close()
  if self._closed then
    return
  end
  self._closed = true
  for _, d in pairs(self._drivers) do
    if d.close then
      d:close()
    end
  end
  self.core:close()
end

return M
