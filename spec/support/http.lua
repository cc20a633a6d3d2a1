-- A small HTTP test client on luasocket, written the way the provider's
-- documentation calls the API (Basic auth, JSON bodies), for specs that test
-- the emulator itself. The product's own client is tested elsewhere.
--
--   local res, err = http.request{method = "POST", url = ..., user = "user",
--     password = "pass1", headers = {...}, body = "...", timeout = 5}
--   res.status, res.headers["content-type"], res.body
--
-- A request the server answers with nothing (connection closed, refused,
-- timed out) gives nil and the error text.
local socket = require("socket")
local shttp = require("socket.http")
local ltn12 = require("ltn12")
local mime = require("mime")
local cjson = require("cjson").new()

local http = {}

http.null = cjson.null

function http.basic_auth(user, password)
  return "Basic " .. mime.b64(user .. ":" .. (password or ""))
end

function http.request(opts)
  assert(type(opts) == "table" and opts.url, "http.request{url = ...} wants a url")
  local method = opts.method or "GET"
  local headers = {}
  for k, v in pairs(opts.headers or {}) do
    headers[k:lower()] = v
  end
  if opts.user then
    headers["authorization"] = http.basic_auth(opts.user, opts.password)
  end
  local source
  if opts.body ~= nil then
    local body = opts.body
    if type(body) == "table" then
      body = cjson.encode(body)
      headers["content-type"] = headers["content-type"] or "application/json"
    end
    -- opts.chunked sends the body with chunked transfer encoding instead
    if not opts.chunked then
      headers["content-length"] = tostring(#body)
    end
    source = ltn12.source.string(body)
  elseif method == "POST" or method == "PUT" then
    headers["content-length"] = "0"
  end
  local timeout = opts.timeout or 10
  local chunks = {}
  -- socket.http applies its module-wide TIMEOUT to every socket it opens.
  local saved_timeout = shttp.TIMEOUT
  shttp.TIMEOUT = timeout
  local ok, status, res_headers, status_line = shttp.request{
    url = opts.url,
    method = method,
    headers = headers,
    source = source,
    sink = ltn12.sink.table(chunks),
    redirect = false,
  }
  shttp.TIMEOUT = saved_timeout
  if not ok then
    return nil, tostring(status)
  end
  local lower = {}
  for k, v in pairs(res_headers or {}) do
    lower[k:lower()] = v
  end
  return {
    status = status,
    status_line = status_line,
    headers = lower,
    body = table.concat(chunks),
  }
end

-- Sends `text` as it is on a new connection to host:port and reads the
-- answer until the server closes the connection (or `timeout` seconds pass).
-- Returns {status, headers (lowercase keys), body, raw}, or nil and an error.
function http.raw(host, port, text, timeout)
  local c = socket.tcp()
  c:settimeout(timeout or 5)
  local ok, err = c:connect(host, port)
  if not ok then
    return nil, err
  end
  ok, err = c:send(text)
  if not ok then
    c:close()
    return nil, err
  end
  local data, rerr, partial = c:receive("*a")
  c:close()
  data = data or partial
  if data then
    data = data:gsub("^HTTP/%d%.%d 100[^\r\n]*\r\n\r\n", "")
  end
  if not data or data == "" then
    return nil, rerr or "closed"
  end
  local head, body = data:match("^(.-)\r\n\r\n(.*)$")
  head = head or data
  local status = tonumber(head:match("^HTTP/%d%.%d (%d%d%d)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return {status = status, headers = headers, body = body or "", raw = data}
end

-- Encodes a Lua value as JSON.
function http.encode(value)
  return cjson.encode(value)
end

-- Decodes JSON text; raises with the text on failure.
function http.decode(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    error("not JSON: " .. tostring(value) .. ": " .. tostring(text):sub(1, 400), 2)
  end
  return value
end

-- A response's body as JSON, after checking its status and content type.
-- Raises with the status and body when either is unexpected.
function http.json(res, want_status)
  if not res then
    error("no response", 2)
  end
  if want_status and res.status ~= want_status then
    error(("expected HTTP %d, got %s: %s"):format(want_status, tostring(res.status),
      tostring(res.body):sub(1, 400)), 2)
  end
  local ctype = res.headers["content-type"] or ""
  if not ctype:lower():find("application/json", 1, true) then
    error(("expected application/json, got %q (HTTP %s): %s"):format(ctype,
      tostring(res.status), tostring(res.body):sub(1, 400)), 2)
  end
  return http.decode(res.body)
end

-- Percent-encodes a string for a query string or a path segment.
function http.escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return ("%%%02X"):format(c:byte())
  end))
end

return http
