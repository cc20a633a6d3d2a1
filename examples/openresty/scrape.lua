-- Handlers of examples/openresty/nginx.conf.
local cjson = require("cjson.safe")
local ppngx = require("pushpull.ngx")

local M = {}

local function client()
  return ppngx.client{
    base_url = os.getenv("PUSHPULL_BASE_URL") or "https://data.oxylabs.io",
    username = os.getenv("PUSHPULL_USERNAME") or "",
    password = os.getenv("PUSHPULL_PASSWORD") or "",
    -- where the service can reach /callback of this nginx; unset: jobs are polled
    callback_url = os.getenv("PUSHPULL_CALLBACK_URL"),
    -- lets a worker pass on a callback for a job another worker waits for
    callback_shared = os.getenv("PUSHPULL_CALLBACK_URL") and "pushpull_callbacks" or nil,
  }
end

local function line(t)
  ngx.print(cjson.encode(t), "\n")
  ngx.flush(true) -- sent now, while the batch goes on
end

-- POST /scrape with one URL per line.
function M.batch()
  ngx.req.read_body()
  local body = ngx.req.get_body_data() or ""
  local urls = {}
  for u in body:gmatch("[^\r\n]+") do
    if u:match("^https?://") then urls[#urls + 1] = u end
  end
  if #urls == 0 then
    ngx.status = 400
    return line{error = "POST one http(s) URL per line"}
  end
  local c, cerr = client()
  if not c then
    ngx.status = 500
    return line{error = tostring(cerr)}
  end
  -- with a callback URL, the service posts each job to /callback when it ends
  local batch, err = c:submit_batch({source = "universal", url = urls},
    {callback = c:expected_callback_url() ~= nil})
  if not batch then
    ngx.status = err.status or 502
    return line{error = err.message, status = err.status}
  end
  line{submitted = #urls}
  local n, ok = 0, 0
  for job in batch:completed{timeout = tonumber(ngx.var.arg_timeout) or 300} do
    n = n + 1
    local entry = {n = n, of = #urls, id = job.id, status = job.status, fetched = job.fetched,
      url = job.info and job.info.url}
    if job.status == "done" then
      local res = job:results()
      local first = res and res[1]
      if first then
        ok = ok + 1
        entry.status_code = first.status_code
        entry.bytes = type(first.content) == "string" and #first.content or nil
      end
    end
    line(entry)
  end
  line{done = n, ok = ok, pending = #batch:pending()}
end

-- POST /callback: the service's callbacks, from its callback addresses only.
function M.callback()
  local c, err = client()
  if not c then
    ngx.status = 500
    return ngx.say(cjson.encode{message = tostring(err)})
  end
  ppngx.callback_handler(c, {allow = "callbacker_ips"})
end

-- GET /result?id=...
function M.result()
  local id = ngx.var.arg_id
  if not id or not id:match("^%d+$") then
    ngx.status = 400
    return ngx.say(cjson.encode{error = "give ?id=JOB_ID"})
  end
  local job = assert(client()):job(id)
  local res, err = job:results()
  if not res then
    ngx.status = err.status or 502
    return ngx.say(cjson.encode{error = err.message})
  end
  ngx.say(cjson.encode(res[1]))
end

return M
