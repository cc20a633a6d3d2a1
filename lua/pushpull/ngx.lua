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
local pushpull = require("pushpull")
local driver = require("pushpull.drivers.ngx")

local M = {}

M.DEFAULT_BATCH_SIZE = 100

local clients = {} -- key -> client, per worker (module state is per worker)

local function key_of(opts)
  return table.concat({tostring(opts.base_url), tostring(opts.username), tostring(opts.batch_size),
    tostring(opts.journal)}, "\0")
end

function M.client(opts)
  if type(opts) ~= "table" then
    error("pushpull.ngx.client: options must be a table", 2)
  end
  if ngx.get_phase() == "init" then
    error("pushpull.ngx.client: not in init_by_lua* (the workers would share its state); "
      .. "call it in init_worker_by_lua* or in a handler", 2)
  end
  local key = key_of(opts)
  local c = clients[key]
  if c then
    return c
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.batch_size = o.batch_size or M.DEFAULT_BATCH_SIZE
  local err
  c, err = pushpull.new(o)
  if not c then
    return nil, err
  end
  clients[key] = c
  return c
end

-- The worker's engine: {running, ticks, clients, step}.
M.stats = driver.stats

-- True where a wait may yield (rewrite, access, content, timers, ...).
M.can_wait = driver.yieldable

return M
