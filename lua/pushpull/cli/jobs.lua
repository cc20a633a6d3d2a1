-- pushpull status | wait | results: jobs the service already has, by id
-- (the ids on the command line, or one a line on stdin with "-").
--
-- Their usage lines say ID...|-: "-" reads the ids from stdin.
local exits = require("pushpull.cli.session")

local M = {}

local JSON = {"json", help = "one JSON line per job on stdout"}

M.specs = {
  status = {
    usage = "pushpull status ID...|- [--json]",
    summary = "Asks the service for each job's status now and prints \"ID STATUS\".\n"
      .. "Exits 0 when no job faulted or was lost (pending jobs are fine), 1 otherwise.",
    options = {JSON},
  },
  wait = {
    usage = "pushpull wait ID...|- [--timeout SECONDS] [--json]",
    summary = "Waits until every job has ended and prints \"ID STATUS\" for each.\n"
      .. "Exits 0 when all are done, 1 when one faulted, was lost or did not end in time.",
    options = {{"timeout", arg = "SECONDS", help = "give up after this long (default: no limit)"}, JSON},
  },
  results = {
    usage = "pushpull results ID...|- [--type raw|parsed|png|markdown] [--out DIR] [--json]",
    summary = "Downloads each job's results. Without --out, one JSON line per job on stdout,\n"
      .. "{\"id\": ..., \"results\": [...]} (parsed content decoded); with --out, files in DIR:\n"
      .. "DIR/ID.json, or with --type png the images, DIR/ID.png, DIR/ID-2.png, ...",
    options = {
      {"type", arg = "TYPE", help = "raw, parsed, png or markdown (default: the service's)"},
      {"out", arg = "DIR", help = "write files there (created when missing) and print their paths"},
      {"json", help = "with --out: {\"id\": ..., \"path\": ...} lines instead of paths"},
    },
  },
}

-- The ids of the command line; "-" reads them from stdin, one a line.
local function ids(session, positionals)
  local list = {}
  for _, word in ipairs(positionals) do
    if word == "-" then
      for line in io.stdin:lines() do
        local id = line:match("^%s*(%S+)%s*$")
        if id then
          list[#list + 1] = id
        end
      end
    else
      list[#list + 1] = word
    end
  end
  if #list == 0 then
    session:usage("no job id given")
  end
  return list
end

-- The job object of id; ends the command on a network or auth failure.
local function attach(session, client, id)
  local job, err = client:job(id)
  if not job then
    session:fail_with(err, id)
  end
  return job
end

-- Keeps the worst exit code: network (3) over failed (1) over ok (0).
local function worse(a, b)
  if a == exits.NETWORK or b == exits.NETWORK then
    return exits.NETWORK
  end
  return math.max(a, b)
end

-- Reports the failure of one job's call; ends the command when the service
-- cannot be reached. Returns the exit code it stands for.
local function job_failure(session, id, err)
  local code = exits.code_of(err)
  if code == exits.NETWORK then
    session:fail_with(err, id)
  end
  io.stderr:write("pushpull: ", id, ": ", (tostring(err):gsub("^pushpull: ", "")), "\n")
  return code
end

local function report(session, opts, job)
  if opts.json then
    local info = job.info
    session:json_line(type(info) == "table" and info or {id = job.id, status = job.status})
  else
    session:out(job.id, " ", job.status)
  end
end

local BAD = {faulted = true, unknown = true, rejected = true, expired = true, failed = true}

function M.run(session, opts, positionals, which)
  local list = ids(session, positionals)
  if which == "status" then
    return M.status(session, opts, list)
  elseif which == "wait" then
    return M.wait(session, opts, list)
  end
  return M.results(session, opts, list)
end

function M.status(session, opts, list)
  local client = session:client()
  local code = exits.OK
  for _, id in ipairs(list) do
    local job = attach(session, client, id)
    local status, err = job:refresh()
    if not status then
      code = worse(code, job_failure(session, id, err))
    else
      report(session, opts, job)
      if BAD[status] then
        code = worse(code, exits.SOME_FAILED)
      end
    end
  end
  return code
end

function M.wait(session, opts, list)
  local timeout = session:number(opts, "timeout", nil, 0)
  -- the status is enough: results stay with the service until asked for
  local client = session:client{poll = {fetch = false}}
  local jobs = {}
  for i, id in ipairs(list) do
    jobs[i] = attach(session, client, id)
  end
  local ok, err = client:wait_all(jobs, {timeout = timeout})
  local code = exits.OK
  if not ok and err.message ~= "timeout" then
    code = job_failure(session, "wait", err)
  end
  for _, job in ipairs(jobs) do
    report(session, opts, job)
    if job.status ~= "done" then
      code = worse(code, exits.SOME_FAILED)
    end
  end
  return code
end

function M.results(session, opts, list)
  local rtype, out = opts.type, opts.out
  if rtype == "png" and not out then
    session:usage("--type png writes image files: give --out DIR")
  end
  if out then
    session:mkdir(out)
  end
  local client = session:client()
  local code = exits.OK
  for _, id in ipairs(list) do
    local job = attach(session, client, id)
    code = worse(code, M.deliver(session, opts, job))
    job:release()
  end
  return code
end

-- Writes a job's results as `results` does (opts.type, opts.out, opts.json);
-- returns the exit code it stands for.
function M.deliver(session, opts, job)
  local rtype, out, id = opts.type, opts.out, job.id
  if out then
    local path = ("%s/%s.%s"):format(out, id, rtype == "png" and "png" or "json")
    local paths, err = job:save_results(path, {type = rtype})
    if not paths then
      return job_failure(session, id, err)
    end
    for _, p in ipairs(paths) do
      if opts.json then
        session:json_line({id = id, path = p})
      else
        session:out(p)
      end
    end
    return exits.OK
  end
  local results, err = job:results{type = rtype}
  if not results then
    return job_failure(session, id, err)
  end
  session:json_line({id = id, results = results})
  return exits.OK
end

M.worse = worse
M.report = report
M.job_failure = job_failure
M.BAD = BAD

return M
