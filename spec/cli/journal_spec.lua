-- pushpull batch --journal against a real emulator: the same command run
-- twice pays once, and a run killed with SIGKILL mid-batch is finished by
-- the next one -- every value created once, except answers the journal
-- reports as lost, and every result in --out.
local socket = require("socket")
local h = require("support.client")
local cli = require("support.cli")
local json = require("pushpull.json")
local process = require("support.process")
local workers = require("support.workers")
local files = require("support.files")

local check = cli.check


-- A file of the site's pages 1..n, a URL a line.
local function url_file(site, path, n)
  files.write(path, table.concat(h.page_urls(site, 0, n), "\n") .. "\n")
end

local function files_in(dir)
  return #files.names(dir, "%.json$")
end

-- Every journaled job with an id is done and its page is in dir/ID.json;
-- each URL 1..n is created once when accepted, at most once when its
-- answer was lost, never more. The numbers of accepted and lost values.
local function check_journal(emu, site, db, dir, n)
  local client = h.client(emu, {journal = db})
  local entries = assert(client:jobs())
  client:close()
  local accepted, lost = {}, {}
  for _, e in ipairs(entries) do
    local url = e.params.url
    if e.id then
      assert.is_nil(accepted[url], url .. " accepted twice")
      accepted[url] = e
    else
      assert.is_nil(lost[url], url .. " journaled twice")
      lost[url] = true
    end
  end
  local created = h.values(emu).url
  local n_accepted, n_lost = 0, 0
  for i = 1, n do
    local url = site:page_url(i)
    local e, count = accepted[url], created[url] or 0
    if e then
      n_accepted = n_accepted + 1
      assert.equal("done", e.status, url)
      local text = h.read_file(dir .. "/" .. e.id .. ".json")
      assert.is_string(text, "no result file for " .. url)
      assert.equal(i, h.page_number(json.decode(text).results[1].content), url)
      assert.equal(1, count, url .. " created " .. count .. " times")
    else
      assert.is_true(lost[url] or false, url .. " neither accepted nor reported lost")
      n_lost = n_lost + 1
      assert.is_true(count <= 1, url .. " created " .. count .. " times, its answer lost")
    end
  end
  return n_accepted, n_lost
end

