-- What a person sees: pushpull batch run in a real terminal (a tmux pane of
-- 120 x 30), read with `tmux capture-pane` while it runs and once it ended.
-- tmux comes with the test set-up (scripts/deps.sh); without it this spec
-- fails, it does not skip.
local h = require("support.client")
local cli = require("support.cli")
local socket = require("socket")

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

local LIVE = "submitted %d+ | pending %d+ | done %d+ | faulted %d+ | saved %d+ | [%d.-]+/s | ETA [%d:-]+ | %d+:%d%d"

describe("pushpull batch in a terminal", function()
  local server = "pushpull-spec-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
  local tmux = "tmux -L " .. server
  local emu, site, tmp

  setup(function()
    assert(sh("command -v tmux"):match("tmux"), "tmux is missing: scripts/deps.sh installs it")
    emu = h.emulator{"--job-time", "uniform:0.5s:3s"}
    site = h.site()
    tmp = h.tmpdir()
  end)
  teardown(function()
    sh(tmux .. " kill-server")
    emu:stop()
    site:stop()
    h.rmdir(tmp)
  end)

  -- The lines of the pane now (with `history`, those scrolled off too),
  -- trailing blank lines dropped.
  local function screen(history)
    local lines = cli.lines(sh(tmux .. " capture-pane -p -t cli" .. (history and " -S -" or "")))
    while #lines > 0 and not lines[#lines]:find("%S") do
      lines[#lines] = nil
    end
    return lines
  end

  -- Starts `pushpull batch FILE extra...` on the pages 1..n in a new pane
  -- of 120 x 30; a line EXIT=code follows its end.
  local function start(n, extra)
    sh(tmux .. " kill-session -t cli")
    local urls = {}
    for i = 1, n do
      urls[i] = site:page_url(i)
    end
    local input = tmp .. "/urls.txt"
    local f = assert(io.open(input, "w"))
    f:write(table.concat(urls, "\n"), "\n")
    f:close()
    local argv = {"batch", input}
    for _, a in ipairs(extra) do
      argv[#argv + 1] = a
    end
    local command = ("cd %s && %s; echo \"EXIT=$?\"; sleep 60"):format(cli.quote(tmp),
      cli.command(argv, {emu = emu, home = tmp}))
    assert.equal("", sh(("%s new-session -d -s cli -x 120 -y 30 %s"):format(tmux, cli.quote(command))))
  end

  -- The pane's lines once EXIT= shows, with its history (60 s at most).
  local function ended()
    local deadline = socket.gettime() + 60
    while socket.gettime() < deadline do
      local lines = screen(true)
      if table.concat(lines, "\n"):find("EXIT=%d+") then
        return lines
      end
      socket.sleep(0.2)
    end
    error("the run did not end within 60 s")
  end

  it("shows one live line, redrawn in place, then a clean summary", function()
    local out = tmp .. "/out"
    start(200, {"--out", out})

    -- while it runs: every look at the pane shows at most one progress line
    local live_seen, counts = 0, {}
    local final
    local deadline = socket.gettime() + 60
    while socket.gettime() < deadline do
      local lines = screen()
      local text = table.concat(lines, "\n")
      if text:find("EXIT=%d+") then
        final = lines
        break
      end
      local live = 0
      for _, line in ipairs(lines) do
        if line:find(LIVE) then
          live = live + 1
          assert.is_true(#line < 120, "the live line fits the terminal: " .. line)
          counts[#counts + 1] = tonumber(line:match("done (%d+)"))
        end
      end
      assert.is_true(live <= 1, "one live line, redrawn in place:\n" .. text)
      live_seen = live_seen + live
      socket.sleep(0.15)
    end
    assert.is_truthy(final, "the run did not end within 60 s")
    assert.is_true(live_seen >= 3, "the live line was seen " .. live_seen .. " times")
    -- it moved while it was watched
    assert.is_true(counts[#counts] > counts[1], table.concat(counts, " "))

    -- at the end: the summary and the exit code, and no progress line left
    local text = table.concat(final, "\n")
    assert.is_nil(text:find("pending", 1, true), text)
    assert.is_nil(text:find("ETA", 1, true), text)
    assert.equal("EXIT=0", final[#final])
    assert.matches("^pushpull: 200 jobs in %d+:%d%d: 200 done, 0 faulted; 200 saved to " .. out:gsub("%p", "%%%0") .. "$",
      final[#final - 1])
    -- nothing else was written: the summary is the first line of the pane
    assert.equal(2, #final, text)
  end)

  it("keeps --json lines whole when stdout is the same terminal", function()
    start(50, {"--json"})
    local lines = ended()
    local json = require("pushpull.json")
    local records = 0
    for i = 1, #lines - 2 do
      local doc = json.decode(lines[i])
      assert.is_table(doc, "not a JSON line: " .. lines[i])
      assert.equal("done", doc.status)
      records = records + 1
    end
    assert.equal(50, records)
    assert.matches("^pushpull: 50 jobs in %d+:%d%d: 50 done, 0 faulted$", lines[#lines - 1])
    assert.equal("EXIT=0", lines[#lines])
  end)
end)
