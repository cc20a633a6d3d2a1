-- Run by spec/hosts/nvim_driver_spec.lua in a headless Neovim: the full
-- workflow (spec/hosts/full_workflow.lua) in a coroutine on the editor's
-- loop (the luv driver), between two snapshots of what a library could
-- change in its host. Reports the failures and the changes.
local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
package.path = os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/?.lua;" .. package.path
host.deadline(50000)

host.guard(function()
  local state = require("host_state")
  local workflow = require("full_workflow")
  local before = state.snapshot()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  coroutine.wrap(function()
    host.guard(function()
      local report = workflow.run{base_url = os.getenv("EMULATOR"), site = os.getenv("SITE"), dir = dir,
        listen = true}
      vim.fn.delete(dir, "rf")
      collectgarbage()
      report.changed = state.diff(before, state.snapshot())
      host.finish(report)
    end)
  end)()
end)
