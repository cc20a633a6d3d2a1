-- Starts Debian's nginx (with libnginx-mod-http-lua) for the host specs:
-- its own prefix under a temporary folder, its own config rendered from a
-- template, a free port, a real master process and its workers.
--
--   local nginx = require("support.nginx")
--   local srv = nginx.start{ template = "spec/hosts/nginx/driver.conf",
--                            vars = { EMULATOR = "http://127.0.0.1:1234" } }
--   ... srv.url .. "/path" ...
--   srv:stop()
--
-- Templates use ${NAME} placeholders; these are always defined:
--   PREFIX, PORT, ROOT (the repository), LUA_PATH, LUA_CPATH, WORKERS, USER
--   (a `user` directive, needed when the tests run as root), MODULES (the
--   load_module lines) and COMMON_HTTP (temp paths, package paths).
local socket = require("socket")
local common = require("hosts.common")

local M = {}

M.binary = os.getenv("PUSHPULL_NGINX") or "nginx"
M.modules_dir = os.getenv("PUSHPULL_NGINX_MODULES") or "/usr/lib/nginx/modules"
M.root = common.root

local started = {}   -- every server not yet stopped, to stop them at exit

local sh_quote, read_file, write_file, run = common.sh_quote, common.read_file, common.write_file, common.run

function M.build_dir()
  return common.build_dir
end

-- A TCP port nobody listens on right now.
function M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- True while pid runs; a zombie counts as gone.
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "rb")
  if not f then return false end
  local stat = f:read("a") or ""
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end
M.alive = alive

local own_pid
local function self_pid()
  if not own_pid then
    own_pid = tonumber(common.line("echo $PPID"))
  end
  return own_pid
end

-- ps without the sanitizer runtimes make sanitize preloads: under them
-- ps hangs in a futex at its start.
local PS = "env -u LD_PRELOAD ps"

-- A detached shell starts nginx, stays its parent (so that nginx is reaped
-- when it ends), writes its pid to pidfile and watches: when the Lua process
-- that started it is gone, whatever happened to the spec, it stops nginx,
-- master then any worker left.
local function supervisor(cmd, stderr_path, pidfile)
  local me = self_pid() or 1
  return "( up() { st=$(sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -c1); [ -n \"$st\" ] && [ \"$st\" != Z ]; };"
    .. " " .. cmd .. " >" .. sh_quote(stderr_path) .. " 2>&1 </dev/null & n=$!; echo $n >" .. sh_quote(pidfile) .. ";"
    .. " ( while up " .. me .. " && up $n; do sleep 1; done;"
    .. " if ! up " .. me .. "; then w=$(" .. PS .. " -o pid= --ppid $n);"
    .. " kill -TERM $n 2>/dev/null; sleep 3; kill -KILL $n $w 2>/dev/null; fi ) &"
    .. " wait $n ) </dev/null >/dev/null 2>&1 &"
end

