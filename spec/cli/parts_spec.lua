-- The parts of the pushpull command on their own: netrc files, job
-- parameters from words, the option parser, and the progress display (on a
-- clock and a stream of the spec's own).
require("support.env")
local credentials = require("pushpull.cli.credentials")
local params = require("pushpull.cli.params")
local args = require("pushpull.cli.args")
local progress = require("pushpull.cli.progress")

describe("pushpull command parts", function()
  it("credentials: the host of a base URL and its netrc entry", function()
    assert.equal("data.example.io", credentials.host("https://data.example.io"))
    assert.equal("127.0.0.1", credentials.host("http://127.0.0.1:8700/v1"))
    assert.equal("::1", credentials.host("http://[::1]:8700"))
    assert.equal("h", credentials.host("http://u:p@h:1/"))

    local text = [[
# a comment: machine h login comment password comment
machine other.example login a password b
macdef init
machine h login macro password macro

machine h
  login "with space" password "p w"
default login d password dp
]]
    assert.same({login = "with space", password = "p w"}, credentials.from_netrc(text, "h"))
    assert.same({login = "a", password = "b"}, credentials.from_netrc(text, "other.example"))
    assert.same({login = "d", password = "dp"}, credentials.from_netrc(text, "nowhere"))
    assert.is_nil(credentials.from_netrc("machine x login only\n", "x"))
  end)

  it("params: strings, booleans, JSON values; anything else is refused", function()
    local p = assert(params.from_words({"url=https://e.com/?a=b", "parse=true", "render=false", "pages:=2",
      "query:=\"12345\"", "context:=[{\"key\":\"k\",\"value\":1}]", "empty="}))
    assert.same({url = "https://e.com/?a=b", parse = true, render = false, pages = 2, query = "12345",
      context = {{key = "k", value = 1}}, empty = ""}, p)
    assert.equal("universal", assert(params.job({"url=x"})).source)
    assert.equal("amazon", assert(params.job({"url=x", "source=amazon"})).source)
    assert.is_nil((params.job({})))
    local ok, err = params.from_words({"pages:={"})
    assert.is_nil(ok)
    assert.matches("not JSON", err)
    ok, err = params.from_words({"/no/such/file.json"})
    assert.is_nil(ok)
    assert.matches("cannot read /no/such/file.json", err, 1, true)
  end)

  it("args: options anywhere, --name=value, repeatable ones, -- and -", function()
    local spec = {options = {{"out", arg = "DIR", help = ""}, {"quiet", help = ""},
      {"param", arg = "KV", multi = true, help = ""}}}
    local opts, pos = args.parse(spec, {"batch", "a", "--out", "d", "--param=x=1", "-", "--quiet",
      "--param", "y=2", "--", "--out"}, 2)
    assert.same({out = "d", quiet = true, param = {"x=1", "y=2"}}, opts)
    assert.same({"a", "-", "--out"}, pos)
    assert.same({nil, "unknown option --nope"}, {args.parse(spec, {"--nope"})})
    assert.same({nil, "--out needs a value (DIR)"}, {args.parse(spec, {"--out"})})
    assert.same({nil, "--quiet takes no value"}, {args.parse(spec, {"--quiet=1"})})
    local o = args.parse(spec, {"--base-url", "http://x"})
    assert.equal("http://x", o["base-url"])
    assert.same({nil, '--out wants a number >= 1, got "z"'}, {args.number({out = "z"}, "out", 1)})
  end)

  -- A progress display on a clock the spec moves and a stream it reads.
  local function fake(mode, total)
    local t = 0
    local written = {}
    local stream = {write = function(self, ...)
      for i = 1, select("#", ...) do
        written[#written + 1] = tostring(select(i, ...))
      end
      return self
    end, flush = function() end}
    local p = progress.new{mode = mode, total = total, interval = 5, stream = stream,
      now = function() return t end}
    return p, function(dt) t = t + dt end, function()
      local s = table.concat(written)
      for i = #written, 1, -1 do
        written[i] = nil
      end
      return s
    end
  end

  it("progress on a terminal: a line redrawn in place with rate and ETA, cleared at the end", function()
    local p, tick, taken = fake("tty", 100)
    p.width = 120
    p.saving = true
    p:update{submitted = 100}
    assert.equal("\r\27[Ksubmitted 100 | pending 100 | done 0 | faulted 0 | saved 0 | -/s | ETA - | 0:00", taken())
    tick(0.05)
    p:update{done = 1, saved = 1}
    assert.equal("", taken()) -- not redrawn more than ten times a second
    for _ = 1, 10 do
      tick(1)
      p:update{done = p.counts.done + 5, saved = p.counts.saved + 5}
    end
    local line = taken():match("\r\27%[K([^\r]*)$")
    assert.equal("submitted 100 | pending 49 | done 51 | faulted 0 | saved 51 | 5.1/s | ETA 0:10 | 0:10", line)
    -- a narrow terminal gets the line cut, never wrapped onto a second row
    p.width = 40
    tick(1)
    p:update(nil, true)
    assert.equal("submitted 100 | pending 49 | done 51 | ", taken():match("\r\27%[K([^\r]*)$"))
    p:message("pushpull: faulted 7 http://x")
    assert.matches("^\r\27%[Kpushpull: faulted 7 http://x\n\r\27%[Ksubmitted 100", taken())
    p:finish("pushpull: 100 jobs")
    assert.equal("\r\27[Kpushpull: 100 jobs\n", taken())
  end)

  it("progress elsewhere: a plain line every interval; quiet: nothing", function()
    local p, tick, taken = fake("plain", nil)
    p:update{submitted = 10}
    assert.equal("", taken()) -- the first line after one interval
    tick(2)
    p:update{done = 2}
    assert.equal("", taken())
    tick(3)
    p:update{done = 5, faulted = 1, lost = 1}
    assert.equal("pushpull: submitted 10 | pending 3 | done 5 | faulted 1 | lost 1 | 1.4/s | ETA - | 0:05\n", taken())
    p:finish("summary")
    assert.equal("summary\n", taken())

    local q, qtick, qtaken = fake("quiet", 10)
    q:update{submitted = 10}
    qtick(10)
    q:update{done = 10}
    q:message("x")
    q:finish("summary")
    assert.equal("", qtaken())
    assert.equal("1:01:01", progress.clock(3661))
  end)
end)
