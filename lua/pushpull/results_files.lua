-- Every result file that Lua writes, in one place: the <dir>/<id>.json of
-- submit{results_dir = dir} (the core streams the answer there once the id
-- is known; results the poller kept in memory before that are written here),
-- save_results' copies of kept results, and its png images. The core is to
-- name and write result files itself; what it takes over goes from here.
local core = require("pushpull.core")
local util = require("pushpull.util")

local M = {}

-- States in which the core still takes a path for the poller's download.
local PATH_TAKEN = {
  [core.NEW] = true, [core.SUBMITTING] = true, [core.PENDING] = true,
  [core.DONE] = true, [core.FAULTED] = true,
}

-- rec is a job's private record: host, h, results_dir; path_set and
-- written_path are kept here. Called on every state change of a job that
-- has a results_dir.
function M.on_state(rec, id, state)
  if rec.path_set or not id then
    return
  end
  local c, h = rec.host.core, rec.h
  local path = rec.results_dir .. "/" .. id .. ".json"
  if PATH_TAKEN[state] then
    if c:job_set_results_path(h, path) then
      rec.path_set = true
    end
  elseif state == core.FETCHED then
    -- the poller kept the results in memory before the path could be set
    local body = c:job_results(h)
    if body and util.write_file(path, body) then
      rec.path_set, rec.written_path = true, path
      c:job_drop_results(h)
    end
  end
end

-- Where the job's results were written, or nil.
function M.path(rec)
  return rec.written_path or rec.host.core:job_results_path(rec.h)
end

-- Writes body to path: true, or nil and a message.
function M.write(path, body)
  local ok, err = util.write_file(path, body)
  if not ok then
    return nil, tostring(err)
  end
  return true
end

-- The file of the k-th image saved to path: path itself for the first,
-- then "-2", "-3", ... before the extension (shot.png, shot-2.png, ...).
function M.image_path(path, k)
  if k == 1 then
    return path
  end
  local stem, ext = path:match("^(.-)(%.[^./]*)$")
  if not stem or stem == "" or stem:sub(-1) == "/" then
    stem, ext = path, ""
  end
  return stem .. "-" .. k .. ext
end

-- Writes the decoded base64 content of each result to its image file.
-- The list of paths, or nil and a message.
function M.write_images(path, results)
  if #results == 0 then
    return nil, "no results to save"
  end
  local images = {}
  for k = 1, #results do
    local content = type(results[k]) == "table" and results[k].content
    local bytes = type(content) == "string" and content ~= "" and util.base64_decode(content)
    if not bytes then
      return nil, "result " .. k .. " has no base64 image content"
    end
    images[k] = bytes
  end
  local paths = {}
  for k = 1, #images do
    paths[k] = M.image_path(path, k)
    local ok, err = M.write(paths[k], images[k])
    if not ok then
      return nil, err
    end
  end
  return paths
end

return M
