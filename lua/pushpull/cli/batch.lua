-- pushpull batch: a job per line of a file or of stdin (URLs, or queries
-- with --queries), any number of lines. The input is read and submitted in
-- chunks as it comes, so a pipe starts working at its first lines and
-- memory stays flat: each job is let go of once it ended (its results
-- written to --out DIR by the client as they come). With --journal the
-- run picks up what an earlier one on that journal left (see journaled).
local exits = require("pushpull.cli.session")
local params = require("pushpull.cli.params")
local progress = require("pushpull.cli.progress")

local M = {}

M.specs = {
  batch = {
    usage = "pushpull batch [FILE|-] [--out DIR] [--queries] [--param KEY=VALUE]... [options]",
    summary = "Submits a job per line of FILE (or of stdin), waits until they all ended and\n"
      .. "saves their results to DIR/ID.json with --out. Progress goes to stderr: a live line\n"
      .. "on a terminal, a line every few seconds otherwise.",
    details = "With --journal FILE the batch is resumable: lines whose value the journal already\n"
      .. "holds are not submitted again, the jobs an earlier run left are taken up (and saved\n"
      .. "where that run said), and submissions whose answer was lost are reported, counted\n"
      .. "as lost and never sent again: run the same command again after a crash. The\n"
      .. "journal keeps every value it was given, however old.\n\n"
      .. "Exits 0 when every job ended done (and was saved with --out), 1 when one faulted,\n"
      .. "was lost or did not end before --timeout, 3 when the service could not be reached\n"
      .. "or refused the credentials.",
    options = {
      {"out", arg = "DIR", help = "write each job's results to DIR/ID.json as it ends"},
      {"queries", help = "the lines are queries, not URLs"},
      {"source", arg = "NAME", help = "the jobs' source (default universal)"},
      {"param", arg = "KEY=VALUE", multi = true,
        help = "a parameter of every job: KEY=VALUE, KEY:=JSON or @FILE.json (see pushpull submit --help)"},
      {"callback", help = "receive the service's callbacks on a listener of this process"},
      {"listen", arg = "HOST:PORT", help = "with --callback: where the listener binds (default 127.0.0.1:0)"},
      {"public-url", arg = "URL", help = "with --callback: the URL the service must post to"},
      {"journal", arg = "FILE", help = "record the batch in FILE (SQLite) and pick up where a run on FILE stopped"},
      {"timeout", arg = "SECONDS", help = "give up waiting after this long (default: no limit)"},
      {"chunk", arg = "N", help = "lines read and submitted at a time, at most (default 1000; the first chunks are smaller)"},
      {"json", help = "one JSON line per ended job on stdout: id, status, url or query, path, error"},
      {"quiet", help = "no progress and no summary"},
      {"interval", arg = "SECONDS", help = "seconds between progress lines when stderr is not a terminal (5)"},
    },
  },
}

local CHUNK = 1000

-- The lines of a regular file, counted ahead so that the progress has an
-- ETA (those whose value is in `skip` left out); nil for stdin and pipes
-- (counted as they come).
local function count_lines(path, skip)
  if not path or path == "-" then
    return nil
  end
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local n = 0
  for line in f:lines() do
    local value = line:match("^%s*(.-)%s*$")
    if value ~= "" and not skip[value] then
      n = n + 1
    end
  end
  f:close()
  return n
end

