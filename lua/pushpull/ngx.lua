-- pushpull inside OpenResty: the worker's client.
--
--   local ppngx = require("pushpull.ngx")
--   local client = ppngx.client{username = ..., password = ..., base_url = ...}
--
-- ppngx.client(opts) gives every request of a worker the same client for
-- the same options (one engine per worker: one connection pool, one poll
-- schedule, one background loop; see pushpull.drivers.ngx). It is made on
-- first use, in the worker -- never in init_by_lua*, whose state the workers
-- would inherit. Unless opts say otherwise, batches are sent in requests of
-- 25 values: the core takes about 40 µs of the worker per job of a batch
-- answer, so that no answer holds the worker more than about a millisecond.
--
-- Callbacks: with opts.callback_url (the URL of a location whose handler is
-- ppngx.callback_handler(client, ...)), submissions with {callback = true}
-- ask the service to post each job there when it ends, and those jobs are
-- polled only as a safety net for lost callbacks (opts.callback_safety_min,
-- opts.callback_safety_factor: see client:expect_callbacks). A callback
-- reaches whichever worker nginx hands the connection to, not always the
-- one whose client submitted the job: with opts.callback_shared (the name
-- of a lua_shared_dict), the handler passes a callback its worker does not
-- know on to the other workers, which take it within CALLBACK_RELAY_STEP
-- seconds. Without it, such a job ends by its safety-net poll.
local pushpull = require("pushpull")
local clientmod = require("pushpull.client")
local driver = require("pushpull.drivers.ngx")
local json = require("pushpull.json")
local util = require("pushpull.util")
local wait = require("pushpull.wait")

local M = {}

local IGNORED = '{"status":"ignored"}' -- the core's answer for a job of no one here

M.DEFAULT_BATCH_SIZE = 25

local clients = {} -- options key -> {client, shared = dict name}, per worker (module state is per worker)
local relays = {}  -- callback_shared dict name -> true once this worker drains it

M.CALLBACK_RELAY_STEP = 0.02 -- seconds between looks at the worker's relayed callbacks

-- The options of pushpull.ngx.client that are its own, not pushpull.new's.
local OWN = util.set("callback_url", "callback_shared", "callback_safety_min", "callback_safety_factor")
local OPTIONS = util.option_set("pushpull.ngx.client")
for k in pairs(clientmod.OPTIONS) do OPTIONS[k] = true end
for k in pairs(OWN) do OPTIONS[k] = true end

-- The same text for the same options, whatever their order: every option
-- counts (two clients that differ in any of them are two clients).
local function key_of(opts)
  local keys = {}
  for k in pairs(opts) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = opts[k]
    parts[i] = k .. "=" .. (type(v) == "table" and "{" .. key_of(v) .. "}" or tostring(v))
  end
  return table.concat(parts, "\0")
end

local start_relay

---The worker's client for these options: made on first use, then the same
---one for every request of the worker with the same options. Takes
---pushpull.new's options (batch_size 25 by default) and callback_url,
---callback_shared (a lua_shared_dict), callback_safety_min,
---callback_safety_factor.
---@param opts pushpull.Options|{callback_url?: string, callback_shared?: string, callback_safety_min?: number, callback_safety_factor?: number}
---@return pushpull.Client? client
---@return pushpull.Error? err
function M.client(opts)
  local f = "pushpull.ngx.client"
  util.check(f, "options", opts, "table")
  util.known_keys(f, "options", opts, OPTIONS)
  if ngx.get_phase() == "init" then
    error("pushpull.ngx.client: not in init_by_lua* (the workers would share its state); "
      .. "call it in init_worker_by_lua* or in a handler", 2)
  end
  local key = key_of(opts)
  local entry = clients[key]
  if entry and not clientmod.host(entry.client).closed then
    return entry.client
  end
  util.check(f, "options.callback_url", opts.callback_url, "string|nil")
  util.check(f, "options.callback_shared", opts.callback_shared, "string|nil")
  if opts.callback_shared and not ngx.shared[opts.callback_shared] then
    util.argerror(f, "options.callback_shared", "names no lua_shared_dict: " .. opts.callback_shared)
  end
  local o = {}
  for k, v in pairs(opts) do
    if not OWN[k] then o[k] = v end
  end
  o.batch_size = o.batch_size or M.DEFAULT_BATCH_SIZE
  local c, err = pushpull.new(o)
  if not c then
    return nil, err
  end
  -- (the callback handler looks for the relay's dict in the client's options)
  c.options.callback_shared = opts.callback_shared
  if opts.callback_url then
    local ok, cerr = c:expect_callbacks(opts.callback_url,
      {safety_min = opts.callback_safety_min, safety_factor = opts.callback_safety_factor})
    if not ok then
      c:close()
      return nil, cerr
    end
  end
  if opts.callback_shared then
    local ok, rerr = start_relay(opts.callback_shared)
    if not ok then
      c:close()
      return nil, rerr
    end
  end
  clients[key] = {client = c, shared = opts.callback_shared}
  return c
