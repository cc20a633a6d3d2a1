-- Which clients count as living on an event loop (and so send batches in
-- small requests by default).
require("support.env")
local drivers = require("pushpull.drivers")
local client = require("pushpull.client")

describe("drivers.on_event_loop", function()
  it("is true for a client that names an event-loop driver", function()
    assert.is_true(drivers.on_event_loop{driver = "ngx"})
    assert.is_true(drivers.on_event_loop{driver = "luv"})
  end)

  it("is false for the blocking and coroutine drivers", function()
    assert.is_false(drivers.on_event_loop{driver = "blocking"})
    assert.is_false(drivers.on_event_loop{driver = "coro"})
  end)

  it("is true for a client given a loop, false for a plain script", function()
    assert.is_true(drivers.on_event_loop{loop = {}})
    assert.is_false(drivers.on_event_loop{})
  end)

  it("sets a batch size small enough for an event loop", function()
    assert.is_true(client.EVENT_LOOP_BATCH_SIZE >= 1 and client.EVENT_LOOP_BATCH_SIZE <= 500)
  end)
end)
