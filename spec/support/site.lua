-- Starts the local test site (build/bin/pushpull-testsite) and reads the
-- callbacks it recorded.
--
--   local s = site.start()
--   s.url                              -- http://127.0.0.1:PORT
--   s:page_url(3)                      -- s.url .. "/page/3"
--   s:callback_url("x"), s:failing_callback_url("x")
--   s:callbacks("x")                   -- list of {body, remote, ok, time}
--   s:wait_callbacks("x", 3, 5)        -- waits for at least 3, up to 5 s
--   s:clear("x"); s:stop()
local socket = require("socket")
local env = require("support.env")
local process = require("support.process")
local http = require("support.http")

local site = {}

local Site = {}
Site.__index = Site

function Site:stop()
  return self.process:stop()
end

function Site:page_url(n, size)
  return self.url .. "/page/" .. n .. (size and ("?size=" .. size) or "")
end

function Site:status_url(code)
  return self.url .. "/status/" .. code
end

function Site:slow_url(ms)
  return self.url .. "/slow/" .. ms
end

function Site:callback_url(name)
  return self.url .. "/callback/" .. http.escape(name)
end

function Site:failing_callback_url(name)
  return self.url .. "/callback-fail/" .. http.escape(name)
end

function Site:callbacks(name)
  local res = assert(http.request{url = self.url .. "/_site/callbacks/" .. http.escape(name)})
  return http.json(res, 200).callbacks
end

-- Waits until at least n callbacks of name arrived (or timeout seconds went
-- by) and returns the list, whatever its length.
function Site:wait_callbacks(name, n, timeout)
  local deadline = socket.gettime() + (timeout or 5)
  local list
  repeat
    list = self:callbacks(name)
    if #list >= n then
      return list
    end
    socket.sleep(0.05)
  until socket.gettime() > deadline
  return list
end

function Site:clear(name)
  local res = assert(http.request{method = "DELETE",
    url = self.url .. "/_site/callbacks/" .. http.escape(name)})
  return http.json(res, 200)
end

function site.start(args)
  local argv = {"--port", "0"}
  for _, a in ipairs(args or {}) do
    argv[#argv + 1] = a
  end
  local p = process.start(env.bin("pushpull-testsite"), argv)
  return setmetatable({process = p, url = p.url, port = p.port, pid = p.pid}, Site)
end

return site