end

-- ---- callbacks served by an nginx location

M.DEFAULT_MAX_BODY = 1024 * 1024   -- bytes
M.DEFAULT_ALLOW_TTL = 3600         -- seconds between fetches of the callbacker IPs
local ALLOW_RETRY = 60             -- seconds before a failed refresh is tried again

local fetched = setmetatable({}, {__mode = "k"})      -- client -> {ips, expires, fetching, sema, waiting}

-- The callbacker IPs of client (a list), fetched once per worker and again
-- every ttl seconds. A failed refresh keeps the old list (tried again a
-- minute later); with no list yet it is nil, err. Requests that come while
-- a fetch is out wait for it.
local function callbacker_list(client, ttl)
  local e = fetched[client]
  if not e then
    e = {expires = 0, waiting = 0}
    fetched[client] = e
  end
  local now = ngx.now()
  if e.ips and now < e.expires then
    return e.ips
  end
  if e.fetching then
    if e.ips then
      return e.ips
    end
    if not e.sema then
      e.sema = require("ngx.semaphore").new(0)
    end
    e.waiting = e.waiting + 1
    e.sema:wait(30)
    e.waiting = e.waiting - 1
    return e.ips, e.err
  end
  e.fetching = true
  local ok, ips, err = pcall(client.callbacker_ips, client)
  e.fetching = false
  ngx.update_time()
  if ok and ips then
    e.ips, e.err = ips, nil
    e.expires = ngx.now() + ttl
  else
    e.err = ok and err or ips
    e.expires = ngx.now() + math.min(ALLOW_RETRY, ttl)
    ngx.log(ngx.WARN, "pushpull: cannot fetch the callbacker IPs: ", tostring(e.err))
  end
  if e.sema and e.waiting > 0 then
    e.sema:post(e.waiting)
  end
  return e.ips, e.err
end

-- The allowlist the core of a client holds now (the list table; false:
-- every sender), so that it is handed over only when it changes: once per
-- refresh of the callbacker IPs, or when locations of one client allow
-- different senders.
local installed = setmetatable({}, {__mode = "k"}) -- core -> list | false

local function install_allowlist(core, list)
  local want = list or false
  if installed[core] == want then
    return true
  end
  local ok, err = core:listen_allow(list)
  if not ok then
    return nil, err
  end
  installed[core] = want
  return true
end

-- ---- passing callbacks between the workers (options.callback_shared)

local function relay_key(worker)
  return "pushpull:callbacks:" .. worker
end

-- Feeds the callbacks other workers passed to this one to every client of
-- this worker that relays through dict_name.
local function drain(premature, dict_name)
  if premature then
    return
  end
  local dict = ngx.shared[dict_name]
  local key = relay_key(ngx.worker.id())
  while true do
    local body = dict:lpop(key)
    if not body then
      break
    end
    for _, entry in pairs(clients) do
      if entry.shared == dict_name and entry.client:feed_callback(body) then
        driver.notify(entry.client)
        dict:incr("pushpull:relayed", 1, 0)
      end
    end
  end
end

---How many callbacks the workers took from each other through dict_name.
---@param dict_name string
---@return integer
function M.relayed(dict_name)
  local dict = ngx.shared[dict_name]
  return dict and dict:get("pushpull:relayed") or 0
end

function start_relay(dict_name)
  if relays[dict_name] then
    return true
  end
  local ok, err = ngx.timer.every(M.CALLBACK_RELAY_STEP, drain, dict_name)
  if not ok then
    return nil, "cannot start the callback relay timer: " .. tostring(err)
  end
  relays[dict_name] = true
  return true
end

-- Passes a callback this worker's client does not know to the other
-- workers.
local function relay(dict_name, body)
  local dict = ngx.shared[dict_name]
  local me = ngx.worker.id()
  for w = 0, ngx.worker.count() - 1 do
    if w ~= me then
      local len, err = dict:rpush(relay_key(w), body)
      if not len then
        ngx.log(ngx.WARN, "pushpull: cannot pass a callback to worker ", w, " (", err,
          "): its job ends by its safety-net poll")
      end
    end
  end
