-- pushpull batch against a real emulator: a 3,000-URL file into a folder,
-- --json lines, stdin read as it comes, callbacks, faults, timeouts, and the
-- progress written when stderr is not a terminal.
local h = require("support.client")
local cli = require("support.cli")
local json = require("pushpull.json")

local check = cli.check

local write = require("support.files").write

-- The lines of a URL file of the pages first..last of the site.
local function url_lines(site, first, last)
  local t = {}
  for i = first, last do
    t[#t + 1] = site:page_url(i)
  end
  return table.concat(t, "\n") .. "\n"
end

-- The --json lines of a run, decoded.
local function json_lines(out)
  local list = {}
  for _, line in ipairs(cli.lines(out)) do
    list[#list + 1] = assert(json.decode(line), line)
  end
  return list
end

describe("pushpull batch", function()
  local site, tmp
  setup(function()
    site = h.site()
    tmp = h.tmpdir()
  end)
  teardown(function()
    site:stop()
    h.rmdir(tmp)
  end)

  it("takes a 3,000-line URL file into --out: every page once, in a file of its own", function()
    local emu = h.emulator{"--job-time", "uniform:0s:0.5s"}
    local input, out = tmp .. "/urls.txt", tmp .. "/out3000"
    write(input, url_lines(site, 1, 3000))
    local r = check(cli.run({"batch", input, "--out", out, "--json"}, {emu = emu}), 0)

    -- one JSON line per job, each done, naming its URL and its file
    local lines = json_lines(r.out)
    assert.equal(3000, #lines)
    local pages = {}
    for _, l in ipairs(lines) do
      assert.equal("done", l.status)
      assert.equal(out .. "/" .. l.id .. ".json", l.path)
      local n = tonumber(l.url:match("/page/(%d+)$"))
      assert.is_nil(pages[n], "page " .. tostring(n) .. " twice")
      pages[n] = l.path
    end
    -- the files hold the pages their lines say
    for n = 1, 3000, 1 do
      local saved = json.decode(assert(h.read_file(assert(pages[n], "no page " .. n))))
      assert.equal(n, h.page_number(saved.results[1].content))
    end
    local listing = assert(io.popen("ls '" .. out .. "' | wc -l"))
    assert.equal(3000, tonumber(listing:read("*a")))
    listing:close()

    -- the summary, and no job created twice
    assert.matches("3000 jobs in %d+:%d+: 3000 done, 0 faulted; 3000 saved to " .. out:gsub("%p", "%%%0"), r.err)
    local stats = emu:stats()
    assert.equal(3000, stats.jobs_created)
    assert.equal(0, stats.values_created_twice)
    emu:stop()
  end)

  it("reads stdin as it comes: jobs start before the input ends", function()
    local emu = h.emulator()
    -- the second line is written only once the emulator has the first job
    local script = tmp .. "/producer.sh"
    write(script, ([[
echo %s
i=0
while [ $i -lt 100 ]; do
  if curl -s %s/_emulator/stats | grep -q '"jobs_created":1,'; then echo streamed > %s/streamed; break; fi
  sleep 0.1; i=$((i+1))
done
echo %s
]]):format(site:page_url(1), emu.url, tmp, site:page_url(2)))
    local cmd = ("sh %s | %s batch - --json --quiet"):format(cli.quote(script),
      cli.command({}, {emu = emu}):gsub(" *$", ""))
    local p = assert(io.popen(cmd .. "; echo \"exit=$?\""))
    local out = p:read("*a")
    p:close()
    assert.matches("exit=0", out, 1, true)
    assert.equal("streamed\n", h.read_file(tmp .. "/streamed"))
    local lines = json_lines(out:gsub("exit=%d+%s*$", ""))
    assert.equal(2, #lines)
    emu:stop()
  end)

  it("takes queries with shared parameters, and exits 1 with the faulted jobs named", function()
    local emu = h.emulator{"--fault-rate", "0.5"}
    local queries = {}
    for i = 1, 40 do
      queries[i] = "red shoes " .. i
    end
    local r = check(cli.run({"batch", "--queries", "--source", "google_search", "--param", "geo_location=Paris",
      "--param", "parse=true", "--json"}, {emu = emu, stdin = table.concat(queries, "\n") .. "\n"}), 1)
    local lines = json_lines(r.out)
    assert.equal(40, #lines)
    local count = {done = 0, faulted = 0}
    local seen = {}
    for _, l in ipairs(lines) do
      count[l.status] = count[l.status] + 1
      seen[l.query] = true
      local job = emu:job(l.id)
      assert.equal(l.query, job.query)
      assert.equal("google_search", job.source)
      assert.equal("Paris", job.geo_location)
      assert.equal(true, job.parse)
      if l.status == "faulted" then
        -- named on stderr with its query
        assert.matches("faulted " .. l.id .. " " .. l.query, r.err, 1, true)
      end
    end
    for i = 1, 40 do
      assert.is_true(seen[queries[i]])
    end
    assert.is_true(count.faulted > 0 and count.done > 0)
    assert.matches(("40 jobs in %%d+:%%d+: %d done, %d faulted"):format(count.done, count.faulted), r.err)
    emu:stop()
  end)

  it("receives callbacks on a listener with --callback: one results request per job, no polls", function()
    local emu = h.emulator{"--job-time", "0.5s"}
    local out = tmp .. "/callback-out"
    local started = os.time()
    local r = check(cli.run({"batch", "--callback", "--out", out, "--quiet"},
      {emu = emu, stdin = url_lines(site, 1, 20)}), 0)
    assert.equal("", r.err)
    -- the safety-net poll comes after 30 s: ending sooner means callbacks did it
    assert.is_true(os.time() - started < 25)
    local stats = emu:stats()
    assert.equal(20, stats.callbacks.sent)
    assert.equal(20, stats.requests["GET /v1/queries/{id}/results"])
    emu:stop()

    check(cli.run({"batch", "--listen", "127.0.0.1:0"}, {emu = emu, stdin = "x\n"}), 2)
  end)

  it("writes a plain progress line every --interval when stderr is not a terminal, and a summary", function()
    local emu = h.emulator{"--job-time", "uniform:0.5s:2s"}
    local r = check(cli.run({"batch", "--interval", "0.3"}, {emu = emu, stdin = url_lines(site, 1, 30)}), 0)
    local progress = 0
    for _, line in ipairs(cli.lines(r.err)) do
      if line:match("^pushpull: submitted 30 | pending %d+ | done %d+ | faulted 0 | [%d.-]+/s | ETA [%d:-]+ | %d+:%d%d$") then
        progress = progress + 1
      end
    end
    assert.is_true(progress >= 2, r.err)
    assert.matches("\npushpull: 30 jobs in %d+:%d%d: 30 done, 0 faulted\n$", r.err)
    -- nothing for a terminal: no carriage return, no escape sequence
    assert.is_nil(r.err:find("[\r\27]"))
    assert.equal("", r.out)

    -- --quiet: nothing at all
    r = check(cli.run({"batch", "--quiet", "--interval", "0.3"}, {emu = emu, stdin = url_lines(site, 1, 5)}), 0)
    assert.equal("", r.err)
    emu:stop()
  end)

  it("gives up at --timeout: exits 1, the jobs still out listed as pending", function()
    local emu = h.emulator{"--job-time", "30s"}
    local r = check(cli.run({"batch", "--timeout", "1", "--json"}, {emu = emu, stdin = url_lines(site, 1, 3)}), 1)
    local lines = json_lines(r.out)
    assert.equal(3, #lines)
    for _, l in ipairs(lines) do
      assert.equal("pending", l.status)
      assert.matches("/page/%d$", l.url)
    end
    assert.matches("3 jobs in 0:0%d: 0 done, 0 faulted, 3 still pending", r.err)
    emu:stop()
  end)

  it("exits 3 when the service refuses the credentials, with one message", function()
    local emu = h.emulator()
    local r = check(cli.run({"batch"}, {emu = emu, stdin = url_lines(site, 1, 50), credentials = false,
      env = {PUSHPULL_USERNAME = "user", PUSHPULL_PASSWORD = "nope"}}), 3)
    assert.matches("submitting: 401", r.err, 1, true)
    assert.equal(1, #cli.lines(r.err))
    -- an empty input is no work and no error
    r = check(cli.run({"batch"}, {emu = emu, stdin = "\n\n"}), 0)
    assert.matches("0 jobs", r.err, 1, true)
    check(cli.run({"batch", tmp .. "/no-such-file"}, {emu = emu}), 2)
    emu:stop()
  end)
end)