local function children(pid)
  local out = {}
  local p = io.popen(PS .. " -o pid= --ppid " .. pid .. " 2>/dev/null")
  if p then
    for line in p:lines() do
      local c = tonumber(line)
      if c then out[#out + 1] = c end
    end
    p:close()
  end
  return out
end

local function can_connect(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

local function render(template, vars)
  return (template:gsub("%${([%w_]+)}", function(name)
    local v = vars[name]
    if v == nil then error("nginx template: no value for ${" .. name .. "}", 0) end
    return tostring(v)
  end))
end

local Server = {}
Server.__index = Server

function Server:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

-- Lines of the error log at level `level` or worse ("error", "warn", ...).
function Server:log_lines(pattern)
  local out = {}
  for line in self:error_log():gmatch("[^\n]+") do
    if line:find(pattern) then out[#out + 1] = line end
  end
  return out
end

function Server:stop()
  if not self.pid then return end
  local pid = self.pid
  self.pid = nil
  started[self] = nil
  local workers = children(pid)
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  local deadline = socket.gettime() + 5
  while alive(pid) and socket.gettime() < deadline do socket.sleep(0.05) end
  if alive(pid) then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
  for _, w in ipairs(workers) do
    if alive(w) then os.execute("kill -KILL " .. w .. " 2>/dev/null") end
  end
  if not os.getenv("PUSHPULL_KEEP_PREFIX") then
    os.execute("rm -rf " .. sh_quote(self.prefix))
  end
end

-- opts.template (path) or opts.conf (text); opts.vars; opts.workers (2).
function M.start(opts)
  opts = opts or {}
  local prefix = opts.prefix
  prefix = prefix or common.mktemp(true)
  for _, d in ipairs{ "conf", "logs", "tmp" } do
    os.execute("mkdir -p " .. sh_quote(prefix .. "/" .. d))
  end
  local port = opts.port or M.free_port()
  local build = M.build_dir()
  local vars = {
    PREFIX = prefix,
    PORT = port,
    ROOT = M.root,
    WORKERS = opts.workers or 2,
    LUA_PATH = M.root .. "/lua/?.lua;" .. M.root .. "/lua/?/init.lua;"
      .. M.root .. "/spec/hosts/?.lua;" .. M.root .. "/examples/openresty/?.lua;;",
    LUA_CPATH = build .. "/luajit/?.so;;",
  }
  vars.MODULES = "load_module " .. M.modules_dir .. "/ndk_http_module.so;\n"
    .. "load_module " .. M.modules_dir .. "/ngx_http_lua_module.so;"
  -- Workers of a root master run as nobody by default; keep the test user.
  local uid = common.line("id -u")
  vars.USER = uid == "0" and "user root root;" or ""
  vars.COMMON_HTTP = table.concat({
    "client_body_temp_path " .. prefix .. "/tmp/body;",
    "proxy_temp_path " .. prefix .. "/tmp/proxy;",
    "fastcgi_temp_path " .. prefix .. "/tmp/fastcgi;",
    "uwsgi_temp_path " .. prefix .. "/tmp/uwsgi;",
    "scgi_temp_path " .. prefix .. "/tmp/scgi;",
    'lua_package_path "' .. vars.LUA_PATH .. '";',
    'lua_package_cpath "' .. vars.LUA_CPATH .. '";',
  }, "\n  ")
  for k, v in pairs(opts.vars or {}) do vars[k] = v end

  local text = opts.conf or assert(read_file(opts.template), "no template " .. tostring(opts.template))
  local conf = prefix .. "/conf/nginx.conf"
  write_file(conf, render(text, vars))

  local env = ""
  for k, v in pairs(opts.env or {}) do env = env .. k .. "=" .. sh_quote(v) .. " " end
  local cmd = env .. sh_quote(M.binary) .. " -p " .. sh_quote(prefix .. "/") .. " -c " .. sh_quote(conf)
    .. " -g 'daemon off;'"
  local pidfile = prefix .. "/logs/master.pid"
  os.remove(pidfile)
  run(supervisor(cmd, prefix .. "/logs/stderr.log", pidfile))
  local pid
  for _ = 1, 200 do
    pid = tonumber(read_file(pidfile) or "")
    if pid then break end
    socket.sleep(0.01)
  end
  if not pid then error("nginx: could not start " .. cmd, 2) end
  local srv = setmetatable({ pid = pid, prefix = prefix, port = port, conf = conf,
    url = "http://127.0.0.1:" .. port }, Server)
  started[srv] = true

  local deadline = socket.gettime() + (opts.start_timeout or 10)
  while true do
    if not alive(pid) then
      local why = (read_file(prefix .. "/logs/stderr.log") or "") .. srv:error_log()
      srv.pid = nil
      started[srv] = nil
      error("nginx did not start: " .. why, 2)
    end
    if can_connect(port) then break end
    if socket.gettime() > deadline then
      local why = srv:error_log()
      srv:stop()
      error("nginx did not listen on port " .. port .. ": " .. why, 2)
    end
    socket.sleep(0.05)
  end
  return srv
end

-- Stop every server still running (for an `after`/`teardown` hook or exit).
function M.stop_all()
  for srv in pairs(started) do srv:stop() end
end

-- Stop leftovers when the Lua state closes (busted exits): a global object
-- whose finalizer runs at lua_close (a userdata under Lua 5.1/LuaJIT).
if newproxy then
  M._guard = newproxy(true)
  getmetatable(M._guard).__gc = function() M.stop_all() end
else
  M._guard = setmetatable({}, { __gc = function() M.stop_all() end })
end
_G.__pushpull_nginx_guard = M._guard

return M
