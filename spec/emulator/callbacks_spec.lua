-- Callbacks: the job object posted to callback_url when a job ends, one per
-- job of a batch, retried when the receiver fails.
local emulator = require("support.emulator")
local site = require("support.site")
local fixture = require("support.fixture")
local contract = require("support.contract")
local socket = require("socket")

describe("emulator: callbacks", function()
  local ctx = fixture.servers{site = true}
  local emu, s
  setup(function()
    emu, s = ctx.emu, ctx.site
  end)

  it("posts the finished job object, with its links, from 127.0.0.1", function()
    local job = emu:submit{source = "universal", url = s:page_url(1),
      callback_url = s:callback_url("single")}
    local got = s:wait_callbacks("single", 1, 10)
    assert.equal(1, #got)
    local cb = got[1]
    assert.equal("127.0.0.1", cb.remote)
    assert.equal("table", type(cb.body))
    assert.equal(job.id, cb.body.id)
    assert.equal("done", cb.body.status)
    assert.equal(s:callback_url("single"), cb.body.callback_url)
    assert.is_true(contract.check_job(cb.body, "127.0.0.1:" .. emu.port))
    assert.truthy(cb.content_type:find("application/json", 1, true), cb.content_type)
  end)

  it("posts once per job of a batch", function()
    local urls = {s:page_url(21), s:page_url(22), s:page_url(23)}
    local jobs = emu:submit_batch{source = "universal", url = urls,
      callback_url = s:callback_url("batch")}
    local got = s:wait_callbacks("batch", 3, 10)
    socket.sleep(0.3) -- no more than one each
    got = s:callbacks("batch")
    assert.equal(3, #got)
    local want, seen = {}, {}
    for _, j in ipairs(jobs) do want[j.id] = true end
    for _, cb in ipairs(got) do
      assert.is_true(want[cb.body.id], "callback for a job of the batch")
      assert.is_nil(seen[cb.body.id], "one callback per job")
      seen[cb.body.id] = true
    end
  end)

  it("posts for faulted jobs too", function()
    local job = emu:submit{source = "universal", url = "http://127.0.0.1:1/",
      callback_url = s:callback_url("faulted")}
    local got = s:wait_callbacks("faulted", 1, 20)
    assert.equal(1, #got)
    assert.equal(job.id, got[1].body.id)
    assert.equal("faulted", got[1].body.status)
  end)

  it("retries a failing receiver, four attempts in all", function()
    local before = emu:stats().callbacks
    local job = emu:submit{source = "universal", url = s:page_url(2),
      callback_url = s:failing_callback_url("retry")}
    -- attempts at about 0, 0.5, 1.5 and 3.5 s
    local got = s:wait_callbacks("retry", 4, 8)
    assert.equal(4, #got)
    for _, cb in ipairs(got) do
      assert.equal(job.id, cb.body.id)
      assert.is_false(cb.ok)
    end
    assert.is_true(got[2].time - got[1].time >= 0.4, "backs off between attempts")
    assert.is_true(got[4].time - got[3].time >= got[2].time - got[1].time,
      "waits longer each time")
    socket.sleep(1.5)
    assert.equal(4, #s:callbacks("retry"), "gives up after four")
    local after = emu:stats().callbacks
    assert.is_true(after.failed > before.failed, "stats count the failure")
  end)
end)

describe("emulator: lost callbacks", function()
  it("drops callbacks with --inject callback-loss=1 and counts them", function()
    local s = site.start()
    local emu = emulator.start{"--inject", "callback-loss=1"}
    finally(function()
      emu:stop()
      s:stop()
    end)
    local job = emu:submit{source = "universal", url = s:page_url(1),
      callback_url = s:callback_url("lost")}
    emu:wait_status(job.id, "done", 10)
    local lost = contract.eventually(function()
      local c = emu:stats().callbacks
      return c.lost >= 1 and c
    end, 5)
    assert.truthy(lost, "stats callbacks.lost counts the lost callback")
    assert.equal(0, #s:callbacks("lost"))
  end)
end)
