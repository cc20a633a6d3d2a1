-- The client of a fleet worker script (spec/support/fleet_worker.lua,
-- fleet_member.lua): the emulator's account, the Redis journal, the lease,
-- short timeouts and retries, and any more options of extra.
local pushpull = require("pushpull")

return function(emu_url, journal, lease, extra)
  local o = {
    username = "user",
    password = "pass1",
    base_url = emu_url,
    journal = journal,
    lease = lease,
    timeout = 5,
    retry_base = 0.02,
    retry_max = 0.2,
  }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return assert(pushpull.new(o))
end
