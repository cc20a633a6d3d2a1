-- Progress of long work on stderr, for a person:
--   "tty"    one live line, redrawn in place (\r, clear line) and cleared at the end
--   "plain"  a line every `interval` seconds (logs, CI, pipes)
--   "quiet"  nothing
--
--   local p = progress.new{mode = progress.mode(quiet), total = n}
--   p:update{submitted = s, done = d, faulted = f, lost = l, saved = v}
--   p:message("job 123 faulted")   -- a line of its own; the live line comes back under it
--   p:finish("3000 done in 12s")   -- clears the live line, writes the summary
local pushpull = require("pushpull")

local M = {}

local CLEAR = "\r\27[K"
local REDRAW_EVERY = 0.1 -- seconds between redraws of the live line
local RATE_WINDOW = 10 -- seconds of history the rate is measured over

-- Whether fd (2: stderr) is a terminal, asked of test(1): Lua has no isatty.
function M.is_tty(fd)
  local ok, how, code = os.execute("test -t " .. (fd or 2))
  if type(ok) == "number" then -- Lua 5.1 / LuaJIT: the status
    return ok == 0
  end
  return ok == true and how == "exit" and code == 0
end

-- The display mode for these flags and this stderr.
function M.mode(quiet)
  if quiet then
    return "quiet"
  end
  return M.is_tty(2) and "tty" or "plain"
end

-- Columns of the terminal (COLUMNS, else stty on stderr), 80 when unknown.
local function columns()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n > 0 then
    return n
  end
  local p = io.popen("stty size <&2 2>/dev/null")
  local out = p and p:read("*a") or ""
  if p then
    p:close()
  end
  return tonumber(out:match("%d+%s+(%d+)")) or 80
end

local function clock(seconds)
  seconds = math.floor(seconds + 0.5)
  local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then
    return ("%d:%02d:%02d"):format(h, m, s)
  end
  return ("%d:%02d"):format(m, s)
end
M.clock = clock

local Progress = {}
Progress.__index = Progress

-- opts: mode, total (jobs expected, nil while unknown), interval (seconds
-- between plain lines, 5), stream (io.stderr), now (a clock).
function M.new(opts)
  local now = opts.now or pushpull.now
  local self = setmetatable({
    mode = opts.mode or "plain",
    total = opts.total,
    interval = opts.interval or 5,
    stream = opts.stream or io.stderr,
    now = now,
    started = now(),
    last_draw = nil,
    shown = false, -- a live line is on the screen
    samples = {},
    counts = {submitted = 0, done = 0, faulted = 0, lost = 0, saved = 0},
  }, Progress)
  if self.mode == "tty" then
    self.width = columns()
  end
  return self
end

local function finished(c)
  return c.done + c.faulted + c.lost
end

-- Jobs ended per second over the last RATE_WINDOW seconds.
function Progress:rate(t)
  local samples = self.samples
  local n = finished(self.counts)
  if #samples == 0 or t - samples[#samples][1] >= 0.5 then
    samples[#samples + 1] = {t, n}
  end
  while #samples > 2 and t - samples[2][1] > RATE_WINDOW do
    table.remove(samples, 1)
  end
  local first = samples[1]
  local span = t - first[1]
  if span < 0.5 then
    span = t - self.started
    if span < 0.5 then
      return nil
    end
    return n / span
  end
  return (n - first[2]) / span
end

-- The words of the progress line.
function Progress:line(t)
  local c = self.counts
  local parts = {
    ("submitted %d"):format(c.submitted),
    ("pending %d"):format(c.submitted - finished(c)),
    ("done %d"):format(c.done),
    ("faulted %d"):format(c.faulted),
  }
  if c.lost > 0 then
    parts[#parts + 1] = ("lost %d"):format(c.lost)
  end
  if self.saving then
    parts[#parts + 1] = ("saved %d"):format(c.saved)
  end
  local rate = self:rate(t)
  parts[#parts + 1] = rate and ("%.1f/s"):format(rate) or "-/s"
  local left = self.total and (self.total - finished(c))
  if left and rate and rate > 0 then
    parts[#parts + 1] = "ETA " .. clock(left / rate)
  elseif left == 0 then
    parts[#parts + 1] = "ETA 0:00"
  else
    parts[#parts + 1] = "ETA -"
  end
  parts[#parts + 1] = clock(t - self.started)
  return table.concat(parts, " | ")
end

-- New counts (any of submitted, done, faulted, lost, saved); draws when it is time.
function Progress:update(counts, force)
  for k, v in pairs(counts or {}) do
    self.counts[k] = v
  end
  if self.mode == "quiet" then
    return
  end
  local t = self.now()
  local every = self.mode == "tty" and REDRAW_EVERY or self.interval
  if not force and self.last_draw and t - self.last_draw < every then
    return
  end
  if self.mode == "plain" and not self.last_draw and not force then
    -- the first plain line after one interval, not at once
    self.last_draw = t
    return
  end
  self.last_draw = t
  local line = self:line(t)
  if self.mode == "tty" then
    if #line >= self.width then
      line = line:sub(1, self.width - 1)
    end
    self.stream:write(CLEAR, line)
    self.shown = true
  else
    self.stream:write("pushpull: ", line, "\n")
  end
  self.stream:flush()
end

-- Takes the live line off the screen until the next update (before
-- something is written to a stdout that is the same terminal).
function Progress:clear()
  if self.shown then
    self.stream:write(CLEAR)
    self.stream:flush()
    self.shown = false
    self.last_draw = nil
  end
end

-- A line of its own (a job that failed, a warning), above the live line.
function Progress:message(text)
  if self.mode == "quiet" then
    return
  end
  self:clear()
  self.stream:write(text, "\n")
  self.stream:flush()
  if self.mode == "tty" then
    self:update(nil, true)
  end
end

-- Clears the live line and writes the summary (not in quiet mode).
function Progress:finish(summary)
  self:clear()
  if self.mode ~= "quiet" and summary then
    self.stream:write(summary, "\n")
    self.stream:flush()
  end
end

-- Seconds since the progress began.
function Progress:elapsed()
  return self.now() - self.started
end

return M
