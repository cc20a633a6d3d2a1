-- Shared start and end of the scripts that spec/support/nvim.lua runs in a
-- headless Neovim: package paths for the checkout and its LuaJIT build,
-- JSON reporting, and a guard that always quits Neovim.
local root = assert(os.getenv("PUSHPULL_ROOT"), "PUSHPULL_ROOT not set")
local build = os.getenv("PUSHPULL_BUILD_DIR") or (root .. "/build")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = build .. "/luajit/?.so;" .. package.cpath

local host = {}
host.uv = vim.uv or vim.loop

local done = false

-- Writes report as JSON to PUSHPULL_NVIM_OUT and quits Neovim.
function host.finish(report)
  if done then return end
  done = true
  local f = assert(io.open(assert(os.getenv("PUSHPULL_NVIM_OUT")), "w"))
  f:write(vim.fn.json_encode(report))
  f:close()
  vim.schedule(function() vim.cmd("qa!") end)
end

-- Runs fn(); any error is reported as { error = message } and Neovim quits.
function host.guard(fn, ...)
  local ok, err = xpcall(fn, debug.traceback, ...)
  if not ok then host.finish({ error = tostring(err) }) end
  return ok
end

-- Quit with an error report if the script has not finished after ms.
function host.deadline(ms)
  local t = host.uv.new_timer()
  t:start(ms, 0, function()
    t:close()
    vim.schedule(function() host.finish({ error = "script deadline of " .. ms .. " ms passed" }) end)
  end)
  if t.unref then t:unref() end
end

return host
