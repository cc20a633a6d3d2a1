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
-- 100 values, so that no single answer takes the worker long to read.
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

local M = {}

M.DEFAULT_BATCH_SIZE = 100

local clients = {} -- options key -> {client, shared = dict name}, per worker (module state is per worker)
local relays = {}  -- callback_shared dict name -> true once this worker drains it

M.CALLBACK_RELAY_STEP = 0.02 -- seconds between looks at the worker's relayed callbacks

-- The options of pushpull.ngx.client that are its own, not pushpull.new's.
local OWN = util.set("callback_url", "callback_shared", "callback_safety_min", "callback_safety_factor")
local OPTIONS = util.set()
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
---pushpull.new's options (batch_size 100 by default) and callback_url,
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

-- A numeric address in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 as
-- eight lowercase groups without leading zeros. nil when not an address.
local function normalize_ip(s)
  if type(s) ~= "string" then
    return nil
  end
  s = s:lower():gsub("%%.*$", "")
  local v4 = s:match("^::ffff:(%d+%.%d+%.%d+%.%d+)$") or s
  local a, b, c, d = v4:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
    if a > 255 or b > 255 or c > 255 or d > 255 then
      return nil
    end
    return a .. "." .. b .. "." .. c .. "." .. d
  end
  if not s:find(":", 1, true) or s:find("[^%x:]") then
    return nil
  end
  local head, tail = s:match("^(.-)::(.*)$")
  local function groups(part)
    local g = {}
    if part == "" then
      return g
    end
    for x in (part .. ":"):gmatch("([^:]*):") do
      if not x:match("^%x%x?%x?%x?$") then
        return nil
      end
      g[#g + 1] = string.format("%x", tonumber(x, 16))
    end
    return g
  end
  local left, right
  if head then
    left, right = groups(head), groups(tail)
    if not left or not right or #left + #right > 7 then
      return nil
    end
    for _ = 1, 8 - #left - #right do
      left[#left + 1] = "0"
    end
    for i = 1, #right do
      left[#left + 1] = right[i]
    end
  else
    left = groups(s)
    if not left or #left ~= 8 then
      return nil
    end
  end
  return table.concat(left, ":")
end
M._normalize_ip = normalize_ip

-- {address = true} of a list of addresses.
local function ip_set(list)
  local set = {}
  for i = 1, #list do
    local a = normalize_ip(list[i])
    if a then
      set[a] = true
    end
  end
  return set
end

local list_sets = setmetatable({}, {__mode = "k"})    -- allow list -> set
local fetched = setmetatable({}, {__mode = "k"})      -- client -> {set, expires, fetching, sema, waiting}

-- The callbacker IPs of client as a set, fetched once per worker and again
-- every ttl seconds. A failed refresh keeps the old set (tried again a
-- minute later); with no set yet it is nil, err. Requests that come while a
-- fetch is out wait for it.
local function callbacker_set(client, ttl)
  local e = fetched[client]
  if not e then
    e = {expires = 0, waiting = 0}
    fetched[client] = e
  end
  local now = ngx.now()
  if e.set and now < e.expires then
    return e.set
  end
  if e.fetching then
    if e.set then
      return e.set
    end
    if not e.sema then
      e.sema = require("ngx.semaphore").new(0)
    end
    e.waiting = e.waiting + 1
    e.sema:wait(30)
    e.waiting = e.waiting - 1
    return e.set, e.err
  end
  e.fetching = true
  local ok, ips, err = pcall(client.callbacker_ips, client)
  e.fetching = false
  ngx.update_time()
  if ok and ips then
    e.set, e.err = ip_set(ips), nil
    e.expires = ngx.now() + ttl
  else
    e.err = ok and err or ips
    e.expires = ngx.now() + math.min(ALLOW_RETRY, ttl)
    ngx.log(ngx.WARN, "pushpull: cannot fetch the callbacker IPs: ", tostring(e.err))
  end
  if e.sema and e.waiting > 0 then
    e.sema:post(e.waiting)
  end
  return e.set, e.err
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

local function answer(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(t))
  return ngx.exit(ngx.HTTP_OK) -- the answer is written: end the request
end

local function refuse(status, message)
  return answer(status, {message = message})
end

local function check_handler_opts(opts)
  local f = "pushpull.ngx.callback_handler"
  opts = util.opts(f, opts, 3)
  local allow = opts.allow
  if allow ~= nil and allow ~= "callbacker_ips" then
    if type(allow) ~= "table" or not util.is_list(allow) then
      util.argerror(f, "options.allow", 'must be "callbacker_ips", a list of IP addresses or nil', 3)
    end
    for i = 1, #allow do
      if not normalize_ip(allow[i]) then
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

-- Reads the request body, at most max bytes: the text, or nil and false when
-- it is larger.
local function read_body(max)
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then
    return body, #body <= max
  end
  local path = ngx.req.get_body_file()
  if not path then
    return "", true
  end
  local f = io.open(path, "rb")
  if not f then
    return nil, true
  end
  local size = f:seek("end")
  if not size or size > max then
    f:close()
    return nil, false
  end
  f:seek("set")
  body = f:read(size + 1) or ""
  f:close()
  return body, #body <= max
end

-- content_by_lua*: takes a callback the service posts and feeds it to
-- client. opts: allow ("callbacker_ips": the service's addresses, fetched
-- by each worker and again every allow_ttl seconds (3600); a list of
-- addresses; nil: every sender), max_body (bytes, 1 MiB). Answers 200
-- {"status":"ok"} (also for a job this worker does not know, and for
-- duplicates: retrying cannot help), and {"message": ...} with 403 for a
-- sender outside the allowlist, 405 for another method than POST, 413 for a
-- body over max_body, 400 for a body that is not a job object (a JSON
-- object with an id and a status), 503 when the callbacker IPs cannot be
-- fetched. A callback this worker does not know goes on to the other
-- workers when the client was made with options.callback_shared. The sender is ngx.var.remote_addr: behind a proxy, let nginx's
-- realip module set it.
function M.callback_handler(client, opts)
  if type(client) ~= "table" or type(client.feed_callback) ~= "function" then
    error("pushpull.ngx.callback_handler: client must be a pushpull client", 2)
  end
  opts = check_handler_opts(opts)
  local allow = opts.allow
  if allow ~= nil then
    local set, err
    if allow == "callbacker_ips" then
      set, err = callbacker_set(client, opts.allow_ttl or M.DEFAULT_ALLOW_TTL)
      if not set then
        return refuse(503, "cannot learn the service's callback addresses: "
          .. tostring(type(err) == "table" and err.message or err))
      end
    else
      set = list_sets[allow]
      if not set then
        set = ip_set(allow)
        list_sets[allow] = set
      end
    end
    local from = normalize_ip(ngx.var.remote_addr)
    if not (from and set[from]) then
      return refuse(403, "sender not allowed")
    end
  end
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return refuse(405, "callbacks are POSTed")
  end
  local max = opts.max_body or M.DEFAULT_MAX_BODY
  local announced = tonumber(ngx.var.http_content_length)
  if announced and announced > max then
    return refuse(413, "body over " .. max .. " bytes")
  end
  local body, fits = read_body(max)
  if not fits then
    return refuse(413, "body over " .. max .. " bytes")
  end
  if not body then
    return refuse(500, "cannot read the request body")
  end
  local ok, err = client:feed_callback(body)
  if not ok and err.malformed then
    return refuse(400, "not a job object (a JSON object with an id and a status)")
  end
  if ok then
    driver.notify(client)
  else
    local dict_name = client.options and client.options.callback_shared
    if dict_name and ngx.shared[dict_name] and ngx.worker.count() > 1 then
      relay(dict_name, body)
    end
  end
  return answer(200, {status = "ok"})
end

-- The worker's engine: {running, ticks, clients, step}.
M.stats = driver.stats

-- True where a wait may yield (rewrite, access, content, timers, ...).
M.can_wait = driver.yieldable

return M
