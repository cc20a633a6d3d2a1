-- Job parameters from the command line: KEY=VALUE words and JSON files.
--
--   source=universal       a string
--   parse=true             true and false are booleans (no parameter of
--                          the API takes the strings "true" or "false")
--   pages:=2               := takes JSON: numbers, lists, objects, "12345" as a string
--   @job.json, job.json    a JSON file whose object's keys are merged in
local json = require("pushpull.json")

local M = {}

local function read(path)
  local f, err
  if path == "-" then
    f = io.stdin
  else
    f, err = io.open(path, "rb")
  end
  if not f then
    return nil, err
  end
  local text = f:read("*a")
  if f ~= io.stdin then
    f:close()
  end
  return text
end

-- The decoded JSON of a file ("-": stdin), or nil and a message.
function M.json_file(path)
  local text, err = read(path)
  if not text then
    return nil, ("cannot read %s: %s"):format(path, tostring(err))
  end
  local value, derr = json.decode(text)
  if value == nil then
    return nil, ("%s is not JSON: %s"):format(path, tostring(derr))
  end
  return value
end

-- Adds one word (KEY=VALUE, KEY:=JSON, @FILE or FILE) to the table
-- params; nil and a message when it is none of them.
function M.add(params, word)
  local file = word:match("^@(.+)$") or (not word:find("=", 1, true) and word)
  if file then
    local value, err = M.json_file(file)
    if value == nil then
      return nil, err
    end
    if type(value) ~= "table" or value[1] ~= nil then
      return nil, file .. " must hold a JSON object of job parameters"
    end
    for k, v in pairs(value) do
      params[k] = v
    end
    return true
  end
  local key, raw = word:match("^([%w_%.%-]+):=(.*)$")
  if key then
    local value, err = json.decode(raw)
    if value == nil then
      return nil, ("%s: not JSON (%s)"):format(word, tostring(err))
    end
    params[key] = value
    return true
  end
  local k, v = word:match("^([%w_%.%-]+)=(.*)$")
  if not k then
    return nil, ("%q is not KEY=VALUE, KEY:=JSON or @FILE.json"):format(word)
  end
  if v == "true" then
    v = true
  elseif v == "false" then
    v = false
  end
  params[k] = v
  return true
end

-- A parameter table from a list of words; or nil and a message.
function M.from_words(list, params)
  params = params or {}
  for _, word in ipairs(list or {}) do
    local ok, err = M.add(params, word)
    if not ok then
      return nil, err
    end
  end
  return params
end

-- The parameters of one job from words (source universal unless given);
-- or nil and a message.
function M.job(words)
  if not words or #words == 0 then
    return nil, "no job parameters given (KEY=VALUE words or a JSON file)"
  end
  local p, err = M.from_words(words)
  if p and p.source == nil then
    p.source = "universal"
  end
  return p, err
end

return M
