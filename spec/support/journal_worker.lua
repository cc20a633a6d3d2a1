-- A process of the journal specs (started by support.workers).
--
--   journal_worker.lua share EMU SITE DB DIR FROM N
--       submits N pages (FROM+1 ..) tagged "w<FROM>", then resumes the
--       whole journal and takes every job completed() hands it, printing
--       "got <id>" for each
--   journal_worker.lua workflow EMU SITE DB DIR N
--       the kill test's workflow: the first run submits pages 1..N to DIR;
--       every run resumes, submits again what provably never left,
--       dismisses the other lost submissions, and takes every job,
--       printing "got <id> <status>"; "finished" at the end
--   journal_worker.lua hold EMU SITE DB DIR N
--       submits pages 1..N and stays inside the loop body of the first job
--       completed() gives, printing "inside <id>", until it is killed
--   journal_worker.lua submit EMU SITE DB DIR N
--       submits pages 1..N once and ends without waiting: against an
--       emulator that drops the answers, a journal of lost submissions
local pushpull = require("pushpull")
local socket = require("socket")

local mode, emu_url, site_url, db, dir = arg[1], arg[2], arg[3], arg[4], arg[5]

local function say(...)
  io.stdout:write(table.concat({...}, " "), "\n")
  io.stdout:flush()
end

local function client()
  return assert(pushpull.new{
    username = "user",
    password = "pass1",
    base_url = emu_url,
    journal = db,
    batch_size = 50,
    timeout = 5,
    retry_base = 0.02,
    retry_max = 0.2,
    poll = {first = 0.05, min = 0.05, max = 0.3, factor = 1.5},
  })
end

local function pages(from, n)
  local urls = {}
  for i = 1, n do
    urls[i] = site_url .. "/page/" .. (from + i)
  end
  return urls
end

local function take(batch)
  for job in batch:completed{timeout = 120} do
    say("got", job.id or "-", job.status)
  end
  local left = batch:pending()
  if #left > 0 then
    error(#left .. " jobs still pending after 120 s")
  end
end

if mode == "share" then
  local from, n = tonumber(arg[6]), tonumber(arg[7])
  local c = client()
  assert(c:submit_batch({source = "universal", url = pages(from, n)},
    {results_dir = dir, tag = "w" .. from}))
  local batch = assert(c:resume())
  take(batch)
  c:close()
  say("finished")
elseif mode == "workflow" then
  local n = tonumber(arg[6])
  local c = client()
  if #assert(c:jobs()) == 0 then
    -- the first run; a crash before this submission was recorded leaves
    -- an empty journal, and the next run starts over, as nothing was sent
    local _, err = c:submit_batch({source = "universal", url = pages(0, n)},
      {results_dir = dir, tag = "work"})
    if err and not err.batch then
      error(tostring(err))
    end
  end
  local batch, lost = assert(c:resume())
  local again, gone = {}, {}
  for _, l in ipairs(lost) do
    if l.sent then
      gone[#gone + 1] = l -- may exist: this workflow does not pay twice
    else
      again[#again + 1] = l -- provably never left: safe to send
    end
  end
  if #gone > 0 then
    assert(c:dismiss(gone))
    say("dismissed", #gone)
  end
  if #again > 0 then
    assert(c:resubmit(again, {results_dir = dir}))
    say("again", #again)
    batch = assert(c:resume()) -- the resubmitted jobs too
  end
  take(batch)
  c:close()
  say("finished")
elseif mode == "hold" then
  local c = client()
  local batch = assert(c:submit_batch({source = "universal", url = pages(0, tonumber(arg[6]))},
    {results_dir = dir}))
  for job in batch:completed{timeout = 60} do
    say("inside", job.id)
    while true do
      socket.sleep(1) -- a loop body that never ends
    end
  end
  error("no job completed within 60 s")
elseif mode == "submit" then
  local c = client()
  local _, err = c:submit_batch({source = "universal", url = pages(0, tonumber(arg[6]))}, {results_dir = dir})
  c:close()
  say(err and tostring(err) or "accepted")
else
  error("unknown mode " .. tostring(mode))
end
