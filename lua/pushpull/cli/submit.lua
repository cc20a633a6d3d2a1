-- pushpull submit: one job, its parameters as KEY=VALUE words or a JSON
-- file (pushpull.cli.params). Prints the job's id; --wait waits for it to
-- end, --out saves its results.
local exits = require("pushpull.cli.session")
local params = require("pushpull.cli.params")
local jobs = require("pushpull.cli.jobs")

local M = {}

M.specs = {
  submit = {
    usage = "pushpull submit KEY=VALUE... | @job.json [--wait] [--out DIR] [--type TYPE] [--json]",
    summary = "Submits one job and prints its id (with --json, the service's job object).",
    details = "parameters: source=universal (the default), url=https://example.com,\n"
      .. "parse=true (true and false are booleans), pages:=2 (:= takes JSON),\n"
      .. "@job.json or job.json (a JSON object of parameters, merged).\n"
      .. "Exits 0 when the service accepted the job (with --wait or --out: when it ended done),\n"
      .. "1 when it refused it, it faulted or its answer was lost, 3 on network or auth failures.",
    options = {
      {"wait", help = "wait until the job ends and print \"ID STATUS\""},
      {"timeout", arg = "SECONDS", help = "with --wait or --out: give up after this long"},
      {"out", arg = "DIR", help = "wait, then save the results to DIR/ID.json (DIR/ID.png with --type png)"},
      {"type", arg = "TYPE", help = "with --out: raw, parsed, png or markdown"},
      {"json", help = "JSON lines on stdout instead of words"},
    },
  },
}

function M.run(session, opts, positionals)
  local p, perr = params.job(positionals)
  if not p then
    session:usage(perr)
  end
  local timeout = session:number(opts, "timeout", nil, 0)
  if opts.out then
    session:mkdir(opts.out)
  end
  local waiting = opts.wait or opts.out
  local client = session:client(waiting and not opts.out and {poll = {fetch = false}} or nil)
  local job, err = client:submit(p)
  if not job then
    local code = jobs.job_failure(session, "submit", err)
    if err.job and err.job.id then
      session:out(err.job.id, " ", err.job.status)
    end
    return code
  end
  if not waiting then
    if opts.json then
      jobs.report(session, opts, job)
    else
      session:out(job.id)
    end
    return exits.OK
  end
  local ok, werr = job:wait{timeout = timeout}
  if not ok then
    jobs.report(session, opts, job)
    return jobs.job_failure(session, job.id, werr)
  end
  if opts.out then
    return jobs.deliver(session, opts, job)
  end
  jobs.report(session, opts, job)
  return exits.OK
end

return M
