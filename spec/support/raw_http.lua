-- A raw HTTP exchange over a socket, for specs that must send what no HTTP
-- client would (a body over the cap, a bad method, chunked bodies) and read
-- the answer byte for byte.
--
--   local raw_http = require("support.raw_http")
--   local res = raw_http.exchange(port, text[, step[, timeout]])
--   -- res.status, res.headers (lower-case names), res.body
local socket = require("socket")

local M = {}

-- {status, headers, body} of a whole HTTP answer; raises when there is none.
function M.parse_answer(all)
  local head, body = all:match("^(.-)\r\n\r\n(.*)$")
  assert(head, "no HTTP answer: " .. all)
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return {status = tonumber(head:match("^HTTP/%d%.%d (%d%d%d)")), headers = headers, body = body}
end

-- Sends text to 127.0.0.1:port and reads the answer until the server
-- closes (at most timeout seconds, 10 by default). step(), when given, runs
-- between reads on a non-blocking socket: a core's listener only works
-- while its client is driven.
function M.exchange(port, text, step, timeout)
  local s = assert(socket.tcp())
  s:settimeout(step and 0 or (timeout or 10))
  s:connect("127.0.0.1", port)
  local deadline = socket.gettime() + (timeout or 10)
  local sent, chunks = 0, {}
  while socket.gettime() < deadline do
    if step then step() end
    if sent < #text then
      local n, err, partial = s:send(text, sent + 1)
      n = n or partial
      if n and n > 0 then
        sent = n
      elseif err and err ~= "timeout" and err ~= "Operation already in progress" then
        sent = #text -- the server may answer before the whole body
      end
    end
    local data, err, partial = s:receive(8192)
    data = data or partial
    if data and #data > 0 then chunks[#chunks + 1] = data end
    if err == "closed" then break end
  end
  s:close()
  return M.parse_answer(table.concat(chunks))
end

return M
