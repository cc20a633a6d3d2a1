-- The client: the public calls. Its inside (the core, the job objects, the
-- drivers, the waits) is a pushpull.host, kept out of the client table.
local core = require("pushpull.core")
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local util = require("pushpull.util")
local jobmod = require("pushpull.job")
local batchmod = require("pushpull.batch")
local hostmod = require("pushpull.host")
local schedules = require("pushpull.schedules")
local journal = require("pushpull.journal")
local fleet = require("pushpull.fleet")
local states = require("pushpull.states")
local drivers = require("pushpull.drivers")
local wait = require("pushpull.wait")

local M = {}

---Options of pushpull.new.
---@class pushpull.Options
---@field username string
---@field password string
---@field base_url? string the service (default https://data.oxylabs.io), or the emulator's address
---@field user_agent? string
---@field timeout? number seconds per request (30)
---@field connect_timeout? number seconds (10)
---@field max_connections? integer connection pool bound (16)
---@field max_retries? integer retries of a request on connection errors, 429 and 5xx (6)
---@field retry_base? number seconds, backoff base (0.25)
---@field retry_max? number seconds, backoff cap (30)
---@field batch_size? integer values per batch request, at most 5,000 (25 on an event loop)
---@field poll? pushpull.PollOptions
---@field driver? "blocking"|"coro"|"luv"|"ngx" how waits wait (picked by itself when nil)
---@field loop? any a luv loop (vim.uv, require("luv")): waits run on it
---@field debug? boolean|fun(line: string) a function given each debug line (requests, retries, polls, callbacks; never credentials), or true for stderr
---@field journal? string the job journal, an SQLite file (made when missing): every submission, id and result file is recorded, and client:resume() picks up after a crash
---@field lease? number seconds a Redis journal's claim or poll lease lasts unless renewed (30)
---@field retention? number|false a journal: seconds a job that ended and was handed out stays in it (86400); false keeps everything
---@field redis_tls? pushpull.RedisTlsOptions TLS to a rediss:// journal

---TLS to a rediss:// journal. The server's certificate is verified against the URL's host.
---@class pushpull.RedisTlsOptions
---@field ca? string a PEM file of the certificates to trust (nil: the system's store)
---@field cert? string a client certificate (PEM), for a server that requires one; with key
---@field key? string its private key (PEM, not encrypted)
---@field insecure? boolean true: the server's certificate is not verified (tests, development)

---How jobs are polled.
---@class pushpull.PollOptions
---@field first? number seconds before the first poll (nil: learned from the jobs before)
---@field min? number seconds, shortest interval
---@field max? number seconds, longest interval
---@field factor? number growth of the interval after each "not yet" (>= 1)
---@field fetch? boolean poll the results endpoint and keep the answer (true), or the status endpoint

---Options of client:submit and client:submit_batch.
---@class pushpull.SubmitOptions
---@field results_dir? string write each job's results to <results_dir>/<id>.json as they come
---@field callback? boolean ask the service to post the job to the client's listener (or expect_callbacks URL) when it ends
---@field tag? string a label kept in the journal (client:jobs{tag}, client:resume{tag}); never sent to the service

---Options of client:listen.
---@class pushpull.ListenOptions
---@field port? integer 0 (default) picks a free one
---@field host? string the address to bind (127.0.0.1)
---@field path? string the callback path (/callback)
---@field allow? "callbacker_ips"|string[]|false who may post: the service's addresses, a list, or false for every sender (nil: every sender on a loopback address; a listener bound elsewhere refuses to start without one)
---@field max_body? integer bytes (1 MiB)
---@field max_connections? integer
---@field public_url? string the URL the service must post to, when not http://host:port/path
---@field safety_min? number seconds before the safety-net poll of a job expecting a callback (30)
---@field safety_factor? number the safety-net poll comes after this times the expected job time (3)

---A client of the service: one connection pool, one poll schedule.
---@class pushpull.Client
---@field base_url string the service's address
---@field options table the options given to pushpull.new, without the password
---@field schedules pushpull.Schedules the scheduler
local Client = {}
Client.__index = Client
M.Client = Client

local hosts = setmetatable({}, {__mode = "k"}) -- client -> host

-- The inside of a client (pushpull.host), for pushpull's own modules.
function M.host(client)
  return hosts[client]
end

local DEFAULT_BASE_URL = "https://data.oxylabs.io"
local JOURNAL_CONNECT_S = 10 -- how long new() waits for a Redis store

-- Values per batch request on an event loop (OpenResty, Neovim). Reading the
-- answer to a 5,000-value request takes the core tens of milliseconds in one
-- step, which an nginx worker or an editor would feel; the core reads an
-- answer at about 40 µs per job, so 25 values hold the loop about a
-- millisecond (the size of a settle's slice, pushpull.wait.SLICE), for 40
-- requests per 1,000 jobs.
M.EVENT_LOOP_BATCH_SIZE = 25

-- The keys of pushpull.new's options, and of options.poll.
M.OPTIONS = util.option_set("pushpull.new", "username", "password", "base_url", "user_agent", "timeout",
  "connect_timeout", "max_connections", "max_retries", "retry_base", "retry_max", "batch_size", "poll",
  "driver", "loop", "debug", "journal", "lease", "retention", "redis_tls")
local POLL_OPTIONS = util.option_set("options.poll", "first", "min", "max", "factor", "fetch")
local TLS_OPTIONS = util.option_set("options.redis_tls", "ca", "cert", "key", "insecure")

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

-- options.redis_tls, checked; the core's fields for it. Files are the
-- core's to read: one missing or unusable makes new() return nil, err.
local function tls_fields(f, opts)
  local tls = util.check(f, "options.redis_tls", opts.redis_tls, "table|nil", 3)
  if tls == nil then
    return {}
  end
  util.known_keys(f, "options.redis_tls", tls, TLS_OPTIONS, 3)
  if not (opts.journal and opts.journal:match("^rediss://")) then
    util.argerror(f, "options.redis_tls", "needs a rediss:// journal", 3)
  end
  for _, k in ipairs{"ca", "cert", "key"} do
    util.check(f, "options.redis_tls." .. k, tls[k], "string|nil", 3)
    if tls[k] == "" then
      util.argerror(f, "options.redis_tls." .. k, "must name a file", 3)
    end
  end
  util.check(f, "options.redis_tls.insecure", tls.insecure, "boolean|nil", 3)
  if (tls.cert == nil) ~= (tls.key == nil) then
    util.argerror(f, "options.redis_tls", "needs cert and key together (a client certificate and its key)", 3)
  end
  return {ca_file = tls.ca, cert_file = tls.cert, key_file = tls.key, insecure = tls.insecure}
end

local function positive(fname, name, v)
  if v ~= nil and (type(v) ~= "number" or v <= 0 or v ~= v) then
    util.argerror(fname, name, "must be a positive number", 3)
  end
  return v
end

---Makes a client. Raises on mistakes in the options (naming the option);
---returns nil, err when the core cannot start.
---@param opts pushpull.Options
---@return pushpull.Client? client
---@return pushpull.Error? err
function M.new(opts)
  local f = "pushpull.new"
  util.check(f, "options", opts, "table")
  util.known_keys(f, "options", opts, M.OPTIONS)
  util.check(f, "options.username", opts.username, "string")
  util.check(f, "options.password", opts.password, "string")
  util.check(f, "options.base_url", opts.base_url, "string|nil")
  util.check(f, "options.user_agent", opts.user_agent, "string|nil")
  util.check(f, "options.driver", opts.driver, "string|nil")
  util.check(f, "options.debug", opts.debug, "function|boolean|nil")
  util.check(f, "options.journal", opts.journal, "string|nil")
  if opts.journal == "" then
    util.argerror(f, "options.journal", "must name a file")
  end
  if opts.lease ~= nil and (type(opts.lease) ~= "number" or opts.lease < 0.3) then
    util.argerror(f, "options.lease", "must be a number of seconds >= 0.3")
  end
  local retention = opts.retention
  if retention ~= nil and retention ~= false
    and (type(retention) ~= "number" or retention < 0.001 or retention ~= retention
      or retention == math.huge) then
    util.argerror(f, "options.retention", "must be a number of seconds >= 0.001, or false")
  end
  local poll = util.check(f, "options.poll", opts.poll, "table|nil") or {}
  util.known_keys(f, "options.poll", poll, POLL_OPTIONS)
  if poll.factor ~= nil and (type(poll.factor) ~= "number" or poll.factor < 1) then
    util.argerror(f, "options.poll.factor", "must be a number >= 1")
  end
  util.check(f, "options.poll.fetch", poll.fetch, "boolean|nil")
  if opts.driver and not drivers.load(opts.driver) then
    util.argerror(f, "options.driver", "names no installed driver: " .. opts.driver)
  end
  local fetch = poll.fetch ~= false
  local tls = tls_fields(f, opts)

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
    poll_fetch = fetch,
    debug = opts.debug,
    journal = opts.journal,
    lease_ms = seconds_to_ms(f, "options.lease", opts.lease),
    -- 0: the core's default (a day); -1: kept forever
    retention_ms = retention == false and -1 or seconds_to_ms(f, "options.retention", retention),
    tls_ca_file = tls.ca_file,
    tls_cert_file = tls.cert_file,
    tls_key_file = tls.key_file,
    tls_insecure = tls.insecure,
  }
  if not c then
    return nil, errors.new(err)
  end
  local host = hostmod.new(c, opts, fetch)
  if c:journal_ready() == 0 then
    -- a Redis store numbers this process first: nothing is recorded before.
    -- Certificates TLS refused end the wait: no retry mends them.
    local _, why = host:wait(function()
      return c:journal_ready() ~= 0 or select(2, c:journal_error())
    end, JOURNAL_CONNECT_S)
    if c:journal_ready() ~= 1 then
      local reason, refused = c:journal_error()
      c:close()
      if refused then
        return nil, errors.new("journal: " .. reason)
      end
      return nil, errors.new("journal: the Redis store could not be reached in "
        .. JOURNAL_CONNECT_S .. " s (" .. (reason ~= "" and reason or tostring(why)) .. ")")
    end
  end
  host.fleet = opts.journal ~= nil and opts.journal:match("^rediss?://") ~= nil
  local self = setmetatable({base_url = base_url, options = host.options}, Client)
  self.schedules = schedules.new(self)
  hosts[self] = host
  return self
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

local SUBMIT_OPTIONS = util.option_set("client:submit, client:submit_batch", "results_dir", "callback", "tag")

local function check_submit_opts(fname, opts)
  opts = util.options(fname, opts, SUBMIT_OPTIONS, 3)
  util.check(fname, "options.results_dir", opts.results_dir, "string|nil", 3)
  util.check(fname, "options.callback", opts.callback, "boolean|nil", 3)
  util.check(fname, "options.tag", opts.tag, "string|nil", 3)
  return opts
end

-- Starts the submission; returns op and the job objects, or nil, err.
local function start(host, fname, params, opts)
  if opts.callback then
    -- the service posts the job to this client's listener when it ends, or
    -- to the URL of client:expect_callbacks (served by the host)
    local port, url = host.core:listening()
    if not port then
      url = host.core:expected_callback_url()
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
  local op, handles = host.core:submit(text, {results_dir = (dir ~= "" and dir) or opts.results_dir,
    tag = opts.tag, replaces = opts.replaces})
  -- the core has its own copy: let the collector take this one (a 50,000-URL
  -- batch is 2.5 MB of text) while the job objects below are made
  text = nil
  if not op then
    return nil, errors.from_core(handles)
  end
  local jobs = {}
  for i = 1, #handles do
    jobs[i] = host:job(handles[i])
  end
  host:kick()
  return op, jobs
end

---Submits one job (params are the service's job parameters, passed as
---given) and returns it once the service answered.
---@param params table e.g. {source = "universal", url = "https://example.com"}
---@param opts? pushpull.SubmitOptions
---@return pushpull.Job? job
---@return pushpull.Error? err err.job: the job, when it has one (e.g. unknown: the answer was lost)
function Client:submit(params, opts)
  check_params("client:submit", params, false)
  opts = check_submit_opts("client:submit", opts)
  local host = hosts[self]
  local op, jobs = start(host, "client:submit", params, opts)
  if not op then
    return nil, jobs
  end
  local job = jobs[1]
  local status, err = host:finish(op)
  jobmod.sync(job)
  if jobmod.accepted(job) then
    return job
  end
  if status then
    err = jobmod.failure(job, "submission failed")
  else
    local jerr = jobmod.failure(job)
    if jerr.status or job.status == "unknown" or job.status == "rejected" then
      err = jerr
    else
      err.job_status, err.job = job.status, job
    end
  end
  return nil, err
end

---Submits a batch: params.url or params.query is a list of any length
---(split into requests of batch_size values). Returns once every request
---was answered.
---@param params table
---@param opts? pushpull.SubmitOptions
---@return pushpull.Batch? batch
---@return pushpull.Error? err when no job was accepted (err.batch: the batch)
function Client:submit_batch(params, opts)
  check_params("client:submit_batch", params, true)
  opts = check_submit_opts("client:submit_batch", opts)
  local host = hosts[self]
  local op, jobs = start(host, "client:submit_batch", params, opts)
  if not op then
    return nil, jobs
  end
  local batch = batchmod.new(self, host, jobs)
  local status, err = host:finish(op)
  if status then
    err = nil
  end
  local any = false
  for i = 1, #jobs do
    jobmod.sync(jobs[i])
    any = any or jobmod.accepted(jobs[i])
  end
  if not any then
    if not err then
      err = jobmod.failure(jobs[1], "no job of the batch was accepted")
    end
    err.batch = batch
    return nil, err
  end
  return batch
end

---The job with that id, which the service already has (one object per id).
---@param id string
---@return pushpull.Job? job
---@return pushpull.Error? err
function Client:job(id)
  if type(id) ~= "string" or not id:match("^%S+$") then
    util.argerror("client:job", "id", "must be a job id string, got " .. type(id))
  end
  local host = hosts[self]
  local h, err = host.core:attach(id)
  if not h then
    return nil, errors.new(err)
  end
  return host:job(h)
end

-- ---- the journal

local RESUME_OPTIONS = util.option_set("client:resume", "tag", "all")

---Picks up the journal's jobs after a crash (or in another process sharing
---the journal): a batch of every job not handed out yet -- pending ones
---are polled again, finished ones fetched -- and the submissions whose
---answer was lost, with their parameters: they may or may not exist at
---the service and are never sent again by themselves.
---@param opts? {tag?: string, all?: boolean} tag: only that tag's jobs; all: jobs handed out already too
---@return pushpull.Batch? batch batch:completed() gives each job not handed out yet (every job with all)
---@return {key: integer, params: table, tag: string?, status: "unknown", sent: boolean, error: string?}[]|pushpull.Error lost the lost submissions (sent false: provably never left; client:resubmit or client:dismiss them, else every resume reports them again), or the error
function Client:resume(opts)
  local f = "client:resume"
  opts = util.options(f, opts, RESUME_OPTIONS)
  util.check(f, "options.tag", opts.tag, "string|nil")
  util.check(f, "options.all", opts.all, "boolean|nil")
  local host = hosts[self]
  local jobs, lost = journal.resume(host, opts.tag, opts.all)
  if not jobs then
    return nil, lost
  end
  return batchmod.new(self, host, jobs, opts.all), lost
end

local RESUBMIT_OPTIONS = util.option_set("client:resubmit", "results_dir")

local function check_lost(f, lost)
  util.check(f, "lost", lost, "table")
  for i = 1, #lost do
    local l = lost[i]
    if type(l) ~= "table" or type(l.key) ~= "number" or type(l.params) ~= "table" then
      util.argerror(f, "lost[" .. i .. "]", "is not a lost submission of client:resume()", 3)
    end
  end
end

---Sends lost submissions again (the second value of client:resume(), or a
---part of it): the service may have created them already, so only the
---caller knows whether this is right (sent = false: provably never left).
---The journal hands them out in the transaction that records the new
---submission: a crash keeps either the old or the new record, and they
---are sent again once at most, by one process.
---@param lost table[] entries of client:resume()'s lost list
---@param opts? {results_dir?: string}
---@return pushpull.Batch? batch the new jobs (tags kept)
---@return pushpull.Error? err
function Client:resubmit(lost, opts)
  local f = "client:resubmit"
  check_lost(f, lost)
  opts = util.options(f, opts, RESUBMIT_OPTIONS)
  util.check(f, "options.results_dir", opts.results_dir, "string|nil")
  local host = hosts[self]
  local jobs = {}
  for _, g in ipairs(journal.groups(lost)) do
    local params = {}
    for k, v in pairs(g.params) do
      params[k] = v
    end
    params[g.list_key] = g.values
    local op, started = start(host, f, params, {results_dir = opts.results_dir, tag = g.tag,
      replaces = g.keys})
    if not op then
      return nil, started
    end
    host:finish(op)
    for i = 1, #started do
      jobmod.sync(started[i])
      jobs[#jobs + 1] = started[i]
    end
  end
  return batchmod.new(self, host, jobs)
end

---Lost submissions that are not to be sent again: client:resume() stops
---reporting them.
---@param lost table[] entries of client:resume()'s lost list
---@return true? ok
---@return pushpull.Error? err
function Client:dismiss(lost)
  check_lost("client:dismiss", lost)
  return journal.dismiss(hosts[self], lost)
end

local COMPLETED_OPTIONS = util.option_set("client:completed", "tag", "timeout")

---A Redis journal shared by a fleet: an iterator over the finished jobs of
---a tag, across every process of the fleet, each handed to exactly one
---process. A job is claimed with a lease renewed while this process runs
---and is handed out for good when the loop asks for the next one (a
---process killed before then loses it to another once the lease runs
---out). It ends when every job of the tag was handed out, or at the
---timeout.
---@param opts {tag?: string, timeout?: number} tag: the jobs' tag (nil: untagged jobs); timeout: seconds for the whole iteration
---@return fun(): pushpull.Job?
function Client:completed(opts)
  local f = "client:completed"
  opts = util.options(f, opts, COMPLETED_OPTIONS)
  util.check(f, "options.tag", opts.tag, "string|nil")
  local host = hosts[self]
  if not host.fleet then
    error("pushpull: client:completed: needs a journal on Redis (pushpull.new{journal = \"redis://...\"})", 2)
  end
  return fleet.completed(host, opts.tag, util.timeout(f, opts))
end

local FORGET_OPTIONS = util.option_set("client:forget", "tag", "force")

---Drops a tag's jobs and submissions from the journal, once their results
---are stored: refused while a job of the tag is pending or not handed out
---yet, unless forced.
---@param opts {tag?: string, force?: boolean} tag: the jobs' tag (nil: untagged jobs); force: drop them whatever their state
---@return true? ok
---@return pushpull.Error? err
function Client:forget(opts)
  local f = "client:forget"
  opts = util.options(f, opts, FORGET_OPTIONS)
  util.check(f, "options.tag", opts.tag, "string|nil")
  util.check(f, "options.force", opts.force, "boolean|nil")
  return journal.forget(hosts[self], opts.tag, opts.force)
end

local JOBS_OPTIONS = util.option_set("client:jobs", "status", "tag")

---The journal's jobs, in the order they were submitted: {id, status, tag,
---params, results_path, error, handed, sent} each.
---@param opts? {status?: pushpull.JobStatus, tag?: string}
---@return table[]? entries
---@return pushpull.Error? err
function Client:jobs(opts)
  local f = "client:jobs"
  opts = util.options(f, opts, JOBS_OPTIONS)
  util.check(f, "options.status", opts.status, "string|nil")
  util.check(f, "options.tag", opts.tag, "string|nil")
  if opts.status and not journal.state_bits(opts.status) then
    util.argerror(f, "options.status", "must be one of " .. table.concat(states.words, ", "))
  end
  return journal.list(hosts[self], opts.status, opts.tag)
end

local TIMEOUT_ONLY = util.option_set("client:wait_all", "timeout")

---Waits until every job of the list (or batch) has ended.
---@param jobs pushpull.Job[]|pushpull.Batch
---@param opts? {timeout?: number}
---@return true? ok
---@return pushpull.Error? err err.message "timeout", err.pending the jobs still out
function Client:wait_all(jobs, opts)
  util.check("client:wait_all", "jobs", jobs, "table")
  if rawget(jobs, "jobs") then
    jobs = jobs.jobs
  end
  opts = util.options("client:wait_all", opts, TIMEOUT_ONLY)
  local timeout = util.timeout("client:wait_all", opts)
  for i = 1, #jobs do
    if not jobmod.is(jobs[i]) then
      util.argerror("client:wait_all", "jobs[" .. i .. "]", "is not a job")
    end
    jobmod.sync(jobs[i])
  end
  jobmod.watch(jobs)
  local n, i = #jobs, 1
  local ok, why = hosts[self]:wait(function()
    while i <= n and jobmod.ended(jobs[i]) do
      i = i + 1
    end
    return i > n
  end, timeout)
  if ok then
    return true
  end
  local pending = {}
  for k = 1, n do
    if not jobmod.ended(jobs[k]) then
      pending[#pending + 1] = jobs[k]
    end
  end
  return nil, errors.new(why, {pending = pending})
end

-- ---- other calls

---Any call of the API: method, path, body (a table is encoded as JSON, a
---string sent as is). The decoded answer (true for an empty one).
---@param method "GET"|"POST"|"PUT"|"DELETE"|"PATCH"|"HEAD"
---@param path string beginning with /
---@param body? table|string
---@return any value
---@return pushpull.Error? err
function Client:call(method, path, body)
  util.check("client:call", "method", method, "string")
  util.check("client:call", "path", path, "string")
  util.check("client:call", "body", body, "table|string|nil")
  if type(body) == "table" then
    body = json.encode(body)
  end
  local host = hosts[self]
  local op, err = host.core:request(method, path, body)
  if not op then
    return nil, errors.new(err)
  end
  host:kick()
  local status, answer = host:finish(op)
  if not status then
    return nil, answer
  end
  if answer == nil or answer:match("^%s*$") then
    return true
  end
  local value, derr = json.decode(answer)
  if value == nil then
    return nil, errors.new("malformed answer: " .. tostring(derr), {status = status, body = answer})
  end
  return value
end

---The addresses the service sends callbacks from.
---@return string[]? ips
---@return pushpull.Error? err
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
local function allowlist(client, allow)
  if allow == "callbacker_ips" then
    return client:callbacker_ips()
  end
  return allow or false
end

local LISTEN_OPTIONS = util.option_set("client:listen", "port", "host", "path", "allow", "max_body",
  "max_connections", "public_url", "safety_min", "safety_factor")

---Starts the callback listener in the core (no thread: the driver watches
---its fd like the client's sockets).
---@param opts? pushpull.ListenOptions
---@return {url: string, port: integer}? listener url is what callback = true sends
---@return pushpull.Error? err
function Client:listen(opts)
  local f = "client:listen"
  opts = util.options(f, opts, LISTEN_OPTIONS)
  util.check(f, "options.host", opts.host, "string|nil")
  util.check(f, "options.path", opts.path, "string|nil")
  util.check(f, "options.public_url", opts.public_url, "string|nil")
  local port = int_option(f, "options.port", opts.port, 0, 65535)
  local max_body = int_option(f, "options.max_body", opts.max_body, 1)
  local max_conn = int_option(f, "options.max_connections", opts.max_connections, 1)
  if opts.path and opts.path:sub(1, 1) ~= "/" then
    util.argerror(f, "options.path", "must begin with /")
  end
  positive(f, "options.safety_factor", opts.safety_factor)
  local safety_min = seconds_to_ms(f, "options.safety_min", opts.safety_min)
  check_allow(f, opts.allow)
  local host = hosts[self]
  if host.core:listening() then
    return nil, errors.new("already listening")
  end
  local allow, err = allowlist(self, opts.allow)
  if allow == nil then
    return nil, err
  end
  local p, url = host.core:listen{
    bind = opts.host,
    port = port,
    path = opts.path,
    public_url = opts.public_url,
    max_body = max_body,
    max_connections = max_conn,
    -- false: every sender, asked for knowingly (the core refuses a listener
    -- beyond loopback without an allowlist)
    allow = opts.allow == false and false or (allow or nil),
    safety_min_ms = safety_min,
    safety_factor = opts.safety_factor,
  }
  if not p then
    return nil, errors.from_core(url)
  end
  host:kick()
  return {url = url, port = p}
end

---The running listener, or nil.
---@return {url: string, port: integer}?
function Client:listening()
  local port, url = hosts[self].core:listening()
  if not port then
    return nil
  end
  return {url = url, port = port}
end

---Replaces the listener's allowlist: "callbacker_ips" (asks the service
---again), a list of addresses, or nil (every sender).
---@param allow "callbacker_ips"|string[]|nil
---@return true? ok
---@return pushpull.Error? err
function Client:listen_allow(allow)
  check_allow("client:listen_allow", allow)
  local list, err = allowlist(self, allow)
  if list == nil then
    return nil, err
  end
  local ok, cerr = hosts[self].core:listen_allow(list or nil)
  if not ok then
    return nil, errors.from_core(cerr)
  end
  return true
end

---Stops the listener; jobs that expected a callback are polled as usual.
---@return true
function Client:listen_stop()
  local host = hosts[self]
  host.core:listen_stop()
  host:kick()
  return true
end

local EXPECT_OPTIONS = util.option_set("client:expect_callbacks", "safety_min", "safety_factor")

---Callbacks the host serves itself (e.g. an nginx location) and passes to
---client:feed_callback: jobs submitted with callback_url = url (or with
---callback = true when there is no listener) are polled only as a safety
---net. url nil forgets it.
---@param url string?
---@param opts? {safety_min?: number, safety_factor?: number}
---@return true? ok
---@return pushpull.Error? err
function Client:expect_callbacks(url, opts)
  local f = "client:expect_callbacks"
  util.check(f, "url", url, "string|nil")
  opts = util.options(f, opts, EXPECT_OPTIONS)
  positive(f, "options.safety_factor", opts.safety_factor)
  local safety_min = seconds_to_ms(f, "options.safety_min", opts.safety_min)
  local host = hosts[self]
  local ok, err = host.core:expect_callbacks(url, safety_min, opts.safety_factor)
  if not ok then
    return nil, errors.from_core(err)
  end
  host:kick()
  return true
end

---The URL of client:expect_callbacks, or nil.
---@return string?
function Client:expected_callback_url()
  return hosts[self].core:expected_callback_url()
end

---Feeds a callback the service posted (the job object as JSON text).
---@param body string
---@return true? ok when it named a job of this client
---@return pushpull.Error? err err.unknown: a job object of no job of this client (nothing to retry); err.malformed: not a job object
function Client:feed_callback(body)
  util.check("client:feed_callback", "body", body, "string")
  local host = hosts[self]
  if host.closed then
    return nil, errors.new(wait.CLOSED)
  end
  local ok, rc = host.core:feed_callback(body)
  host:dispatch()
  wait.check(host) -- waiters whose job it ended go on now, not at the next step
  host:kick()
  if not ok then
    if rc == 1 then
      return nil, errors.new("the callback names no job of this client", {body = body, unknown = true})
    end
    return nil, errors.new("malformed callback: not a job object with an id and a status",
      {body = body, malformed = true})
  end
  return true
end

---Counters of the core.
---@return {requests: integer, retries: integer, submitted: integer, polls: integer, bytes_in: integer, callbacks_received: integer, callbacks_rejected: integer}
function Client:stats()
  return hosts[self].core:stats()
end

---Stops every transfer and the listener; waits in progress end with
---"client is closed". Twice is fine.
---@return true
function Client:close()
  hosts[self]:close()
  return true
end

return M
