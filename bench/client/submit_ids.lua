-- Submits a batch of COUNT test-site pages in one request, writes the job ids
-- one a line to IDS_FILE, and returns once the emulator has no pending job
-- (GET /_emulator/stats): what bare_multi needs before it fetches, so that it
-- measures fetching only.
--
--   lua5.4 bench/client/submit_ids.lua BASE_URL SITE_URL COUNT PAGE_SIZE IDS_FILE
local cjson = require("cjson")
local http = require("socket.http")
local ltn12 = require("ltn12")
local socket = require("socket")

local base_url, site, count, size, ids_file = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5]
assert(base_url and site and count and size and ids_file,
  "usage: submit_ids.lua BASE_URL SITE_URL COUNT PAGE_SIZE IDS_FILE")
local user = os.getenv("PUSHPULL_USERNAME") or "user"
local password = os.getenv("PUSHPULL_PASSWORD") or "pass1"

local function request(method, url, body, auth)
  local chunks = {}
  local headers = {}
  if body then
    headers["content-type"] = "application/json"
    headers["content-length"] = tostring(#body)
  end
  if auth then
    headers.authorization = "Basic " .. (require("mime").b64(user .. ":" .. password))
  end
  local ok, code = http.request{
    method = method, url = url, headers = headers,
    source = body and ltn12.source.string(body), sink = ltn12.sink.table(chunks),
  }
  assert(ok, code)
  return code, table.concat(chunks)
end

local urls = {}
for i = 1, count do urls[i] = ("%s/page/%d?size=%d"):format(site, i, size) end
local code, body = request("POST", base_url .. "/v1/queries/batch",
  cjson.encode{source = "universal", url = urls}, true)
assert(code == 200 or code == 202, "batch answered " .. tostring(code) .. ": " .. body:sub(1, 200))

local out = assert(io.open(ids_file, "w"))
for _, job in ipairs(cjson.decode(body).queries) do out:write(job.id, "\n") end
out:close()

repeat
  socket.sleep(0.2)
  local _, stats = request("GET", base_url .. "/_emulator/stats")
  local pending = cjson.decode(stats).jobs.pending
until pending == 0
