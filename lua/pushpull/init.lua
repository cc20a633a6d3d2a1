-- pushpull: a client for Push-Pull scraping job APIs.
--
--   local pushpull = require("pushpull")
--   local client = assert(pushpull.new{username = ..., password = ...})
--   local job = assert(client:submit{source = "universal", url = "https://example.com"})
--   assert(job:wait{timeout = 120})
--   local results = assert(job:results{type = "parsed"})
--
-- Waits block in plain scripts and yield inside pushpull.run(fn); see
-- pushpull/drivers/init.lua for the driver interface.
local core = require("pushpull.core")
local json = require("pushpull.json")
local errors = require("pushpull.errors")
local client = require("pushpull.client")
local coro = require("pushpull.drivers.coro")

local M = {}

M.VERSION = core.VERSION
M.null = json.null
M.BATCH_MAX = core.BATCH_MAX

-- State names by number and numbers by name (core.states).
M.states = core.states

M.new = client.new
M.run = coro.run
M.spawn = coro.spawn
M.now = core.now
M.errors = errors
M.is_error = errors.is

return M
