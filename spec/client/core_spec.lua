-- The binding itself (pushpull.core), driven the way an event-loop host
-- drives it: fd interest from take_fd_changes(), a timer from timeout_ms(),
-- socket_action() when either fires, events from take_events().
local h = require("support.client")
local core = require("pushpull.core")
local socket = require("socket")

describe("pushpull.core", function()
  local ctx = h.context{}

  local function raw_client()
    return assert(core.new{base_url = ctx.emu.url, username = "user", password = "pass1",
      timeout_ms = 5000})
  end

  it("has the states and constants of the header", function()
    assert.equal(0, core.NEW)
    assert.equal("pending", core.states[core.PENDING])
    assert.equal(core.FETCHED, core.states.fetched)
    assert.is_true(core.state_is_final(core.FETCHED))
    assert.is_false(core.state_is_final(core.DONE))
    assert.equal(5000, core.BATCH_MAX)
    assert.equal(-1, core.SOCKET_TIMEOUT)
    assert.is_number(core.now())
  end)

  it("is driven by socket_action with fd watches and a timer", function()
    local c = raw_client()
    local op = assert(c:request("GET", "/v1/info/callbacker_ips"))
    local watched, seen_watch, seen_unwatch = {}, false, false
    local ops_done = {}
    local deadline = core.now() + 10
    while not c:op_done(op) and core.now() < deadline do
      for _, ch in ipairs(c:take_fd_changes()) do
        local fd, events = ch[1], ch[2]
        if events == 0 then
          watched[fd] = nil
          seen_unwatch = true
        else
          watched[fd] = events
          seen_watch = true
        end
      end
      local ms = c:timeout_ms()
      if ms == 0 then
        c:socket_action(core.SOCKET_TIMEOUT, 0)
      end
      for fd, events in pairs(watched) do
        c:socket_action(fd, events)
      end
      local _, ops = c:take_events()
      for _, o in ipairs(ops) do
        ops_done[o] = true
      end
      socket.sleep(0.001)
    end
    assert.is_true(c:op_done(op))
    assert.is_true(ops_done[op])
    assert.is_true(seen_watch)
    assert.equal(200, c:op_status(op))
    assert.is_nil(c:op_error(op))
    assert.matches('"ips"', c:op_body(op))
    c:op_free(op)
    for _, ch in ipairs(c:take_fd_changes()) do
      if ch[2] == 0 then seen_unwatch = true end
    end
    assert.is_true(c:stats().requests >= 1)
    c:close()
    c:close() -- twice is fine
    assert.is_true(seen_watch or seen_unwatch)
  end)

  it("submits, reports job events and fetches with poll()", function()
    local c = raw_client()
    local op, jobs = c:submit('{"source": "universal", "url": ["' .. ctx.site:page_url(1)
      .. '", "' .. ctx.site:page_url(2) .. '"]}')
    assert.is_number(op)
    assert.equal(2, #jobs)
    assert.same(jobs, c:op_jobs(op))
    local states = {}
    local deadline = core.now() + 20
    while core.now() < deadline and not (states[jobs[1]] == core.FETCHED
        and states[jobs[2]] == core.FETCHED) do
      c:wait(100)
      local jev = c:take_events()
      for i = 1, #jev, 2 do
        states[jev[i]] = jev[i + 1]
      end
    end
    for i, job in ipairs(jobs) do
      assert.equal(core.FETCHED, c:job_state(job))
      assert.matches("^%d+$", c:job_id(job))
      assert.matches('"id"', c:job_info(job))
      assert.equal(i, h.page_number(c:job_results(job)))
      assert.is_nil(c:job_error(job))
    end
    assert.equal(0, c:busy())
    c:close()
  end)

  it("fills the event tables it is given again, with how many entries are new", function()
    local c = raw_client()
    local _, jobs = c:submit('{"source": "universal", "url": ["' .. ctx.site:page_url(3)
      .. '", "' .. ctx.site:page_url(4) .. '"]}')
    local jev, oev = {}, {}
    local states, calls, most = {}, 0, 0
    local deadline = core.now() + 20
    while core.now() < deadline and not (states[jobs[1]] == core.FETCHED
        and states[jobs[2]] == core.FETCHED) do
      c:wait(100)
      local j, o, nj, no = c:take_events(jev, oev)
      assert.equal(jev, j)
      assert.equal(oev, o)
      assert.is_true(nj % 2 == 0 and nj <= #jev and no <= #oev)
      for i = 1, nj, 2 do
        states[jev[i]] = jev[i + 1]
      end
      calls = calls + 1
      most = math.max(most, nj)
    end
    assert.equal(core.FETCHED, states[jobs[1]])
    assert.equal(core.FETCHED, states[jobs[2]])
    -- one table over many calls: it holds no more than the largest call's events
    assert.is_true(calls > 1)
    assert.equal(most, #jev)
    c:close()
  end)

  it("checks its arguments and refuses a closed client", function()
    local c = raw_client()
    assert.has_error(function() c:job_state("x") end)
    assert.has_error(function() c:job_state(0) end)
    assert.has_error(function() c:submit() end)
    assert.has_error(function() core.new("x") end)
    local op, err = c:submit("{not json")
    assert.is_nil(op)
    assert.is_string(err.message)
    c:close()
    assert.has_error(function() c:busy() end, "pushpull.core: client is closed")
  end)
end)
