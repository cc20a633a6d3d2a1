-- A journal on Redis over TLS (pushpull.new{journal = "rediss://...",
-- redis_tls = {...}}) against redis-servers that speak only TLS, with
-- certificates made by openssl for the run: the whole workflow through
-- it, the server's certificate checked (its CA, its host), insecure, a
-- client certificate for a server that requires one, settings it cannot
-- use, and a TLS server killed and restarted mid-run.
local h = require("support.client")
local redis = require("support.redis")
local pushpull = require("pushpull")
local socket = require("socket")

describe("a journal on Redis over TLS", function()
  local ctx = h.context{args = {"--job-time", "uniform:50ms:300ms"}}
  local server, stranger, strict

  setup(function()
    server = redis.start{tls = true, persist = true}
    -- a certificate for another host, signed by the same CA
    stranger = redis.start{tls = true, cert = "stranger", certs = server.certs}
    strict = redis.start{tls = "clients", certs = server.certs}
  end)
  teardown(function()
    strict:stop()
    stranger:stop()
    server:stop()
  end)

  local function trusting(extra)
    local t = {ca = server:file("ca.crt")}
    for k, v in pairs(extra or {}) do
      t[k] = v
    end
    return t
  end

  -- pushpull.new's nil, err, and how long it took to say so.
  local function refused(journal, tls)
    local t0 = socket.gettime()
    local c, err = pushpull.new(h.options(ctx.emu, {journal = journal, redis_tls = tls}))
    assert.is_nil(c)
    return tostring(err), socket.gettime() - t0
  end

  local function collect(c, tag)
    local ids = {}
    for job in c:completed{tag = tag, timeout = 30} do
      assert.equal("done", job.status)
      ids[#ids + 1] = job.id
    end
    return ids
  end

  it("submits, records and hands each job out once through completed{tag}", function()
    local c = h.client(ctx.emu, {journal = server.url, redis_tls = trusting()})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 0, 12)}, {tag = "tls1"}))
    local ids = collect(c, "tls1")
    assert.equal(12, #ids)
    local all = assert(c:jobs{tag = "tls1"})
    assert.equal(12, #all)
    for _, e in ipairs(all) do
      assert.is_true(e.handed)
    end
    c:close()
    -- the host by name: the certificate names localhost too
    local by_name = h.client(ctx.emu, {journal = "rediss://localhost:" .. server.port, redis_tls = trusting()})
    assert.equal(0, assert(by_name:resume{tag = "tls1"}):size())
    by_name:close()
  end)

  it("refuses a server whose certificate another CA signed, at once and naming verification", function()
    local err, took = refused(server.url, {ca = server:file("other-ca.crt")})
    assert.matches("certificate failed verification", err)
    assert.is_true(took < 5, "took " .. took .. " s")
    -- without a CA file: the system's store, which does not know the test CA
    assert.matches("certificate failed verification", (refused(server.url, nil)))
  end)

  it("refuses a certificate made for another host", function()
    local err = refused("rediss://localhost:" .. stranger.port, trusting())
    assert.matches("certificate failed verification: hostname mismatch", err)
    err = refused(stranger.url, trusting())
    assert.matches("IP address mismatch", err)
  end)

  it("takes any certificate when insecure", function()
    local c = h.client(ctx.emu, {journal = "rediss://localhost:" .. stranger.port, redis_tls = {insecure = true}})
    assert(c:submit({source = "universal", url = ctx.site:page_url(40)}, {tag = "insecure"}))
    assert.same({}, assert(c:jobs{tag = "nothing"}))
    c:close()
  end)

  it("shows its client certificate to a server that requires one", function()
    local c = h.client(ctx.emu, {journal = strict.url,
      redis_tls = trusting{cert = server:file("client.crt"), key = server:file("client.key")}})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 100, 3)}, {tag = "mtls"}))
    assert.equal(3, #collect(c, "mtls"))
    c:close()
    local err, took = refused(strict.url, trusting())
    assert.matches("requires a client certificate", err)
    assert.is_true(took < 5, "took " .. took .. " s")
    err = refused(strict.url, trusting{cert = server:file("intruder.crt"), key = server:file("intruder.key")})
    assert.matches("refused this client's certificate", err)
  end)

  it("raises for TLS options it cannot use, naming them", function()
    local function raises(tls, journal, message)
      assert.has_error(function()
        pushpull.new(h.options(ctx.emu, {journal = journal or server.url, redis_tls = tls}))
      end, message)
    end
    raises({cafile = "x"}, nil,
      "pushpull: pushpull.new: options.redis_tls.cafile is not an option (options are ca, cert, insecure, key)")
    raises({cert = server:file("client.crt")}, nil,
      "pushpull: pushpull.new: options.redis_tls needs cert and key together (a client certificate and its key)")
    raises({insecure = "yes"}, nil,
      "pushpull: pushpull.new: options.redis_tls.insecure must be boolean or nil, got string")
    raises({ca = ""}, nil, "pushpull: pushpull.new: options.redis_tls.ca must name a file")
    raises({insecure = true}, "redis://127.0.0.1:1", "pushpull: pushpull.new: options.redis_tls needs a rediss:// journal")
    raises("yes", nil, "pushpull: pushpull.new: options.redis_tls must be table or nil, got string")
  end)

  it("returns nil, err for files it cannot use", function()
    assert.matches("cannot read the CA file /nonexistent/ca.pem: No such file or directory",
      (refused(server.url, {ca = "/nonexistent/ca.pem"})))
    assert.matches("cannot read the key", (refused(server.url,
      trusting{cert = server:file("client.crt"), key = "/nonexistent/client.key"})))
    assert.matches("is not the certificate's", (refused(server.url,
      trusting{cert = server:file("client.crt"), key = server:file("server.key")})))
  end)

  it("survives the TLS server killed and restarted mid-run", function()
    local c = h.client(ctx.emu, {journal = server.url, redis_tls = trusting()})
    assert(c:submit_batch({source = "universal", url = h.page_urls(ctx.site, 200, 20)}, {tag = "restart"}))
    server:kill()
    socket.sleep(0.3)
    server:restart()
    local ids = collect(c, "restart")
    assert.equal(20, #ids)
    local seen = {}
    for _, id in ipairs(ids) do
      assert.is_nil(seen[id], id .. " handed twice")
      seen[id] = true
    end
    c:close()
  end)
end)
