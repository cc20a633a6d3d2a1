-- The Redis store on a Redis Cluster of three masters, given the URL of
-- one node: workers of three tags whose keys live on three different
-- nodes submit their jobs and take them all with client:completed{tag},
-- each job once, each value submitted once.
local h = require("support.client")
local workers = require("support.workers")
local redis = require("support.redis")
local fleet = require("support.fleet")

local PER = 60

-- A tag of the store whose keys the node serves.
local function tag_on(nodes, want)
  for i = 1, 1000 do
    local tag = "cl" .. i
    if redis.node_of(nodes, "pp:{" .. tag .. "}:meta") == want then
      return tag
    end
  end
  error("no tag on node " .. want)
end

describe("the Redis store on a Redis Cluster", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}
  local nodes

  before_each(function() nodes = redis.start_cluster() end)
  after_each(function()
    for _, n in ipairs(nodes) do
      n:stop()
    end
  end)

  it("takes the jobs of tags on every node through one node's URL", function()
    local dir = h.tmpdir()
    local ws, tags = {}, {}
    for i = 1, 3 do
      tags[i] = tag_on(nodes, i)
      ws[i] = workers.start("fleet_worker.lua", {ctx.emu.url, ctx.site.url, nodes[1].url, dir,
        tostring(20000 + (i - 1) * PER), tostring(PER), tags[i], "5"})
    end
    fleet.finish(ws)
    local by, times = fleet.tally(ws)
    fleet.once(times)
    for i = 1, 3 do
      assert.equal(PER, #by[i], ws[i]:log())
      -- the tag's keys are on its node, and nowhere else
      local key = "pp:{" .. tags[i] .. "}:meta"
      assert.equal(i, redis.node_of(nodes, key))
      assert.is_true(tonumber(nodes[i]:command("EXISTS", key)) == 1)
    end
    fleet.submitted_once(ctx, 20000, 3 * PER)
    fleet.cleanup(ws, dir)
  end)
end)
