-- A workflow that uses the whole public Lua API, run by the side-effect
-- checks in each host (plain Lua 5.4 and LuaJIT, nginx, Neovim) between two
-- snapshots of spec/hosts/host_state.lua. It requires pushpull itself, so
-- loading counts too.
--
--   local report = require("full_workflow").run{base_url = ..., site = ..., dir = ...,
--     listen = true, coro = true}
--
-- report.failures lists what went wrong (empty when all went well); the
-- other fields count what was done.
local M = {}

function M.run(cfg)
  local pushpull = require("pushpull")
  local report = {failures = {}, steps = 0}
  local function check(ok, what)
    report.steps = report.steps + 1
    if not ok then
      report.failures[#report.failures + 1] = what
    end
    return ok
  end
  local function page(n)
    return cfg.site .. "/page/" .. n
  end

  local client = assert(pushpull.new{username = "user", password = "pass1", base_url = cfg.base_url,
    timeout = 10, poll = {first = 0.02, min = 0.02, max = 0.25}})

  -- one job: submit, wait, refresh, every result type, files
  local job = assert(client:submit{source = "universal", url = page(1), workflow_tag = "side-effects"})
  check(job:wait{timeout = 20} == true, "job:wait")
  check(job.status == "done" and job.fetched == true, "job.status " .. tostring(job.status))
  check(job.info.workflow_tag == "side-effects", "job parameters go to the service as given")
  check(job:refresh() == "done", "job:refresh")
  local raw = job:results()
  check(raw and raw[1].status_code == 200, "job:results")
  local parsed = job:results{type = "parsed"}
  check(parsed and parsed[1].content.title == "Page 1", "results parsed")
  local paths = job:save_results(cfg.dir .. "/shot.png", {type = "png"})
  check(paths and paths[1] == cfg.dir .. "/shot.png", "save_results png")
  check(job:save_results(cfg.dir .. "/one.json") ~= nil, "save_results json")

  -- a batch, in the order its jobs end, with results written to a folder
  local urls = {}
  for i = 1, 8 do urls[i] = page(10 + i) end
  local batch = assert(client:submit_batch({source = "universal", url = urls}, {results_dir = cfg.dir}))
  local ended = 0
  for j in batch:completed{timeout = 30} do
    ended = ended + 1
    check(j.results_path == cfg.dir .. "/" .. j.id .. ".json", "results_path")
  end
  check(ended == 8 and #batch:pending() == 0, "batch:completed")
  check(client:wait_all(batch, {timeout = 5}) == true, "wait_all")

  -- a job attached by id, the scheduler, the other calls
  local again = assert(client:job(job.id))
  check(again == job, "client:job gives the same object")
  local s = client.schedules:create{cron = "0 3 * * *", items = {{source = "universal", url = page(2)}},
    end_time = "2099-01-01 00:00:00"}
  check(s and client.schedules:get(s.schedule_id) ~= nil, "schedules")
  check(client.schedules:set_active(s.schedule_id, false) == true, "schedules:set_active")
  check(#assert(client:callbacker_ips()) > 0, "callbacker_ips")
  check(client:stats().requests > 0, "stats")

  -- expected failures: nil, err, and err stands for a string
  local bad = assert(pushpull.new{username = "user", password = "wrong", base_url = cfg.base_url})
  local none, err = bad:submit{source = "universal", url = page(3)}
  check(none == nil and err.status == 401, "401")
  check(tostring(err):find("HTTP 401", 1, true) ~= nil, "tostring(err)")
  check(("x " .. err):find("pushpull: ", 1, true) == 3, "concatenation")
  check(select(2, pcall(assert, nil, err)) == err, "assert(nil, err)")
  bad:close()
  local ok, werr = client:job("1111111111111111111"):wait{timeout = 0.05}
  check(ok == nil and pushpull.is_error(werr), "a wait that cannot end")

  -- callbacks to the client's own listener
  if cfg.listen then
    check(client:listen{} ~= nil, "listen")
    local cj = assert(client:submit({source = "universal", url = page(4)}, {callback = true}))
    check(cj:wait{timeout = 20} == true, "callback job")
    check(client:listen_stop() == true and client:listening() == nil, "listen_stop")
  end

  -- coroutines
  if cfg.coro then
    local n = 0
    pushpull.run(function()
      for i = 1, 4 do
        pushpull.spawn(function()
          local j = assert(client:submit{source = "universal", url = page(30 + i)})
          if j:wait{timeout = 20} then n = n + 1 end
        end)
      end
    end)
    check(n == 4, "pushpull.run")
  end

  check(client:close() == true, "close")
  return report
end

return M