describe("pushpull batch --journal", function()
  local site, tmp
  setup(function()
    site = h.site()
    tmp = h.tmpdir()
  end)
  teardown(function()
    site:stop()
    h.rmdir(tmp)
  end)

  it("run twice over the same lines, submits them once and keeps every file", function()
    local emu = h.emulator{"--job-time", "uniform:0s:0.3s"}
    local input, db, out = tmp .. "/urls50.txt", tmp .. "/twice.db", tmp .. "/twice"
    url_file(site, input, 50)
    local argv = {"batch", input, "--journal", db, "--out", out}
    local r = check(cli.run(argv, {emu = emu}), 0)
    assert.matches("50 jobs in %d+:%d+: 50 done, 0 faulted; 50 saved to .*; 0 taken up from the journal,"
      .. " 0 lines already in it", r.err)

    r = check(cli.run(argv, {emu = emu}), 0)
    assert.matches("0 jobs in %d+:%d+: 0 done, 0 faulted; 0 saved to .*; 0 taken up from the journal,"
      .. " 50 lines already in it", r.err)
    local stats = emu:stats()
    assert.equal(50, stats.jobs_created)
    assert.equal(0, stats.values_created_twice)
    assert.equal(50, files_in(out))
    local accepted, lost = check_journal(emu, site, db, out, 50)
    assert.equal(50, accepted)
    assert.equal(0, lost)
    emu:stop()
  end)

  -- Runs the batch of 300 URLs in the background, SIGKILLs it once
  -- ready(emu, db) says so, then runs the same command to its end. The
  -- second run's result, the numbers of accepted and lost values.
  local function kill_and_rerun(name, ready)
    local emu = h.emulator{"--job-time", "uniform:0.5s:2s"}
    local input, db, out = tmp .. "/" .. name .. ".txt", tmp .. "/" .. name .. ".db", tmp .. "/" .. name
    url_file(site, input, 300)
    local argv = {"batch", input, "--journal", db, "--out", out, "--chunk", "50"}

    local log = tmp .. "/" .. name .. ".log"
    local sh = assert(io.popen(("%s </dev/null >/dev/null 2>%s & echo $!"):format(
      cli.command(argv, {emu = emu, home = tmp}), cli.quote(log))))
    local pid = tonumber(sh:read("*a"))
    sh:close()
    local deadline = socket.gettime() + 30
    while not ready(emu, db) and socket.gettime() < deadline do
      socket.sleep(0.01)
    end
    os.execute("kill -KILL " .. pid)
    deadline = socket.gettime() + 10
    while process.alive(pid) and socket.gettime() < deadline do
      socket.sleep(0.02)
    end
    assert.is_false(process.alive(pid), "the command outlived SIGKILL")
    assert.is_true(ready(emu, db), "the first run did not submit: " .. tostring(h.read_file(log)))
    assert.is_true(files_in(out) < 300, "the first run ended before it was killed")

    -- the second run takes up what the first left and submits the rest
    local r = cli.run(argv, {emu = emu})
    local n_lost = tonumber(r.err:match("(%d+) submission%(s%) of the journal lost their answer")) or 0
    check(r, n_lost > 0 and 1 or 0)
    local resumed = tonumber(r.err:match("; (%d+) taken up from the journal"))
    assert.is_truthy(resumed, cli.describe(r))
    assert.is_true(resumed > 0, "nothing taken up: " .. cli.describe(r))

    local accepted, lost = check_journal(emu, site, db, out, 300)
    assert.equal(n_lost, lost)
    assert.equal(300, accepted + lost)
    assert.equal(accepted, files_in(out))
    emu:stop()
    return r, accepted, lost
  end

  it("killed with SIGKILL mid-submission, is finished by the same command run again", function()
    kill_and_rerun("mid", function(emu) return emu:stats().jobs_created >= 100 end)
  end)

  it("killed with SIGKILL once every submission was answered, loses nothing", function()
    local r, accepted = kill_and_rerun("answered", function(emu, db)
      local client = h.client(emu, {journal = db})
      local entries = client and client:jobs() or {}
      client:close()
      local answered = 0
      for _, e in ipairs(entries) do
        answered = answered + (e.id and 1 or 0)
      end
      return answered == 300
    end)
    check(r, 0)
    assert.equal(300, accepted)
  end)

  it("lists lost submissions in --json and counts them as lost", function()
    -- a journal whose only submission never got its answer, left by a
    -- process that ended: the service creates the job and drops the
    -- connection, so it is recorded without an id
    local emu = h.emulator{"--inject", "ambiguous=1:drop"}
    local db = tmp .. "/lost.db"
    local url = site:page_url(1)
    local w = workers.start("journal_worker.lua", {"submit", emu.url, site.url, db, tmp, "1"})
    assert.is_true(w:wait(30), "the submitting process did not end")
    assert.matches("answer was lost", w:output(), 1, true)
    w:cleanup()
    assert.equal(1, emu:stats().jobs_created)

    local r = check(cli.run({"batch", "-", "--journal", db, "--json"}, {emu = emu, stdin = url .. "\n"}), 1)
    assert.matches("pushpull: 1 submission(s) of the journal lost their answer", r.err, 1, true)
    local lines = cli.lines(r.out)
    assert.equal(1, #lines, cli.describe(r))
    assert.same({status = "unknown", url = url, lost = true}, json.decode(lines[1]))
    assert.matches("1 jobs in %d+:%d+: 0 done, 0 faulted, 1 lost; 0 taken up from the journal,"
      .. " 1 lines already in it", r.err)
    -- reported again by the next run, never sent
    check(cli.run({"batch", "-", "--journal", db, "--quiet"}, {emu = emu, stdin = url .. "\n"}), 1)
    assert.equal(1, emu:stats().jobs_created)
    emu:stop()
  end)
end)
