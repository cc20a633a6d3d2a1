-- Run by spec/client/side_effects_spec.lua in a fresh lua5.4 or luajit:
--   side_effects.lua EMULATOR_URL SITE_URL DIR
-- Snapshots the host state, loads pushpull and runs the full workflow
-- (blocking driver, coroutines, the listener), snapshots again, and prints
-- "failure: ..." and "changed: ..." lines, then "steps N".
local state = require("host_state")
local before = state.snapshot()
local report = require("full_workflow").run{base_url = arg[1], site = arg[2], dir = arg[3],
  listen = true, coro = true}
collectgarbage()
local diff = state.diff(before, state.snapshot())
for _, f in ipairs(report.failures) do
  print("failure: " .. f)
end
for _, d in ipairs(diff) do
  print("changed: " .. d)
end
print("steps " .. report.steps)
