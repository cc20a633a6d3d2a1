-- Checks shared by the emulator specs: the shape of a job object, its links,
-- timestamps, PNG payloads, and JSON details that cjson cannot tell apart
-- (an empty list and an empty object both decode to {}).
local mime = require("mime")
local socket = require("socket")
local http = require("support.http")

local contract = {}

contract.null = http.null

-- Lua 5.4's cjson decodes every number as a float: print ids as integers.
function contract.int(n)
  return ("%d"):format(n)
end

function contract.is_job_id(id)
  return type(id) == "string" and id:match("^%d+$") ~= nil and #id == 19
end

function contract.is_timestamp(s)
  return type(s) == "string" and s:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$") ~= nil
end

-- True when the raw JSON text has "key": [] somewhere (an empty list).
function contract.has_empty_list(text, key)
  return text:find('"' .. key .. '"%s*:%s*%[%s*%]') ~= nil
end

function contract.link(job, rel)
  for _, l in ipairs(job._links or {}) do
    if l.rel == rel then
      return l
    end
  end
  return nil
end

-- The links the contract promises for a job, as rel -> path after the host.
function contract.expected_links(id)
  local base = "/v1/queries/" .. id
  return {
    self = base,
    results = base .. "/results",
    ["results-html"] = base .. "/results?type=raw",
    ["results-parsed"] = base .. "/results?type=parsed",
    ["results-png"] = base .. "/results?type=png",
  }
end

-- Checks a job object's fields against the contract and the values a
-- submission omitted (their defaults). Raises on the first difference.
function contract.check_job(job, host)
  local function fail(fmt, ...)
    error(("job %s: " .. fmt):format(tostring(job.id), ...), 3)
  end
  if not contract.is_job_id(job.id) then fail("id %q is not a 19-digit string", tostring(job.id)) end
  if type(job.client_id) ~= "number" then fail("client_id is %s", type(job.client_id)) end
  if not contract.is_timestamp(job.created_at) then fail("created_at %q", tostring(job.created_at)) end
  if not contract.is_timestamp(job.updated_at) then fail("updated_at %q", tostring(job.updated_at)) end
  local status = job.status
  if status ~= "pending" and status ~= "done" and status ~= "faulted" then
    fail("status %q", tostring(status))
  end
  if type(job.source) ~= "string" then fail("source missing") end
  if type(job.url) ~= "string" and type(job.query) ~= "string" then fail("neither url nor query") end
  if type(job.statuses) ~= "table" then fail("statuses is %s", type(job.statuses)) end
  if type(job.context) ~= "table" then fail("context is %s", type(job.context)) end
  if type(job._links) ~= "table" then fail("_links is %s", type(job._links)) end
  local want = contract.expected_links(job.id)
  for rel, path in pairs(want) do
    local l = contract.link(job, rel)
    if not l then fail("no %s link", rel) end
    if l.method ~= "GET" then fail("%s link method %q", rel, tostring(l.method)) end
    if host and l.href ~= "http://" .. host .. path then
      fail("%s link href %q, expected %q", rel, tostring(l.href), "http://" .. host .. path)
    end
  end
  return true
end

-- The defaults the contract lists for fields a submission leaves out.
contract.defaults = {
  domain = "com",
  geo_location = http.null,
  locale = http.null,
  user_agent_type = "desktop",
  render = http.null,
  parse = false,
  callback_url = http.null,
  pages = 1,
  start_page = 1,
  limit = 10,
  storage_type = http.null,
  storage_url = http.null,
  client_notes = http.null,
  subdomain = "www",
}

-- Decodes base64 PNG content; returns width, height, bit depth and colour
-- type from its IHDR chunk, or nil and why.
function contract.png_info(b64)
  if type(b64) ~= "string" or b64 == "" then
    return nil, "no content"
  end
  local data = mime.unb64(b64)
  if not data or #data < 33 then
    return nil, "not base64 or too short"
  end
  if data:sub(1, 8) ~= "\137PNG\r\n\26\n" then
    return nil, "no PNG signature"
  end
  local function u32(i)
    local a, b, c, d = data:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  if u32(9) ~= 13 or data:sub(13, 16) ~= "IHDR" then
    return nil, "first chunk is not a 13-byte IHDR"
  end
  return {width = u32(17), height = u32(21), depth = data:byte(25),
    color_type = data:byte(26), size = #data, has_iend = data:sub(-8, -5) == "IEND"}
end

-- Calls fn every `step` seconds until it returns a true value (returned) or
-- `timeout` seconds passed (then nil).
function contract.eventually(fn, timeout, step)
  local deadline = socket.gettime() + (timeout or 5)
  repeat
    local v = fn()
    if v then
      return v
    end
    socket.sleep(step or 0.05)
  until socket.gettime() > deadline
  return nil
end

return contract
