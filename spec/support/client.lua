-- Helpers for the specs of the Lua client (spec/client): a client on a
-- running emulator with test-friendly settings, and temporary folders.
--
--   local h = require("support.client")
--   describe("...", function()
--     local ctx = h.context{args = {"--fault-rate", "1"}, client = {timeout = 2}}
--     it("...", function() ctx.client:submit{...}; ctx.site:page_url(1) end)
--   end)
--   local emu = h.emulator{"--job-time", "5s"}      -- support.emulator.start
--   local client = h.client(emu, {timeout = 2})     -- pushpull.new{...}
require("support.env") -- package.cpath for the binding built for this Lua
local busted = require("busted")
local emulator = require("support.emulator")
local fixture = require("support.fixture")
local files = require("support.files")
local site = require("support.site")
local pushpull = require("pushpull")

local M = {}

M.emulator = emulator.start
M.site = site.start

-- Fast polling: the emulator runs jobs in no time.
M.poll = {first = 0.02, min = 0.02, max = 0.25, factor = 1.5}

function M.options(emu, extra)
  local o = {
    username = emulator.user,
    password = emulator.password,
    base_url = emu.url,
    timeout = 10,
    poll = M.poll,
  }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return o
end

function M.client(emu, extra)
  return assert(pushpull.new(M.options(emu, extra)))
end

M.tmpdir = files.tmpdir
M.rmdir = files.rmdir
M.read_file = files.read

-- The emulator and the test site for a describe block (support.fixture),
-- and ctx.client, a client on that emulator with options opts.client.
function M.context(opts)
  opts = opts or {}
  local ctx = fixture.servers{site = true, args = opts.args}
  busted.setup(function()
    ctx.client = M.client(ctx.emu, opts.client)
  end)
  busted.teardown(function()
    if ctx.client then
      ctx.client:close()
    end
  end)
  return ctx
end

-- n test-site page URLs, pages from + 1 .. from + n.
function M.page_urls(site_, from, n)
  local urls = {}
  for i = 1, n do
    urls[i] = site_:page_url(from + i)
  end
  return urls
end

-- GET /_emulator/values, decoded: how many jobs each url or query created.
function M.values(emu)
  local res = emu:request{path = "/_emulator/values"}
  assert(res.status == 200, "values answered " .. tostring(res.status))
  return require("cjson").decode(res.body)
end

-- The N of "<title>Page N</title>" in a test-site page.
function M.page_number(html)
  return tonumber(tostring(html):match("<title>Page (%d+)</title>"))
end

return M
