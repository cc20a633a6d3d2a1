-- Bad input: malformed JSON, wrong types, unknown paths, wrong methods.
-- Every error is {"message": ...} served as application/json.
local http = require("support.http")
local fixture = require("support.fixture")

describe("emulator: bad input", function()
  local ctx = fixture.servers()
  local emu
  setup(function()
    emu = ctx.emu
  end)

  local function post(path, body)
    return assert(emu:request{method = "POST", path = path, body = body,
      headers = {["Content-Type"] = "application/json"}})
  end

  -- Checks a 4xx answer and returns its message.
  local function error_message(res, status)
    local doc = http.json(res, status)
    assert.equal("string", type(doc.message))
    assert.is_true(#doc.message > 0)
    return doc.message
  end

  it("answers malformed JSON with 400", function()
    for _, body in ipairs{'{"source": "google_search", "query": ', "not json", "", "{}}"} do
      error_message(post("/v1/queries", body), 400)
      error_message(post("/v1/queries/batch", body), 400)
    end
  end)

  it("answers a body that is not an object with 400", function()
    error_message(post("/v1/queries", '["google_search"]'), 400)
    error_message(post("/v1/queries", '"google_search"'), 400)
  end)

  it("answers a missing source with 400 naming it", function()
    local msg = error_message(post("/v1/queries", '{"query": "adidas"}'), 400)
    assert.truthy(msg:find("source", 1, true), msg)
  end)

  local wrong = {
    {"source", '{"source": 5, "query": "a"}'},
    {"query", '{"source": "google_search", "query": 12}'},
    {"url", '{"source": "universal", "url": {"a": 1}}'},
    {"pages", '{"source": "google_search", "query": "a", "pages": "two"}'},
    {"start_page", '{"source": "google_search", "query": "a", "start_page": []}'},
    {"limit", '{"source": "google_search", "query": "a", "limit": "ten"}'},
    {"parse", '{"source": "google_search", "query": "a", "parse": "yes"}'},
    {"context", '{"source": "google_search", "query": "a", "context": "x"}'},
    {"callback_url", '{"source": "google_search", "query": "a", "callback_url": 7}'},
    {"domain", '{"source": "google_search", "query": "a", "domain": ["com"]}'},
  }
  for _, case in ipairs(wrong) do
    it("answers a wrongly typed " .. case[1] .. " with 400 naming it", function()
      local msg = error_message(post("/v1/queries", case[2]), 400)
      assert.truthy(msg:find(case[1], 1, true), msg)
    end)
  end

  it("creates no job for a refused submission", function()
    local before = emu:stats().jobs_created
    post("/v1/queries", '{"source": "google_search", "query": "a", "pages": "two"}')
    post("/v1/queries", "not json")
    assert.equal(before, emu:stats().jobs_created)
  end)

  it("answers unknown paths with 404", function()
    for _, path in ipairs{"/", "/v1", "/v1/nothing", "/v2/queries", "/v1/queries/123/nothing",
        "/v1/info/other"} do
      local res = assert(emu:request{path = path})
      error_message(res, 404)
    end
  end)

  it("answers a known path with the wrong method with 405", function()
    local cases = {
      {"GET", "/v1/queries"},
      {"DELETE", "/v1/queries"},
      {"GET", "/v1/queries/batch"},
      {"PUT", "/v1/queries/batch"},
      {"POST", "/v1/info/callbacker_ips"},
      {"DELETE", "/v1/schedules"},
      {"GET", "/v1/schedules/1/state"},
    }
    local job = emu:submit{source = "google_search", query = "m"}
    cases[#cases + 1] = {"POST", "/v1/queries/" .. job.id}
    cases[#cases + 1] = {"DELETE", "/v1/queries/" .. job.id .. "/results"}
    for _, c in ipairs(cases) do
      local res = assert(emu:request{method = c[1], path = c[2]})
      assert.equal(405, res.status, c[1] .. " " .. c[2])
      error_message(res, 405)
    end
  end)

  it("serves every JSON answer as application/json", function()
    local job = emu:submit{source = "google_search", query = "ctype"}
    emu:wait_status(job.id, "done", 10)
    for _, path in ipairs{"/v1/queries/" .. job.id, "/v1/queries/" .. job.id .. "/results",
        "/v1/queries/" .. job.id .. "/results?type=parsed", "/v1/info/callbacker_ips",
        "/v1/schedules", "/_emulator/stats"} do
      local res = assert(emu:request{path = path})
      assert.equal(200, res.status, path)
      assert.truthy(res.headers["content-type"]:find("application/json", 1, true), path)
      http.decode(res.body)
    end
  end)
end)
