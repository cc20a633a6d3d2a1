-- pushpull schedules ACTION: the scheduler (client.schedules).
local exits = require("pushpull.cli.session")
local params = require("pushpull.cli.params")

local M = {}

M.ACTIONS = true

M.USAGE = [[
usage: pushpull schedules ACTION [options]     (pushpull schedules ACTION --help for each)

actions:
  create --cron EXPR --end-time TIME (--items FILE | KEY=VALUE...)
                       create a schedule; prints its id
  list                 the ids of the schedules, one a line
  show ID              the schedule, as the service describes it (JSON)
  pause ID             stop running it
  resume ID            run it again
  runs ID              its runs and their jobs (JSON)
]]

local JSON = {"json", help = "the service's answer as one JSON line"}

local function by_id(usage, summary)
  return {usage = usage, summary = summary, options = {}}
end

M.specs = {
  create = {
    usage = "pushpull schedules create --cron EXPR --end-time TIME (--items FILE | KEY=VALUE...)",
    summary = "Creates a schedule that submits its items at each time the cron expression names;\n"
      .. "prints the schedule's id (the service's answer with --json).",
    details = "items: --items FILE, a JSON list of job parameters, or one item from KEY=VALUE words\n"
      .. "(as in pushpull submit; source=universal by default).",
    options = {
      {"cron", arg = "EXPR", help = "when it runs, e.g. \"0 3 * * *\""},
      {"end-time", arg = "TIME", help = "\"YYYY-MM-DD HH:MM:SS\" (UTC), when it stops"},
      {"items", arg = "FILE", help = "a JSON list of job parameters"},
      JSON,
    },
  },
  list = {usage = "pushpull schedules list [--json]", summary = "Prints the ids of the schedules, one a line.",
    options = {JSON}},
  show = by_id("pushpull schedules show ID", "Prints the schedule as one JSON line."),
  pause = by_id("pushpull schedules pause ID", "Stops the schedule from running (it stays, inactive)."),
  resume = by_id("pushpull schedules resume ID", "Makes the schedule run again."),
  runs = by_id("pushpull schedules runs ID", "Prints the schedule's runs and their jobs as one JSON line."),
}

-- A schedule id as the service wrote it, whole (integers print without ".0").
local function id_text(id)
  if type(id) == "number" then
    return ("%.0f"):format(id)
  end
  return tostring(id)
end

local function items(session, opts, positionals)
  if opts.items then
    if #positionals > 0 then
      session:usage("give the items as --items FILE or as KEY=VALUE words, not both")
    end
    local list, err = params.json_file(opts.items)
    if list == nil then
      session:usage(err)
    end
    if type(list) ~= "table" or list[1] == nil then
      session:usage(opts.items .. " must hold a JSON list of job parameters")
    end
    return list
  end
  local item, err = params.job(positionals)
  if not item then
    session:usage(err .. ", or --items FILE")
  end
  return {item}
end

local function create(session, opts, positionals)
  if not opts.cron or not opts["end-time"] then
    session:usage("--cron and --end-time are required")
  end
  local body = {cron = opts.cron, end_time = opts["end-time"], items = items(session, opts, positionals)}
  local answer, err = session:client().schedules:create(body)
  if not answer then
    session:fail_with(err, "create")
  end
  session:answer(opts, answer, {id_text(type(answer) == "table" and answer.schedule_id or "?")})
  return exits.OK
end

function M.run(session, opts, positionals, action)
  if action == "create" then
    return create(session, opts, positionals)
  end
  if action == "list" then
    if #positionals > 0 then
      session:usage("list takes no arguments")
    end
    local answer, err = session:client().schedules:list()
    if not answer then
      session:fail_with(err, "list")
    end
    local ids = {}
    for i, id in ipairs(type(answer) == "table" and answer.schedules or {}) do
      ids[i] = id_text(id)
    end
    session:answer(opts, answer, ids)
    return exits.OK
  end
  local id = positionals[1]
  if #positionals ~= 1 or not id:match("^[%w%-_]+$") then
    session:usage("give one schedule id")
  end
  local schedules = session:client().schedules
  local answer, err
  if action == "show" then
    answer, err = schedules:get(id)
  elseif action == "runs" then
    answer, err = schedules:runs(id)
  else
    answer, err = schedules:set_active(id, action == "resume")
  end
  if not answer then
    session:fail_with(err, action .. " " .. id)
  end
  if action == "show" or action == "runs" then
    session:json_line(answer)
  end
  return exits.OK
end

return M
