-- Throws malformed and hostile requests at a running emulator over raw
-- sockets: odd methods, paths, hosts, credentials, bodies, lying
-- Content-Length headers and plain random bytes. The emulator must answer
-- or close each one and stay up; run it against a sanitizer build.
--
--   lua5.4 emulator/tests/garbage.lua PORT [COUNT] [SEED]
local socket = require("socket")
local mime = require("mime")

local port = assert(tonumber(arg[1]), "usage: garbage.lua PORT [COUNT] [SEED]")
local count = tonumber(arg[2]) or 2000
math.randomseed(tonumber(arg[3]) or 7)

local auth = "Basic " .. mime.b64("user:pass1")

local function pick(t) return t[math.random(#t)] end

local function random_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

local function send(data)
  local c = socket.tcp()
  c:settimeout(3)
  if not c:connect("127.0.0.1", port) then
    error("emulator not reachable: it crashed or stopped")
  end
  c:send(data)
  local answer = c:receive("*l")
  c:close()
  return answer
end

local methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"}
local paths = {
  "/v1/queries", "/v1/queries/batch", "/v1/queries/123", "/v1/queries/123/results",
  "/v1/queries/1/results/1/content", "/v1/schedules", "/v1/schedules/1/state",
  "/v1/schedules/1/runs", "/_emulator/stats", "/_emulator/schedules/x/tick",
  "/v1/info/callbacker_ips", "/v1//queries//", "/v1/" .. ("a/"):rep(50), "/%00%ff",
  "/v1/queries/99999999999999999999999",
}
local bodies = {
  "", "{", "[]", "null", '{"source":1}', '{"source":"x","query":"\\u0000\\ud800"}',
  '{"source":"x","url":["http://a","http://b"]}',
  '{"source":"x","query":["a"],"context":[{"key":"a","value":[1,{"b":null}]}]}',
  '{"cron":"*/0 * * * *","items":[{}],"end_time":"x"}',
  '{"cron":"1-70/3 * * * *","items":[{"source":"a","query":"b"}],"end_time":"2099-01-01 00:00:00"}',
  '{"active":"x"}', '{"source":"x","query":"a","pages":1e400}',
  '{"source":"x","query":"\255\254\255"}',
  '{"source":"x","query":"a","limit":-1,"start_page":99999999999999999999}',
  '{"source":"x","query":"a","storage_type":"s3","storage_url":"../../etc"}',
}
local queries = {"", "?type=png", "?type=raw,parsed,png,markdown,xhr", "?type=,,", "?type=zzz"}
local hosts = {"localhost", "a b", ("x"):rep(300), "[::1]:80", '"evil"'}
local creds = {auth, auth, "Basic !!!", "Bearer x", "Basic " .. mime.b64("user")}

local answered = 0
for i = 1, count do
  local body = math.random() < 0.1 and random_bytes(math.random(1, 300)) or pick(bodies)
  local h = {("%s %s%s HTTP/1.1"):format(pick(methods), pick(paths), pick(queries)),
    "Host: " .. pick(hosts)}
  if math.random() < 0.9 then h[#h + 1] = "Authorization: " .. pick(creds) end
  if math.random() < 0.5 then h[#h + 1] = "Content-Type: application/json" end
  h[#h + 1] = ("X-Junk-%d: %s"):format(i, ("y"):rep(math.random(0, 100)))
  h[#h + 1] = "Content-Length: " .. (math.random() < 0.1 and "99999999999" or tostring(#body))
  h[#h + 1] = "Connection: close"
  if send(table.concat(h, "\r\n") .. "\r\n\r\n" .. body) then answered = answered + 1 end
  if i % 100 == 0 then send(random_bytes(math.random(1, 500))) end
end
-- Still alive and answering?
assert(send("GET /_emulator/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
  "the emulator stopped answering")
print(("sent %d requests, %d answered, emulator still up"):format(count, answered))