-- Up to n values of the input (trimmed, blank lines and the values of
-- `skip` left out); fewer at its end. Also how many were skipped.
local function read_chunk(input, n, skip)
  local list, skipped = {}, 0
  while #list < n do
    local line = input:read("*l")
    if line == nil then
      return list, true, skipped
    end
    local value = line:match("^%s*(.-)%s*$")
    if skip[value] then
      skipped = skipped + 1
    elseif value ~= "" then
      list[#list + 1] = value
    end
  end
  return list, false, skipped
end

local function is_loopback(host)
  return host == "127.0.0.1" or host == "::1" or host == "localhost" or host:match("^127%.") ~= nil
end

-- Starts the callback listener of --callback.
local function listen(session, client, opts)
  local host, port = "127.0.0.1", 0
  if opts.listen then
    host, port = opts.listen:match("^%[?([^%]]*)%]?:(%d+)$")
    if not host then
      session:usage("--listen wants HOST:PORT, got " .. opts.listen)
    end
    port = tonumber(port)
  end
  local l, err = client:listen{
    host = host,
    port = port,
    public_url = opts["public-url"],
    -- beyond loopback only the service may post
    allow = (not is_loopback(host)) and "callbacker_ips" or nil,
  }
  if not l then
    session:fail_with(err, "--callback")
  end
  return l
end

-- The state of one run: what was read, what is out, what ended.
local Run = {}
Run.__index = Run

function Run:ended(job)
  local c = self.counts
  local value = self.values[job]
  self.values[job] = nil
  local status = job.status
  local err
  if status == "done" then
    c.done = c.done + 1
    if job.results_path then
      c.saved = c.saved + 1
    end
  else
    if status == "faulted" then
      c.faulted = c.faulted + 1
    else
      c.lost = c.lost + 1
    end
    local e = job:error()
    err = e and tostring(e.message) or nil
    if not self.failing then
      self.progress:message(("pushpull: %s %s %s%s"):format(status, tostring(job.id or "-"), tostring(value),
        err and (": " .. err) or ""))
    end
  end
  if self.json then
    if self.stdout_tty then
      self.progress:clear()
    end
    self.session:json_line({id = job.id, status = status, [self.key] = value,
      path = job.results_path, error = err})
  end
  job:release()
  self.progress:update(c)
end

-- Takes the jobs of every batch out that ended by now, without waiting.
function Run:drain()
  local keep = {}
  for _, entry in ipairs(self.active) do
    for job in entry.batch:completed{timeout = 0} do
      entry.given = entry.given + 1
      self:ended(job)
    end
    if entry.given < entry.size then
      keep[#keep + 1] = entry
    end
  end
  self.active = keep
end

-- Waits up to `seconds` for jobs of the oldest batch to end, taking each
-- one as it does; then those of the other batches. Whether anything ended.
function Run:step(seconds)
  local entry = self.active[1]
  local before = entry.given
  for job in entry.batch:completed{timeout = seconds} do
    entry.given = entry.given + 1
    self:ended(job)
  end
  local any = entry.given > before
  local n = self.counts.done + self.counts.faulted + self.counts.lost
  self:drain()
  return any or (self.counts.done + self.counts.faulted + self.counts.lost) > n
end

-- Follows the jobs of a batch; value_of(i, job) names each one's value.
function Run:take(batch, value_of)
  for i, job in ipairs(batch.jobs) do
    self.values[job] = value_of(i, job)
  end
  self.active[#self.active + 1] = {batch = batch, size = #batch.jobs, given = 0}
end

-- Submits one chunk of values as a batch.
function Run:submit(values)
  local p = {}
  for k, v in pairs(self.params) do
    p[k] = v
  end
  p[self.key] = values
  local batch, err = self.client:submit_batch(p, {results_dir = self.out, callback = self.callback})
  local jobs_of = batch or (err and err.batch)
  self.counts.submitted = self.counts.submitted + #values
  if jobs_of then
    self:take(jobs_of, function(i) return values[i] end)
  end
  if not batch then
    -- a request the service could not be reached for, or refused the
    -- credentials of: one message for all, not one per job
    self.failing = exits.code_of(err) == exits.NETWORK
    self:drain()
    if self.failing then
      self.progress:finish()
      self.session:fail_with(err, "submitting")
    end
    self.progress:message("pushpull: a batch request failed: " .. tostring(err):gsub("^pushpull: ", ""))
  end
  self.progress:update(self.counts)
end

-- --journal: what an earlier run on the journal left. The values the
-- journal holds (never submitted again: a second run never pays twice),
-- the jobs not handed out yet (taken into the run like a submitted batch;
-- each keeps the results folder its submission recorded) and the
-- submissions whose answer was lost (they may exist at the service: counted
-- as lost, never sent again).
function Run:journaled()
  local fail = function(err) self.session:fail_with(err, "reading the journal") end
  local entries, err = self.client:jobs()
  if not entries then
    fail(err)
  end
  local recorded, value_of_id = {}, {}
  for _, e in ipairs(entries) do
    local value = e.params and e.params[self.key]
    if type(value) == "string" then
      recorded[value] = true
      if e.id then
        value_of_id[e.id] = value
      end
    end
  end
  local batch, lost = self.client:resume()
  if not batch then
    fail(lost)
  end
  -- both are out already: counted as submitted, so that the progress's
  -- pending and ETA hold
  self.counts.resumed = #batch.jobs
  self.counts.submitted = #batch.jobs + #lost
  if #batch.jobs > 0 then
    self:take(batch, function(_, job) return value_of_id[job.id] end)
  end
  if #lost > 0 then
    self.counts.lost = self.counts.lost + #lost
    self.progress:message(("pushpull: %d submission(s) of the journal lost their answer"
      .. " (they may exist at the service; not sent again)"):format(#lost))
    if self.json then
      for _, l in ipairs(lost) do
        self.session:json_line({status = "unknown", [self.key] = l.params and l.params[self.key], lost = true})
      end
    end
  end
  return recorded
end

local function summary(run, pending, seconds)
  local c = run.counts
  local s = ("pushpull: %d jobs in %s: %d done, %d faulted"):format(c.submitted, progress.clock(seconds),
    c.done, c.faulted)
  if c.lost > 0 then
    s = s .. (", %d lost"):format(c.lost)
  end
  if pending > 0 then
    s = s .. (", %d still pending"):format(pending)
  end
  if run.out then
    s = s .. ("; %d saved to %s"):format(c.saved, run.out)
  end
  if run.journal then
    s = s .. ("; %d taken up from the journal, %d lines already in it"):format(c.resumed, c.skipped)
  end
  return s
end

-- The jobs that did not end in time: reported, counted as pending.
function Run:leftovers()
  local n = 0
  for _, entry in ipairs(self.active) do
    for _, job in ipairs(entry.batch:pending()) do
      n = n + 1
      if self.json then
        self.session:json_line({id = job.id, status = job.status, [self.key] = self.values[job]})
      end
    end
  end
  return n
end

function M.run(session, opts, positionals)
  if #positionals > 1 then
    session:usage("give one input file (or - for stdin)")
  end
  local path = positionals[1]
  local chunk = session:number(opts, "chunk", CHUNK, 1)
  local timeout = session:number(opts, "timeout", nil, 0)
  local interval = session:number(opts, "interval", 5, 0.05)
  local shared, perr = params.from_words(opts.param)
  if not shared then
    session:usage(perr)
  end
  shared.source = opts.source or shared.source or "universal"
  if (opts.listen or opts["public-url"]) and not opts.callback then
    session:usage("--listen and --public-url go with --callback")
  end
  local input = io.stdin
  if path and path ~= "-" then
    local f, err = io.open(path, "rb")
    if not f then
      session:usage("cannot read " .. path .. ": " .. tostring(err))
    end
    input = f
  end
  if opts.out then
    session:mkdir(opts.out)
  end

  -- the journal keeps every value it saw: a line is never paid for twice
  -- however long after the first run the command runs again
  local client = session:client({poll = {fetch = opts.out ~= nil}, journal = opts.journal,
    retention = opts.journal and false or nil}, {journal = "journal"})
  if opts.callback then
    listen(session, client, opts)
  end
  local p = progress.new{mode = progress.mode(opts.quiet), interval = interval}
  p.saving = opts.out ~= nil
  session.cleanup = function() p:finish() end
  local run = setmetatable({
    session = session, client = client, progress = p, json = opts.json,
    key = opts.queries and "query" or "url", params = shared, out = opts.out,
    callback = opts.callback and true or nil, journal = opts.journal,
    -- JSON lines and the live line on one terminal: the line steps aside
    stdout_tty = opts.json and p.mode == "tty" and progress.is_tty(1),
    active = {}, values = {},
    counts = {submitted = 0, done = 0, faulted = 0, lost = 0, saved = 0, resumed = 0, skipped = 0},
  }, Run)
  local skip = opts.journal and run:journaled() or {}
  local lines = count_lines(path, skip)
  p.total = lines and (lines + run.counts.submitted)

  local deadline = timeout and (p.now() + timeout)
  local tick = p.mode == "tty" and 0.25 or math.min(interval, 1)
  -- the first chunks are small (1, 2, 4, ... lines) so that a slow pipe's
  -- first lines are at work at once; then --chunk lines a request
  local eof, size = false, 1
  while not eof do
    local values, skipped
    values, eof, skipped = read_chunk(input, math.min(size, chunk), skip)
    run.counts.skipped = run.counts.skipped + skipped
    size = size * 2
    if #values > 0 then
      run:submit(values)
      run:drain()
    end
  end
  if input ~= io.stdin then
    input:close()
  end
  p.total = run.counts.submitted

  local quiet_rounds = 0
  while #run.active > 0 do
    local left = deadline and (deadline - p.now())
    if left and left <= 0 then
      break
    end
    local t0 = p.now()
    local wait = left and math.min(tick, left) or tick
    if run:step(wait) then
      quiet_rounds = 0
    elseif p.now() - t0 < wait / 2 then
      -- back at once with nothing: the client has nothing in flight, so
      -- nothing can end these jobs any more
      quiet_rounds = quiet_rounds + 1
      if quiet_rounds >= 3 then
        break
      end
    end
    p:update(run.counts, p.mode == "tty")
  end
  local pending = run:leftovers()
  session.cleanup = nil
  p:finish(summary(run, pending, p:elapsed()))
  local c = run.counts
  if pending > 0 or c.faulted > 0 or c.lost > 0 or (run.out and c.saved < c.done) then
    return exits.SOME_FAILED
  end
  return exits.OK
end

return M
