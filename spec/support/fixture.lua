-- Servers for one describe block: started in its setup, stopped in its
-- teardown (so nothing outlives a failing spec).
--
--   describe("...", function()
--     local ctx = fixture.servers{site = true, args = {"--job-time", "2s"}}
--     it("...", function() ctx.emu:submit{...}; ctx.site:page_url(1) end)
--   end)
--
-- ctx.emu is a support.emulator object, ctx.site a support.site object (when
-- site = true), ctx.host the emulator's "127.0.0.1:PORT". args may be a
-- function, called at setup time, returning the list.
local busted = require("busted")
local emulator = require("support.emulator")
local site = require("support.site")

local fixture = {}

function fixture.servers(opts)
  opts = opts or {}
  local ctx = {}
  busted.setup(function()
    if opts.site then
      ctx.site = site.start()
    end
    local args = opts.args
    if type(args) == "function" then
      args = args(ctx)
    end
    ctx.emu = emulator.start(args)
    ctx.host = "127.0.0.1:" .. ctx.emu.port
  end)
  busted.teardown(function()
    -- Stop everything first, then report the first failure (a sanitizer
    -- report in a server's stderr, say).
    local errors = {}
    for _, stop in ipairs{
      function() if ctx.emu then ctx.emu:stop() end end,
      function() if ctx.site then ctx.site:stop() end end,
      function() if opts.cleanup then opts.cleanup(ctx) end end,
    } do
      local ok, err = pcall(stop)
      if not ok then errors[#errors + 1] = tostring(err) end
    end
    if #errors > 0 then
      error(table.concat(errors, "\n"), 0)
    end
  end)
  return ctx
end

return fixture
