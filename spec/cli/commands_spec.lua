-- The pushpull command's subcommands against a real emulator, run as a
-- separate process (support.cli): what they print and their exit codes
-- (0 all done, 1 some faulted or lost, 2 usage, 3 network or auth).
local h = require("support.client")
local cli = require("support.cli")
local json = require("pushpull.json")

local check = cli.check

describe("pushpull (the command)", function()
  local emu, site, tmp
  setup(function()
    emu = h.emulator{"--job-time", "0.2s"}
    site = h.site()
    tmp = h.tmpdir()
  end)
  teardown(function()
    emu:stop()
    site:stop()
    h.rmdir(tmp)
  end)

  local function run(argv, opts)
    opts = opts or {}
    opts.emu = opts.emu or emu
    return cli.run(argv, opts)
  end

  it("lists its commands, exits 2 without one, and has --help for each", function()
    local r = check(run({}), 2)
    assert.matches("usage: pushpull COMMAND", r.out, 1, true)
    assert.matches("exit codes: 0 all done", r.out, 1, true)
    for _, sub in ipairs{"submit", "batch", "status", "wait", "results", "ips", "emulator"} do
      r = check(run({sub, "--help"}), 0)
      assert.matches("usage: pushpull " .. sub, r.out, 1, true)
      assert.matches("--base-url URL", r.out, 1, true)
    end
    r = check(run({"schedules", "--help"}), 0)
    for _, action in ipairs{"create", "list", "show", "pause", "resume", "runs"} do
      assert.matches("  " .. action, r.out, 1, true)
      local a = check(run({"schedules", action, "--help"}), 0)
      assert.matches("usage: pushpull schedules " .. action, a.out, 1, true)
    end
    r = check(run({"frobnicate"}), 2)
    assert.matches('unknown command "frobnicate"', r.err, 1, true)
    r = check(run({"batch", "--frob"}), 2)
    assert.matches("unknown option --frob", r.err, 1, true)
    check(run({"schedules", "explode"}), 2)
    check(run({"status"}), 2)
  end)

  it("runs as an executable from the checkout (its #! line)", function()
    local p = assert(io.popen(("cd /tmp && PUSHPULL_BUILD_DIR=%s %s --help; echo \"exit=$?\"")
      :format(cli.quote(require("support.env").build_dir), cli.quote(cli.script))))
    local out = p:read("*a")
    p:close()
    assert.matches("usage: pushpull COMMAND", out, 1, true)
    assert.matches("exit=0", out, 1, true)
  end)

  it("submit prints the id, status reports it, wait waits for it, results prints and saves them", function()
    local r = check(run({"submit", "url=" .. site:page_url(4)}), 0)
    local id = r.out:match("^(%d+)\n$")
    assert.is_truthy(id, cli.describe(r))
    -- the emulator really has it, with the parameters given
    local job = emu:job(id)
    assert.equal(site:page_url(4), job.url)
    assert.equal("universal", job.source)

    r = check(run({"wait", id}), 0)
    assert.equal(id .. " done\n", r.out)
    -- ids from stdin with -
    r = check(run({"status", "-"}, {stdin = id .. "\n\n"}), 0)
    assert.equal(id .. " done\n", r.out)
    r = check(run({"status", id, "--json"}), 0)
    local info = json.decode(r.out)
    assert.equal(id, info.id)
    assert.equal("done", info.status)

    r = check(run({"results", id, "--type", "parsed"}), 0)
    local doc = json.decode(r.out)
    assert.equal(id, doc.id)
    assert.equal("Page 4", doc.results[1].content.title)

    local out = tmp .. "/results"
    r = check(run({"results", id, "--type", "raw", "--out", out}), 0)
    assert.equal(out .. "/" .. id .. ".json\n", r.out)
    local saved = json.decode(h.read_file(out .. "/" .. id .. ".json"))
    assert.equal(4, h.page_number(saved.results[1].content))

    r = check(run({"results", id, "--type", "png", "--out", out}), 0)
    assert.equal(out .. "/" .. id .. ".png\n", r.out)
    assert.equal("\137PNG\r\n\26\n", h.read_file(out .. "/" .. id .. ".png"):sub(1, 8))

    -- png without a folder is a usage error
    check(run({"results", id, "--type", "png"}), 2)
  end)

  it("submit takes typed parameters and a JSON file, waits with --wait, saves with --out", function()
    local file = tmp .. "/job.json"
    local f = assert(io.open(file, "w"))
    f:write(json.encode({url = site:page_url(6), geo_location = "Germany"}))
    f:close()
    local r = check(run({"submit", "@" .. file, "parse=true", "pages:=1", "--wait"}), 0)
    local id, status = r.out:match("^(%d+) (%a+)\n$")
    assert.equal("done", status, cli.describe(r))
    local job = emu:job(id)
    assert.equal(true, job.parse)
    assert.equal(1, job.pages)
    assert.equal("Germany", job.geo_location)

    local out = tmp .. "/submit-out"
    r = check(run({"submit", "url=" .. site:page_url(7), "--out", out}), 0)
    local path = r.out:match("^(%S+)\n$")
    assert.equal(7, h.page_number(json.decode(h.read_file(path)).results[1].content))

    check(run({"submit"}), 2)
    check(run({"submit", "url=x", "--timeout", "soon"}), 2)
  end)

  it("exits 1 when a job faulted or is not known, and says why", function()
    local faulty = h.emulator{"--fault-rate", "1"}
    local r = check(run({"submit", "url=" .. site:page_url(1), "--wait"}, {emu = faulty}), 1)
    local id = r.out:match("^(%d+) faulted\n$")
    assert.is_truthy(id, cli.describe(r))
    assert.matches("faulted", r.err)
    r = check(run({"status", id}, {emu = faulty}), 1)
    assert.equal(id .. " faulted\n", r.out)
    r = check(run({"wait", id, "--timeout", "5"}, {emu = faulty}), 1)
    faulty:stop()

    r = check(run({"status", "123456789"}), 1)
    assert.matches("123456789: .*404", r.err)
  end)

  it("wait exits 1 when jobs do not end in time", function()
    local slow = h.emulator{"--job-time", "30s"}
    local r = check(run({"submit", "url=" .. site:page_url(1)}, {emu = slow}), 0)
    local id = r.out:match("%d+")
    r = check(run({"wait", id, "--timeout", "0.5"}, {emu = slow}), 1)
    assert.equal(id .. " pending\n", r.out)
    slow:stop()
  end)

  it("exits 3 on wrong credentials, missing credentials and an unreachable service", function()
    local r = check(run({"ips"}, {env = {PUSHPULL_PASSWORD = "wrong"}, credentials = false}), 3)
    assert.matches("credentials", r.err) -- PUSHPULL_USERNAME is unset: none at all
    r = check(run({"ips"}, {credentials = false}), 3)
    assert.matches("no credentials for 127.0.0.1", r.err, 1, true)
    assert.matches("PUSHPULL_USERNAME", r.err, 1, true)
    r = check(run({"ips"}, {env = {PUSHPULL_USERNAME = "user", PUSHPULL_PASSWORD = "wrong"}, credentials = false}), 3)
    assert.matches("401", r.err, 1, true)
    -- the password never shows
    assert.is_nil(r.err:find("wrong", 1, true))

    -- a port where nothing listens, given before the command
    r = check(run({"--base-url", "http://127.0.0.1:1", "--retries", "0", "status", "1"}), 3)
    assert.matches("connect", r.err)
    r = check(run({"submit", "url=x", "--base-url=http://127.0.0.1:1", "--retries=0"}), 3)
  end)

  it("reads credentials from a netrc file for the host of the base URL", function()
    local home = h.tmpdir()
    local netrc = home .. "/.netrc"
    local f = assert(io.open(netrc, "w"))
    f:write("machine example.com login other password nope\n\n"
      .. "macdef init\nmachine 127.0.0.1 login bad password bad\n\n"
      .. "machine 127.0.0.1\n  login user\n  password pass1\n")
    f:close()
    local r = check(run({"ips"}, {credentials = false, home = home}), 0)
    assert.equal("127.0.0.1\n", r.out)
    -- $NETRC and --netrc name another file
    os.rename(netrc, home .. "/creds")
    check(run({"ips"}, {credentials = false, home = home}), 3)
    check(run({"ips"}, {credentials = false, home = home, env = {NETRC = home .. "/creds"}}), 0)
    check(run({"ips", "--netrc", home .. "/creds"}, {credentials = false, home = home}), 0)
    -- a default entry with the wrong password: the service says no
    f = assert(io.open(home .. "/wrong", "w"))
    f:write("default login user password nope\n")
    f:close()
    local wrong = check(run({"ips", "--netrc", home .. "/wrong"}, {credentials = false, home = home}), 3)
    assert.matches("401", wrong.err, 1, true)
    h.rmdir(home)
  end)

  it("ips prints the callbacker addresses", function()
    local e = h.emulator{"--callbacker-ip", "10.1.2.3", "--callbacker-ip", "10.1.2.4"}
    local r = check(run({"ips"}, {emu = e}), 0)
    assert.equal("10.1.2.3\n10.1.2.4\n", r.out)
    r = check(run({"ips", "--json"}, {emu = e}), 0)
    assert.same({"10.1.2.3", "10.1.2.4"}, json.decode(r.out))
    e:stop()
  end)

  it("schedules: create, list, show, pause, resume, runs", function()
    local r = check(run({"schedules", "create", "--cron", "0 3 * * *", "--end-time", "2099-01-01 00:00:00",
      "url=" .. site:page_url(2)}), 0)
    local id = r.out:match("^(%d+)\n$")
    assert.is_truthy(id, cli.describe(r))
    r = check(run({"schedules", "list"}), 0)
    assert.matches("^" .. id .. "\n", r.out)
    r = check(run({"schedules", "show", id}), 0)
    local s = json.decode(r.out)
    assert.equal("0 3 * * *", s.cron)
    assert.equal(true, s.active)
    assert.equal(site:page_url(2), s.items[1].url)
    check(run({"schedules", "pause", id}), 0)
    assert.equal(false, json.decode(check(run({"schedules", "show", id}), 0).out).active)
    check(run({"schedules", "resume", id}), 0)
    assert.equal(true, json.decode(check(run({"schedules", "show", id}), 0).out).active)

    -- a run, made now by the emulator, then listed
    assert(emu:request{method = "POST", path = "/_emulator/schedules/" .. id .. "/tick"})
    r = check(run({"schedules", "runs", id}), 0)
    local runs = json.decode(r.out).runs
    assert.equal(1, #runs)
    assert.equal(1, #runs[1].jobs)

    -- items from a file
    local file = tmp .. "/items.json"
    local f = assert(io.open(file, "w"))
    f:write(json.encode({{source = "universal", url = site:page_url(1)}, {source = "universal", url = site:page_url(2)}}))
    f:close()
    r = check(run({"schedules", "create", "--cron", "0 4 * * *", "--items", file, "--json",
      "--end-time", "2099-01-01 00:00:00"}), 0)
    assert.equal(2, json.decode(r.out).items_count)

    check(run({"schedules", "create", "url=x", "--end-time", "2099-01-01 00:00:00"}), 2) -- no --cron
    r = check(run({"schedules", "show", "999999999"}), 1)
    assert.matches("404", r.err, 1, true)
  end)

  it("emulator starts the bundled emulator with the flags given", function()
    local r = check(run({"emulator", "--help"}), 0)
    assert.matches("usage: pushpull emulator", r.out, 1, true)
    r = check(run({"emulator", "--", "--help"}), 0)
    assert.matches("pushpull-emulator", r.out, 1, true)
    assert.matches("--job-time", r.out, 1, true)
    check(run({"emulator", "--no-such-flag"}), 2)

    -- started in the background, it serves a submission of the command
    local process = require("support.process")
    local p = process.start(require("support.env").lua_name,
      {cli.script, "emulator", "--port", "0", "--user", "someone:secret"})
    local children = h.read_file(("/proc/%d/task/%d/children"):format(p.pid, p.pid)) or ""
    local child = tonumber(children:match("%d+"))
    assert.is_truthy(child, "the emulator runs as a child of the command")
    local r2 = check(cli.run({"submit", "url=" .. site:page_url(3), "--wait"},
      {env = {PUSHPULL_BASE_URL = p.url, PUSHPULL_USERNAME = "someone", PUSHPULL_PASSWORD = "secret"}}), 0)
    assert.matches("^%d+ done\n$", r2.out)
    -- stopping the command stops the emulator
    p:stop()
    local socket = require("socket")
    local deadline = socket.gettime() + 5
    while process.alive(child) and socket.gettime() < deadline do
      socket.sleep(0.05)
    end
    local gone = not process.alive(child)
    if not gone then
      os.execute("kill -KILL " .. child)
    end
    assert.is_true(gone, "the emulator outlived the command")

    -- a missing emulator is named
    r = check(run({"emulator"}, {env = {PUSHPULL_EMULATOR = "/nonexistent/emu"}}), 2)
    assert.matches("PUSHPULL_EMULATOR names no executable file: /nonexistent/emu", r.err, 1, true)
  end)

  it("batch --journal records the batch in that file", function()
    local db = tmp .. "/j"
    check(run({"batch", "--journal", db, "--quiet"}, {stdin = site:page_url(1) .. "\n"}), 0)
    assert.is_truthy(h.read_file(db), "no journal at " .. db)
  end)
end)
