-- pushpull ips: the addresses the service sends callbacks from, one a line
-- (for a firewall's allowlist), or one JSON list with --json.
local M = {}

M.specs = {
  ips = {
    usage = "pushpull ips [--json]",
    summary = "Prints the addresses the service sends callbacks from, one a line.",
    options = {{"json", help = "one JSON list instead"}},
  },
}

function M.run(session, opts)
  local client = session:client()
  local ips, err = client:callbacker_ips()
  if not ips then
    session:fail_with(err, "callbacker ips")
  end
  session:answer(opts, ips, ips)
  return 0
end

return M
