-- The Lua client against a real emulator and test site: single jobs, the
-- result types, attaching to ids, errors, schedules and the other calls.
local h = require("support.client")
local pushpull = require("pushpull")

describe("pushpull client", function()
  local ctx = h.context{}

  describe("pushpull.new", function()
    it("raises on argument mistakes, naming the argument", function()
      assert.has_error(function() pushpull.new() end,
        "pushpull: pushpull.new: options must be table, got nil")
      local ok, err = pcall(pushpull.new, {username = "u"})
      assert.is_false(ok)
      assert.matches("options.password", err, 1, true)
      ok, err = pcall(pushpull.new, {username = "u", password = "p", timeout = "soon"})
      assert.is_false(ok)
      assert.matches("options.timeout", err, 1, true)
      ok, err = pcall(pushpull.new, {username = "u", password = "p", batch_size = 6000})
      assert.is_false(ok)
      assert.matches("options.batch_size", err, 1, true)
      ok, err = pcall(pushpull.new, {username = "u", password = "p", driver = "no-such"})
      assert.is_false(ok)
      assert.matches("options.driver", err, 1, true)
    end)

    it("raises on an option it does not know, naming it", function()
      local ok, err = pcall(pushpull.new, {username = "u", password = "p", timout = 5})
      assert.is_false(ok)
      assert.matches("options.timout is not an option", err, 1, true)
      ok, err = pcall(pushpull.new, {username = "u", password = "p", poll = {fist = 1}})
      assert.is_false(ok)
      assert.matches("options.poll.fist is not an option", err, 1, true)
    end)

    it("defaults base_url to the real service", function()
      local c = assert(pushpull.new{username = "u", password = "p"})
      assert.equal("https://data.oxylabs.io", c.base_url)
      c:close()
    end)

    it("exposes the status words and cjson's null", function()
      assert.same({"submitting", "pending", "done", "faulted", "unknown", "rejected", "expired", "failed"},
        pushpull.statuses)
      assert.equal(require("cjson").null, pushpull.null)
    end)
  end)

  describe("a single job", function()
    local job

    it("is submitted and waited for", function()
      local err
      job, err = ctx.client:submit{source = "universal", url = ctx.site:page_url(7)}
      assert.is_nil(err)
      assert.is_string(job.id)
      assert.matches("^%d+$", job.id)
      assert.is_true(job:wait{timeout = 20})
      assert.equal("done", job.status)
      assert.is_true(job.fetched)
      assert.is_nil(job.results_path) -- kept in memory
      -- info is the last job object the service sent: the submission's answer
      assert.equal(job.id, job.info.id)
      assert.equal("universal", job.info.source)
    end)

    it("gives the results the poller kept", function()
      local results = assert(job:results())
      assert.equal(1, #results)
      assert.equal(7, h.page_number(results[1].content))
      assert.equal(200, results[1].status_code)
    end)

    it("gives raw, parsed and png results", function()
      local raw = assert(job:results{type = "raw"})
      assert.equal(7, h.page_number(raw[1].content))
      local parsed = assert(job:results{type = "parsed"})
      assert.is_table(parsed[1].content)
      assert.equal("Page 7", parsed[1].content.title)
      assert.equal(12000, parsed[1].content.parse_status_code)
      local png = assert(job:results{type = "png"})
      assert.is_string(png[1].content)
      -- base64 of the PNG signature
      assert.equal("iVBORw0KGgo", png[1].content:sub(1, 11))
    end)

    it("asks the service now with job:refresh()", function()
      assert.equal("done", assert(job:refresh()))
      assert.equal("done", job.info.status)
      assert.equal("done", job.status)
      assert.is_true(job.fetched)
    end)

    it("saves results to a file", function()
      local dir = h.tmpdir()
      local path = dir .. "/r.json"
      assert.same({path}, job:save_results(path))
      local text = assert(h.read_file(path))
      local data = require("cjson").decode(text)
      assert.equal(7, h.page_number(data.results[1].content))
      local ppath = dir .. "/p.json"
      assert.same({ppath}, job:save_results(ppath, {type = "parsed"}))
      text = assert(h.read_file(ppath))
      data = require("cjson").decode(text)
      assert.equal("Page 7", data.results[1].content.title)
      h.rmdir(dir)
    end)

    it("streams results to <dir>/<id>.json with results_dir", function()
      local dir = h.tmpdir()
      local j = assert(ctx.client:submit({source = "universal", url = ctx.site:page_url(11)},
        {results_dir = dir}))
      assert.is_true(j:wait{timeout = 20})
      assert.equal(dir .. "/" .. j.id .. ".json", j.results_path)
      local text = assert(h.read_file(dir .. "/" .. j.id .. ".json"))
      assert.equal(11, h.page_number(require("cjson").decode(text).results[1].content))
      local results = assert(j:results())
      assert.equal(11, h.page_number(results[1].content))
      h.rmdir(dir)
    end)

    it("attaches to an existing id with client:job", function()
      local obj = ctx.emu:submit{source = "universal", url = ctx.site:page_url(3)}
      local j = assert(ctx.client:job(obj.id))
      assert.equal(obj.id, j.id)
      assert.equal(j, ctx.client:job(obj.id))
      assert.is_true(j:wait{timeout = 20})
      local results = assert(j:results())
      assert.equal(3, h.page_number(results[1].content))
    end)

    it("raises on argument mistakes", function()
      assert.has_error(function() ctx.client:submit("x") end)
      local ok, err = pcall(ctx.client.submit, ctx.client, {source = "universal", url = {"a", "b"}})
      assert.is_false(ok)
      assert.matches("params.url", err, 1, true)
      ok, err = pcall(job.wait, job, {timeout = "1"})
      assert.is_false(ok)
      assert.matches("timeout", err, 1, true)
      ok, err = pcall(ctx.client.job, ctx.client, 123)
      assert.is_false(ok)
      assert.matches("id", err, 1, true)
    end)
  end)

  describe("errors", function()
    it("reports a wrong password as 401 with a message", function()
      local bad = h.client(ctx.emu, {password = "wrong"})
      local job, err = bad:submit{source = "universal", url = ctx.site:page_url(1)}
      assert.is_nil(job)
      assert.equal(401, err.status)
      assert.is_string(err.message)
      assert.matches("401", tostring(err), 1, true)
      local ips, err2 = bad:callbacker_ips()
      assert.is_nil(ips)
      assert.equal(401, err2.status)
      bad:close()
    end)

    it("reports a rejected submission with the service's body", function()
      local job, err = ctx.client:submit{url = ctx.site:page_url(1)} -- no source
      assert.is_nil(job)
      assert.equal(400, err.status)
      assert.is_string(err.body)
      assert.equal("rejected", err.job_status)
    end)

    it("reports an unknown job id as 404", function()
      local j = assert(ctx.client:job("1234567890123456789"))
      local status, err = j:refresh()
      assert.is_nil(status)
      assert.equal(404, err.status)
    end)

    it("times out a wait", function()
      local slow = h.emulator{"--job-time", "5s"}
      local c = h.client(slow)
      local j = assert(c:submit{source = "universal", url = ctx.site:page_url(2)})
      local t0 = pushpull.now()
      local ok, err = j:wait{timeout = 0.3}
      assert.is_nil(ok)
      assert.equal("timeout", err.message)
      assert.is_true(pushpull.now() - t0 < 3)
      assert.equal("pending", j.status)
      c:close()
      slow:stop()
    end)
  end)

  describe("faulted jobs", function()
    it("end in faulted, not billed, and wait says so", function()
      local femu = h.emulator{"--fault-rate", "1"}
      local c = h.client(femu)
      local j = assert(c:submit{source = "universal", url = ctx.site:page_url(4)})
      local ok, err = j:wait{timeout = 20}
      assert.is_nil(ok)
      assert.equal("faulted", err.job_status)
      assert.equal("faulted", j.status)
      assert.is_string(err.message)
      local b = assert(c:submit_batch{source = "universal", url = {ctx.site:page_url(1), ctx.site:page_url(2)}})
      local seen = 0
      for job in b:completed{timeout = 20} do
        assert.equal("faulted", job.status)
        seen = seen + 1
      end
      assert.equal(2, seen)
      c:close()
      femu:stop()
    end)
  end)

  describe("expired results", function()
    it("are reported as expired, with the 404", function()
      local remu = h.emulator{"--retention", "1"}
      local c = h.client(remu, {poll = {first = 0.02, min = 0.02, max = 0.2, fetch = false}})
      local j = assert(c:submit{source = "universal", url = ctx.site:page_url(5)})
      assert.is_true(j:wait{timeout = 20})
      assert.equal("done", j.status)
      require("socket").sleep(1.5)
      local results, err = j:results()
      assert.is_nil(results)
      assert.equal(404, err.status)
      c:close()
      remu:stop()
    end)
  end)

  describe("other calls", function()
    it("lists the callbacker ips", function()
      local ips = assert(ctx.client:callbacker_ips())
      assert.is_true(#ips > 0)
      for _, ip in ipairs(ips) do
        assert.matches("^%d+%.%d+%.%d+%.%d+$", ip)
      end
    end)

    it("manages schedules", function()
      local s = assert(ctx.client.schedules:create{
        cron = "0 3 * * *",
        items = {{source = "universal", url = ctx.site:page_url(1)}},
        end_time = "2099-01-01 00:00:00",
      })
      assert.is_not_nil(s.schedule_id)
      assert.equal("0 3 * * *", s.cron)
      local list = assert(ctx.client.schedules:list())
      assert.is_table(list.schedules)
      local found = false
      for _, id in ipairs(list.schedules) do
        if tostring(id) == tostring(s.schedule_id) then found = true end
      end
      assert.is_true(found)
      local got = assert(ctx.client.schedules:get(s.schedule_id))
      assert.equal(s.schedule_id, got.schedule_id)
      assert.is_true(ctx.client.schedules:set_active(s.schedule_id, false))
      got = assert(ctx.client.schedules:get(s.schedule_id))
      assert.is_false(got.active)
      local runs = assert(ctx.client.schedules:runs(s.schedule_id))
      assert.is_table(runs.runs)
      local none, err = ctx.client.schedules:get(987654321)
      assert.is_nil(none)
      assert.equal(404, err.status)
      assert.has_error(function() ctx.client.schedules:create{items = {}} end)
    end)

    it("counts its requests", function()
      local st = ctx.client:stats()
      assert.is_true(st.requests > 0)
      assert.is_true(st.submitted > 0)
    end)
  end)
end)
