-- The Lua face of the job journal (pushpull.new{journal = "jobs.db"}): the
-- core records every submission, id, end and result file; this module
-- reads it back (client:resume, client:jobs) and hands finished jobs out
-- (batch:completed claims each job for one process).
local errors = require("pushpull.errors")
local json = require("pushpull.json")
local states = require("pushpull.states")
local jobmod = require("pushpull.job")

local M = {}

-- Waits for a journal operation and returns its entries, or nil, err.
local function entries(host, op, err)
  if not op then
    return nil, errors.from_core(err)
  end
  local c = host.core
  host:kick()
  local ok, why = host:wait(function() return c:op_done(op) end)
  if not ok then
    return nil, errors.new(why)
  end
  local e = c:op_error(op)
  local list = c:op_entries(op)
  c:op_free(op)
  if e then
    return nil, errors.from_core(e)
  end
  return list
end

-- An entry as users see it: the status word, decoded parameters.
local function public(entry)
  local params = entry.params and json.decode(entry.params)
  return {
    key = entry.key,
    id = entry.id,
    status = states.word(entry.state),
    tag = entry.tag,
    params = params,
    results_path = entry.results_path,
    error = entry.error,
    handed = entry.handed,
    sent = entry.sent,
  }
end

-- The core's state bits for a status word (nil: not a word).
local function state_bits(word)
  local bits = 0
  for _, s in ipairs(states.states_of(word)) do
    bits = bits + 2 ^ s
  end
  return bits > 0 and bits or nil
end
M.state_bits = state_bits

-- client:jobs{status, tag}: the journal's entries.
function M.list(host, status, tag)
  local bits = 0
  if status then
    bits = state_bits(status)
  end
  local list, err = entries(host, host.core:journal_list{states = bits, tag = tag})
  if not list then
    return nil, err
  end
  for i = 1, #list do
    list[i] = public(list[i])
  end
  return list
end

-- client:resume{tag, all}: the jobs as job objects (in the order they were
-- submitted) and the lost submissions.
function M.resume(host, tag, all)
  local list, err = entries(host, host.core:resume{tag = tag, all = all})
  if not list then
    return nil, err
  end
  local jobs, lost = {}, {}
  for i = 1, #list do
    local e = list[i]
    if e.job then
      local job = host:job(e.job)
      jobmod.sync(job)
      jobs[#jobs + 1] = job
    elseif all or not e.handed then
      local p = public(e)
      p.status = "unknown" -- sent, or about to be, and no answer kept
      lost[#lost + 1] = p
    end
  end
  return jobs, lost
end

-- client:dismiss(lost): those lost submissions are not reported again.
function M.dismiss(host, lost)
  local keys = {}
  for i = 1, #lost do
    keys[i] = lost[i].key
  end
  local list, err = entries(host, host.core:dismiss(keys))
  if not list then
    return nil, err
  end
  return true
end

-- client:forget{tag, force}: the tag's jobs dropped from the journal.
function M.forget(host, tag, force)
  local list, err = entries(host, host.core:forget(tag, force == true))
  if not list then
    return nil, err
  end
  return true
end

-- The lost submissions, grouped by what they share: {params (without the
-- list), key ("url" or "query"), values, keys} for each group.
function M.groups(lost)
  local groups, by = {}, {}
  for _, l in ipairs(lost) do
    local params, list_key = {}, l.params.query ~= nil and "query" or "url"
    for k, v in pairs(l.params) do
      if k ~= list_key then
        params[k] = v
      end
    end
    local id = list_key .. "\0" .. json.encode(params) .. "\0" .. tostring(l.tag)
    local g = by[id]
    if not g then
      g = {params = params, list_key = list_key, tag = l.tag, values = {}, keys = {}}
      by[id] = g
      groups[#groups + 1] = g
    end
    g.values[#g.values + 1] = l.params[list_key]
    g.keys[#g.keys + 1] = l.key
  end
  return groups
end

-- Hands the job out to this process: true when it got it, false when
-- another process had it first. A journal that fails hands it out anyway:
-- a job given twice is better than a job never given. No table is made:
-- completed() asks this for every job it gives.
function M.claim(host, job)
  local c = host.core
  local op = c:claim(jobmod.handle(job))
  if not op then
    return true
  end
  if not c:op_done(op) then
    host:kick()
    host:wait(function() return c:op_done(op) end)
  end
  local got = c:op_error(op) ~= nil or c:op_handed(op, 1)
  c:op_free(op)
  return got
end

-- This process is done with a job claim() gave it: handed out for good
-- (with the engine step's writes). A journal that fails leaves it held:
-- a resume after this process ends gives it again (at least once).
function M.handed(host, job)
  host.core:handed(jobmod.handle(job))
end

return M
