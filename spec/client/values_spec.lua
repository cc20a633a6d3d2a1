-- What calls give back: one value or nil, err; integers that stay integers
-- under Lua 5.3+; errors that stand for strings; png results saved as
-- images; kept results reused when they are of the type asked for.
local h = require("support.client")
local env = require("support.env")
local pushpull = require("pushpull")

local function count(...)
  return select("#", ...)
end

local PNG_SIGNATURE = "\137PNG\r\n\26\n"

describe("values", function()
  local ctx = h.context{}

  it("are one per call, or nil and an error", function()
    local c = ctx.client
    local s = c.schedules:create{cron = "0 3 * * *", items = {{source = "universal", url = ctx.site:page_url(1)}},
      end_time = "2099-01-01 00:00:00"}
    assert.equal(1, count(c.schedules:create{cron = "0 4 * * *",
      items = {{source = "universal", url = ctx.site:page_url(1)}}, end_time = "2099-01-01 00:00:00"}))
    assert.equal(1, count(c.schedules:get(s.schedule_id)))
    assert.equal(1, count(c.schedules:list()))
    assert.equal(1, count(c.schedules:runs(s.schedule_id)))
    assert.equal(1, count(c.schedules:set_active(s.schedule_id, true)))
    assert.equal(1, count(c:call("GET", "/v1/info/callbacker_ips")))
    assert.equal(1, count(c:callbacker_ips()))
    assert.equal(2, count(c.schedules:get(987654321)))
    local job = assert(c:submit{source = "universal", url = ctx.site:page_url(2)})
    assert.equal(1, count(job:wait{timeout = 20}))
    assert.equal(1, count(job:refresh()))
    assert.equal(1, count(job:results()))
    assert.equal(1, count(c:listen_stop()))
  end)

  it("keep integers integers", function()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(3)})
    assert.is_true(job:wait{timeout = 20})
    local results = assert(job:results())
    assert.equal(200, results[1].status_code)
    assert.equal("200", tostring(results[1].status_code))
    local s = assert(ctx.client.schedules:create{cron = "0 3 * * *",
      items = {{source = "universal", url = ctx.site:page_url(1)}}, end_time = "2099-01-01 00:00:00"})
    assert.equal(tostring(s.schedule_id):match("^%d+$"), tostring(s.schedule_id))
    if math.type then
      assert.equal("integer", math.type(results[1].status_code))
      assert.equal("integer", math.type(results[1].page))
      assert.equal("integer", math.type(ctx.client:stats().requests))
      -- fractions stay numbers with a fraction
      assert.equal("float", math.type(require("pushpull.json").decode('{"x": 1.5}').x))
    end
  end)

  it("are errors that stand for strings", function()
    local bad = h.client(ctx.emu, {password = "wrong"})
    local ips, err = bad:callbacker_ips()
    bad:close()
    assert.is_nil(ips)
    assert.is_true(pushpull.is_error(err))
    assert.equal(401, err.status)
    local text = tostring(err)
    assert.matches("^pushpull: .*%(HTTP 401%)$", text)
    assert.equal("error: " .. text, "error: " .. err)
    assert.equal(text .. "!", err .. "!")
    local ok, raised = pcall(assert, nil, err)
    assert.is_false(ok)
    assert.equal(text, tostring(raised))
    -- and an uncaught one prints its message, in a fresh interpreter
    local lua = env.is_luajit and "luajit" or "lua5.4"
    local p = assert(io.popen(("cd /tmp && LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' "
      .. "%s -e \"local e = require('pushpull').errors.new('it broke', {status = 503}); assert(nil, e)\" 2>&1")
      :format(env.root, env.root, env.lib_dir, lua)))
    local out = p:read("*a")
    p:close()
    assert.matches("pushpull: it broke (HTTP 503)", out, 1, true)
  end)

  it("save png results as image files, one per result page", function()
    local dir = h.tmpdir()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(4)})
    assert.is_true(job:wait{timeout = 20})
    local paths = assert(job:save_results(dir .. "/page.png", {type = "png"}))
    assert.same({dir .. "/page.png"}, paths)
    local bytes = assert(h.read_file(dir .. "/page.png"))
    assert.equal(PNG_SIGNATURE, bytes:sub(1, 8))
    -- a query job of three pages: page.png, page-2.png, page-3.png
    local q = assert(ctx.client:submit{source = "google_search", query = "shoes", pages = 3})
    assert.is_true(q:wait{timeout = 20})
    paths = assert(q:save_results(dir .. "/shoes.png", {type = "png"}))
    assert.same({dir .. "/shoes.png", dir .. "/shoes-2.png", dir .. "/shoes-3.png"}, paths)
    for _, path in ipairs(paths) do
      assert.equal(PNG_SIGNATURE, assert(h.read_file(path)):sub(1, 8))
    end
    -- (and png results in memory are the service's base64 text)
    assert.equal("iVBORw0KGgo", assert(q:results{type = "png"})[1].content:sub(1, 11))
    h.rmdir(dir)
  end)

  it("come from the kept answer when it is of the type asked for", function()
    local job = assert(ctx.client:submit{source = "universal", url = ctx.site:page_url(5), parse = true})
    assert.is_true(job:wait{timeout = 20})
    local before = ctx.emu:stats().requests["GET /v1/queries/{id}/results"]
    local parsed = assert(job:results{type = "parsed"})
    assert.equal("Page 5", parsed[1].content.title)
    assert.equal(before, ctx.emu:stats().requests["GET /v1/queries/{id}/results"])
    -- another type is downloaded
    local raw = assert(job:results{type = "raw"})
    assert.equal(5, h.page_number(raw[1].content))
    assert.equal(before + 1, ctx.emu:stats().requests["GET /v1/queries/{id}/results"])
  end)
end)
