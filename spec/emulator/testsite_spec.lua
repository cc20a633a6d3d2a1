-- The local test site that the emulator specs scrape and receive callbacks
-- on: its pages, statuses and callback records must be what they say.
local socket = require("socket")
local http = require("support.http")
local site = require("support.site")

describe("test site", function()
  local s

  setup(function()
    s = site.start()
  end)

  teardown(function()
    if s then s:stop() end
  end)

  it("prints its address and serves pages with a title, a heading and links", function()
    assert.matches("^http://127%.0%.0%.1:%d+$", s.url)
    local res = assert(http.request{url = s:page_url(5)})
    assert.equal(200, res.status)
    assert.matches("^text/html", res.headers["content-type"])
    assert.matches("<title>Page 5</title>", res.body, 1, true)
    assert.matches("<h1>Page 5</h1>", res.body, 1, true)
    assert.matches('<a href="/page/6">Next</a>', res.body, 1, true)
    local links = 0
    for _ in res.body:gmatch('<a href="/page/%d+">') do
      links = links + 1
    end
    assert.is_true(links >= 3)
    assert.equal(2048, #res.body)
  end)

  it("sizes pages as asked, deterministically, up to 1 MiB", function()
    local a = assert(http.request{url = s:page_url(9, 5000)})
    local b = assert(http.request{url = s:page_url(9, 5000)})
    local other = assert(http.request{url = s:page_url(10, 5000)})
    assert.equal(5000, #a.body)
    assert.equal(a.body, b.body)
    assert.not_equal(a.body, other.body)
    local big = assert(http.request{url = s:page_url(1, 5 * 1024 * 1024)})
    assert.equal(1024 * 1024, #big.body)
    assert.equal(400, assert(http.request{url = s.url .. "/page/1?size=x"}).status)
    assert.equal(404, assert(http.request{url = s.url .. "/page/abc"}).status)
  end)

  it("answers the status it is asked for", function()
    for _, code in ipairs{200, 404, 500, 503} do
      local res = assert(http.request{url = s:status_url(code)})
      assert.equal(code, res.status)
      assert.matches(tostring(code), res.body, 1, true)
    end
    assert.equal(404, assert(http.request{url = s.url .. "/nothing-here"}).status)
  end)

  it("answers slow requests late without blocking the others", function()
    local t0 = socket.gettime()
    local slow = socket.tcp()
    slow:settimeout(5)
    assert(slow:connect("127.0.0.1", s.port))
    assert(slow:send("GET /slow/400 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    local fast = assert(http.request{url = s:page_url(1)})
    assert.equal(200, fast.status)
    assert.is_true(socket.gettime() - t0 < 0.3)
    local line = slow:receive("*l")
    slow:close()
    assert.equal("HTTP/1.1 200 OK", line)
    assert.is_true(socket.gettime() - t0 >= 0.39)
  end)

  it("records callbacks in order, with failures, and forgets them on request", function()
    s:clear("t")
    local ok = assert(http.request{method = "POST", url = s:callback_url("t"),
      body = {id = "1", status = "done"}})
    assert.equal(200, ok.status)
    assert.same({status = "ok"}, http.json(ok))
    local bad = assert(http.request{method = "POST", url = s:failing_callback_url("t"),
      body = "not json"})
    assert.equal(500, bad.status)
    local list = s:callbacks("t")
    assert.equal(2, #list)
    assert.same({id = "1", status = "done"}, list[1].body)
    assert.equal("127.0.0.1", list[1].remote)
    assert.is_true(list[1].ok)
    assert.equal("not json", list[2].body)
    assert.is_false(list[2].ok)
    assert.same({}, s:callbacks("other"))
    s:clear("t")
    assert.same({}, s:callbacks("t"))
  end)
end)
