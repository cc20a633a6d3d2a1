-- pushpull: a client for Push-Pull scraping job APIs.
--
--   local pushpull = require("pushpull")
--   local client = assert(pushpull.new{username = ..., password = ...})
--   local job = assert(client:submit{source = "universal", url = "https://example.com"})
--   assert(job:wait{timeout = 120})
--   local results = assert(job:results{type = "parsed"})
--
-- Waits block in plain scripts and yield inside pushpull.run(fn), in
-- OpenResty and on a luv loop (pushpull/drivers/init.lua).
--
-- Loading and using the module changes nothing outside its own tables: no
-- global, no metatable of the host's strings, numbers or tables.
local core = require("pushpull.core")
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local client = require("pushpull.client")
local states = require("pushpull.states")
local coro = require("pushpull.drivers.coro")

---@class pushpull
local M = {}

---The version of the C core.
M.VERSION = core.VERSION
---JSON null in decoded answers (cjson.null).
M.null = json.null
---Values per batch request, at most.
M.BATCH_MAX = core.BATCH_MAX

---Every word job.status can be, in the order a job may go through them.
---@type pushpull.JobStatus[]
M.statuses = states.words

---Makes a client.
---@type fun(opts: pushpull.Options): pushpull.Client?, pushpull.Error?
M.new = client.new

---Runs fn(...) in a coroutine scheduler, with every coroutine it spawns;
---waits inside them yield to it. Returns fn's results; raises their errors.
---@type fun(fn: function, ...): ...
M.run = coro.run

---Starts fn(...) as one more coroutine of the running pushpull.run.
---@type fun(fn: function, ...): thread
M.spawn = coro.spawn

---A monotonic clock, in seconds.
---@type fun(): number
M.now = core.now

M.errors = errors

---Whether value is an error pushpull returned.
---@type fun(value: any): boolean
M.is_error = errors.is

return M