end

local function answer(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #text
  if status == 405 then
    ngx.header["Allow"] = "POST"
  end
  ngx.print(text)
  return ngx.exit(ngx.HTTP_OK) -- the answer is written: end the request
end

local HANDLER_OPTIONS = util.option_set("pushpull.ngx.callback_handler", "allow", "max_body", "allow_ttl")

local function check_handler_opts(opts)
  local f = "pushpull.ngx.callback_handler"
  opts = util.options(f, opts, HANDLER_OPTIONS, 3)
  local allow = opts.allow
  if allow ~= nil and allow ~= "callbacker_ips" then
    if type(allow) ~= "table" or not util.is_list(allow) then
      util.argerror(f, "options.allow", 'must be "callbacker_ips", a list of IP addresses or nil', 3)
    end
    for i = 1, #allow do
      if type(allow[i]) ~= "string" then
        util.argerror(f, "options.allow[" .. i .. "]", "must be a numeric IP address", 3)
      end
    end
  end
  for _, k in ipairs{"max_body", "allow_ttl"} do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v <= 0 or v ~= v) then
      util.argerror(f, "options." .. k, "must be a positive number", 3)
    end
  end
  return opts
end

-- The request body, unless it is announced or stored larger than max (the
-- core refuses it by its length then): the text or nil, and the length to
-- judge it by (-1 when unknown).
local function read_body(max)
  local announced = tonumber(ngx.var.http_content_length)
  if announced and announced > max then
    return nil, announced
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then
    return body, announced or #body
  end
  local path = ngx.req.get_body_file()
  if not path then
    return "", announced or 0
  end
  local f = io.open(path, "rb")
  if not f then
    return nil, -1
  end
  local size = f:seek("end")
  if not size or size > max then
    f:close()
    return nil, size or -1
  end
  f:seek("set")
  body = f:read(size) or ""
  f:close()
  return body, #body
end

-- content_by_lua*: takes a callback the service posts and feeds it to
-- client, by the rules of the core's own listener (the same C entry judges
-- both, so both answer alike): 403 {"message"} for a sender outside the
-- allowlist, 405 for another method than POST, 413 for a body over
-- max_body, 400 for a body that is not a job object (a JSON object with an
-- id and a status), 200 {"status":"ok"}, or {"status":"ignored"} for a job
-- of no one here (retrying cannot help). opts: allow ("callbacker_ips":
-- the service's addresses, fetched by each worker and again every
-- allow_ttl seconds (3600); a list of addresses; nil: every sender),
-- max_body (bytes, 1 MiB). 503 when the callbacker IPs cannot be fetched.
-- The allowlist is the client's core's (client:listen_allow sets the same
-- one). A callback this worker does not know goes on to the other workers
-- when the client was made with options.callback_shared. The sender is
-- ngx.var.remote_addr: behind a proxy, let nginx's realip module set it.
function M.callback_handler(client, opts)
  if type(client) ~= "table" or type(client.feed_callback) ~= "function" then
    error("pushpull.ngx.callback_handler: client must be a pushpull client", 2)
  end
  opts = check_handler_opts(opts)
  local host = clientmod.host(client)
  local list = opts.allow
  if list == "callbacker_ips" then
    local err
    list, err = callbacker_list(client, opts.allow_ttl or M.DEFAULT_ALLOW_TTL)
    if not list then
      return answer(503, json.encode{message = "cannot learn the service's callback addresses: "
        .. tostring(type(err) == "table" and err.message or err)})
    end
  end
  local ok, err = install_allowlist(host.core, list)
  if not ok then
    util.argerror("pushpull.ngx.callback_handler", "options.allow", tostring(err.message or err), 2)
  end
  local max = opts.max_body or M.DEFAULT_MAX_BODY
  local body, length = read_body(max)
  local status, text = host.core:callback_request(ngx.var.remote_addr, ngx.req.get_method(),
    length, body, max)
  if status == 200 then
    host:dispatch()
    wait.check(host) -- waiters whose job it ended go on now, not at the next tick
    driver.notify(client)
    local dict_name = client.options and client.options.callback_shared
    if text == IGNORED and dict_name and ngx.shared[dict_name] and ngx.worker.count() > 1 then
      relay(dict_name, body)
    end
  end
  return answer(status, text)
end

-- The worker's engine: {running, ticks, clients, step}.
M.stats = driver.stats

-- True where a wait may yield (rewrite, access, content, timers, ...).
M.can_wait = driver.yieldable

return M
