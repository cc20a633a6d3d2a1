-- A process of the fleet with nothing to take while another one holds
-- the tag's last job: client:completed{tag} asks the store again every
-- 100 ms or so, not back to back (with nothing in flight, a wait used to
-- end at once and the claims went out as fast as Redis answered).
local h = require("support.client")
local redis = require("support.redis")

-- The store's script calls so far.
local function script_calls(server)
  return tonumber(server:command("INFO", "commandstats"):match("cmdstat_evalsha:calls=(%d+)") or "0")
end

describe("client:completed{tag} while another process holds the tag's jobs", function()
  local ctx = h.context()
  local server

  setup(function() server = redis.start() end)
  teardown(function() server:stop() end)

  it("waits between its claims", function()
    local holder = h.client(ctx.emu, {journal = server.url})
    assert(holder:submit_batch({source = "universal", url = h.page_urls(ctx.site, 0, 2)}, {tag = "idle"}))
    local iterate = holder:completed{tag = "idle", timeout = 30}
    -- the holder has the first job in hand: the tag is not done while it does
    assert.is_not_nil(iterate())
    local other = h.client(ctx.emu, {journal = server.url})
    local before = script_calls(server)
    local got = 0
    for _ in other:completed{tag = "idle", timeout = 1.5} do
      got = got + 1
    end
    local calls = script_calls(server) - before
    -- the second job went to one of them; then a claim and an adoption
    -- every 100 ms: about 30, and thousands without the pause
    assert.is_true(calls < 80, "script calls in 1.5 s with nothing to take: " .. calls)
    assert.is_true(calls > 5, "it stopped asking: " .. calls)
    assert.is_true(got <= 1)
    other:close()
    holder:close()
  end)
end)
