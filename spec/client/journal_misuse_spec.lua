-- A journal that cannot be trusted or used is refused by pushpull.new with
-- a message that says why -- never a crash, never a resume that silently
-- finds nothing.
local h = require("support.client")
local pushpull = require("pushpull")

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local write = require("support.files").write

local function size(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

describe("a journal pushpull.new refuses", function()
  local ctx = h.context{}
  local dir, db

  -- A journal holding the jobs of a finished 200-job batch, closed.
  local function journal_with_jobs()
    local client = h.client(ctx.emu, {journal = db})
    local batch = assert(client:submit_batch{source = "universal", url = h.page_urls(ctx.site, 0, 200)})
    assert(batch:wait{timeout = 30})
    client:close()
  end

  local function refused(pattern, extra)
    local opts = h.options(ctx.emu, {journal = db})
    for k, v in pairs(extra or {}) do
      opts[k] = v
    end
    local client, err = pushpull.new(opts)
    assert.is_nil(client)
    assert.is_true(pushpull.is_error(err))
    assert.matches(pattern, err.message)
    assert.matches(db, err.message, 1, true) -- names the file
    return err
  end

  before_each(function()
    dir = h.tmpdir()
    db = dir .. "/jobs.db"
  end)
  after_each(function()
    sh("chattr -i '" .. dir .. "' 2>/dev/null; chmod 755 '" .. dir .. "'")
    h.rmdir(dir)
  end)

  it("written by a newer version", function()
    journal_with_jobs()
    assert.is_true(sh("sqlite3 '" .. db .. "' 'PRAGMA user_version = 99'"))
    refused("newer pushpull %(schema 99")
  end)

  it("truncated", function()
    journal_with_jobs()
    local n = size(db)
    assert.is_true(n > 16384)
    assert.is_true(sh("truncate -s " .. math.floor(n / 2) .. " '" .. db .. "'"))
    refused("damaged")
  end)

  it("cut to nothing", function()
    write(db, "")
    refused("empty file")
  end)

  it("not a database at all", function()
    write(db, ("not a journal\n"):rep(1000))
    refused("damaged or not a journal")
  end)

  it("damaged inside", function()
    journal_with_jobs()
    -- scribble over the b-tree headers of pages 2 to 5
    local f = assert(io.open(db, "r+b"))
    for page = 2, 5 do
      f:seek("set", (page - 1) * 4096)
      f:write(("\255"):rep(12))
    end
    f:close()
    refused("damaged")
  end)

  it("an SQLite file of something else", function()
    assert.is_true(sh("sqlite3 '" .. db .. "' 'CREATE TABLE notes(x)'"))
    refused("not a pushpull journal")
  end)

  it("another account's, or another service's", function()
    journal_with_jobs()
    local err = refused("another account", {username = "someone-else"})
    assert.is_nil(err.message:find(h.options(ctx.emu).password, 1, true))
    refused("another account", {base_url = "http://127.0.0.1:1"})
    -- the password is not part of it: a changed password is the same account
    local client = assert(pushpull.new(h.options(ctx.emu, {journal = db, password = "rotated"})))
    client:close()
    -- and it was never stored
    local p = io.popen("sqlite3 '" .. db .. "' 'SELECT k, v FROM meta'")
    local meta = p:read("*a")
    p:close()
    assert.is_nil(meta:find(h.options(ctx.emu).password, 1, true))
    assert.is_nil(meta:find("user", 1, true))
  end)

  it("in a folder it cannot write", function()
    -- root writes through permissions: an immutable folder stops it too
    assert.is_true(sh("chmod 555 '" .. dir .. "' && (chattr +i '" .. dir .. "' 2>/dev/null || true)"))
    if sh("touch '" .. dir .. "/probe' 2>/dev/null") then
      pending("this filesystem lets this user write into a read-only folder")
      return
    end
    refused("cannot")
  end)

  it("an existing journal whose folder became read-only", function()
    journal_with_jobs()
    assert.is_true(sh("chmod 555 '" .. dir .. "' && (chattr +i '" .. dir .. "' 2>/dev/null || true)"))
    if sh("touch '" .. dir .. "/probe' 2>/dev/null") then
      pending("this filesystem lets this user write into a read-only folder")
      return
    end
    refused("read%-only")
  end)
end)
