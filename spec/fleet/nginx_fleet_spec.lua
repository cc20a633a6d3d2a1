-- A fleet as it is deployed: three worker processes (Lua 5.4 or LuaJIT,
-- spec/support/fleet_member.lua, each with its own callback listener) and
-- an nginx front with two workers (spec/fleet/nginx/fleet.conf) share one
-- Redis job store. The workers submit 3,000 jobs, each calling back to a
-- random one of the four hosts; one worker is SIGKILLed midway.
--
-- Only the workers take finished jobs (client:completed{tag}) and store
-- them: storing is the batch's own work, which a deployment scales, restarts
-- and kills apart from the front, while an nginx worker answers requests and
-- holds nothing across a reload; a loop in its timer would tie each job's
-- lease to a worker nginx may replace at any time. The front only takes
-- callbacks, and a callback of a job it does not have goes to the process
-- that has it through the store.
--
-- At the end every job's result is stored once and is the right page, no
-- job was handed out twice (but the one the killed worker held when it
-- died: at-least-once), the emulator saw each value submitted once, and the
-- callbacks spared the polls: about one results download a job.
local h = require("support.client")
local env = require("support.env")
local files = require("support.files")
local nginx = require("support.nginx")
local redis = require("support.redis")
local fleet = require("support.fleet")

local PER = 1000
local JOBS = 3 * PER

describe("three workers and an nginx front on one Redis store", function()
  local ctx = h.context{args = {"--job-time", "uniform:200ms:4s", "--workers", "4"}}
  local server, front

  setup(function()
    server = redis.start()
    front = nginx.start{template = env.root .. "/spec/fleet/nginx/fleet.conf", workers = 2,
      vars = {EMULATOR = ctx.emu.url, REDIS = server.url}}
  end)
  teardown(function()
    front:stop()
    server:stop()
  end)

  it("stores each of 3,000 jobs once, with callbacks to any host and a worker killed", function()
    local results, store = h.tmpdir(), h.tmpdir()
    local ws = fleet.start_members{ctx = ctx, redis = {server.url, server.url, server.url},
      results = results, store = store, tag = "fleet", per = PER, lease = 2,
      hosts = {front.url .. "/callback"}}
    local victim = ws[2]
    assert.is_true(fleet.wait_for(victim, "submitted", 1, 60), victim:log())
    -- midway: a sixth of the jobs stored, many still pending
    assert.is_true(fleet.wait_total(ws, "got ", JOBS / 6, 90), ws[1]:log())
    -- jobs still running: callbacks to the victim's listener will be lost,
    -- its pending jobs adopted by the others
    assert.is_true(ctx.emu:stats().jobs.pending > 0, "every job ended before the kill")
    local by, times = fleet.kill_one(ws, 2)
    assert.is_true(#by[1] > 0 and #by[2] > 0 and #by[3] > 0)
    fleet.check_stored(ctx, server.url, "fleet", store, JOBS, times)
    fleet.submitted_once(ctx, 0, JOBS)

    -- a quarter of the callbacks went to the front, whose workers had none
    -- of the jobs: all of them came through the store
    local log = files.read(front.prefix .. "/logs/access.log") or ""
    local _, at_front = log:gsub("POST /callback 200", "")
    assert.is_true(at_front > JOBS / 8, "callbacks at the front: " .. at_front)
    assert.same({}, front:log_lines("%[error%]"))
    -- about one results download a job: the killed worker's listener and
    -- the jobs it was polling cost a few polls more, nothing else
    local requests = ctx.emu:stats().requests
    local downloads = requests["GET /v1/queries/{id}/results"] or 0
    local polls = requests["GET /v1/queries/{id}"] or 0
    assert.is_true(downloads >= JOBS and downloads - JOBS < JOBS / 10,
      "results downloads for " .. JOBS .. " jobs: " .. downloads)
    assert.is_true(polls < JOBS / 10, "status polls: " .. polls)
    fleet.cleanup(ws, results, store)
  end)
end)
