-- Result files, as Lua sees them. The core writes every one of them -- a
-- temporary file beside the target, fsynced, then renamed -- whether it
-- holds a download (submit's results_dir: <dir>/<id>.json), results kept in
-- memory or in a spool file (save_results), or the decoded images of a png
-- result; this module only names them and asks.
local M = {}

-- c is a client's core (pushpull.core), h a job's handle. The file its
-- results were written to, or nil (a spool file is not the user's: nil).
function M.path(c, h)
  local path, temporary = c:job_results_path(h)
  if temporary then
    return nil
  end
  return path
end

-- The file holding the kept results, a spool file included, or nil.
function M.kept_path(c, h)
  return (c:job_results_path(h))
end

-- Puts the kept results at path (a spool file is renamed there). true, or
-- nil and the core's error.
function M.save(c, h, path)
  return c:job_save_results(h, path)
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
-- The list of paths, or nil and the error (a message or the core's).
function M.write_images(c, path, results, base64_decode)
  if #results == 0 then
    return nil, "no results to save"
  end
  local images = {}
  for k = 1, #results do
    local content = type(results[k]) == "table" and results[k].content
    local bytes = type(content) == "string" and content ~= "" and base64_decode(content)
    if not bytes then
      return nil, "result " .. k .. " has no base64 image content"
    end
    images[k] = bytes
  end
  local paths = {}
  for k = 1, #images do
    paths[k] = M.image_path(path, k)
    local ok, err = c:write_file(paths[k], images[k])
    if not ok then
      return nil, err
    end
  end
  return paths
end

return M
