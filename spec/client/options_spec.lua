-- pushpull's own option tables refuse keys they do not know, naming them
-- (a typo must not turn `wait{timout = 5}` into a wait without a limit);
-- job parameters go to the service as given.
local h = require("support.client")
local pushpull = require("pushpull")

local function raises_naming(key, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, key .. " was taken")
  assert.matches(key .. " is not an option", err, 1, true)
end

describe("option tables", function()
  local ctx = h.context{}

  it("refuse unknown keys in every call that takes options", function()
    local c = ctx.client
    raises_naming("options.timout", pushpull.new, {username = "u", password = "p", timout = 1})
    raises_naming("options.poll.fist", pushpull.new, {username = "u", password = "p", poll = {fist = 1}})
    raises_naming("options.result_dir", c.submit, c, {source = "universal", url = "x"}, {result_dir = "/tmp"})
    raises_naming("options.callbak", c.submit_batch, c, {source = "universal", url = {"x"}}, {callbak = true})
    raises_naming("options.timout", c.wait_all, c, {}, {timout = 1})
    raises_naming("options.prot", c.listen, c, {prot = 0})
    raises_naming("options.safety", c.expect_callbacks, c, "https://x/cb", {safety = 1})
    local job = assert(c:submit{source = "universal", url = ctx.site:page_url(1)})
    raises_naming("options.timout", job.wait, job, {timout = 5})
    raises_naming("options.typ", job.results, job, {typ = "png"})
    raises_naming("options.format", job.save_results, job, "/tmp/x.png", {format = "png"})
    local batch = assert(c:submit_batch{source = "universal", url = {ctx.site:page_url(2)}})
    raises_naming("options.timout", batch.completed, batch, {timout = 5})
    raises_naming("options.timout", batch.wait, batch, {timout = 5})
  end)

  it("say which keys they take", function()
    local ok, err = pcall(ctx.client.listen, ctx.client, {prot = 0})
    assert.is_false(ok)
    assert.matches("(options are allow, host, max_body, max_connections, path, port, public_url, "
      .. "safety_factor, safety_min)", err, 1, true)
  end)

  it("leave job parameters alone: the service gets them as given", function()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(3),
      client_notes = "mine", a_parameter_of_tomorrow = {x = 1}})
    assert.equal("mine", job.info.client_notes)
    assert.equal(1, job.info.a_parameter_of_tomorrow.x)
  end)
end)
