-- Lua worker processes for specs that need more than one process (a
-- journal shared by several, a workflow killed and started again): a
-- script of spec/support/ run in the background by the interpreter busted
-- runs under, with the checkout's modules and the build's binding.
--
--   local w = workers.start("journal_worker.lua", {"share", ...})
--   w.pid;  w:running();  w:kill();  w:wait(30);  w:output();  w:log()
local socket = require("socket")
local env = require("support.env")
local process = require("support.process")
local files = require("support.files")

local workers = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local Worker = {}
Worker.__index = Worker

function Worker:running()
  return process.alive(self.pid)
end

-- SIGKILL, and waits until the process is gone.
function Worker:kill()
  os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
  return self:wait(10)
end

-- Waits up to timeout seconds for the process to end; true when it did.
-- Raises when its stderr holds a sanitizer report.
function Worker:wait(timeout)
  local deadline = socket.gettime() + timeout
  while self:running() and socket.gettime() < deadline do
    socket.sleep(0.02)
  end
  local report = process.sanitizer_report(self:log())
  if report then
    error("a worker reported a sanitizer error:\n" .. report, 2)
  end
  return not self:running()
end

function Worker:output()
  return files.read(self.out_path) or ""
end

function Worker:log()
  return files.read(self.err_path) or ""
end

function Worker:cleanup()
  os.remove(self.out_path)
  os.remove(self.err_path)
end

-- Waits for workers that print "got <id> <status>" for each job handed to
-- them and "finished" at the end; raises when one does not end within
-- timeout, does not finish, or a job is handed out twice or not done.
-- Returns given (id -> the worker's index) and per (index -> count).
function workers.handed(ws, timeout)
  local given, per = {}, {}
  for i, w in ipairs(ws) do
    if not w:wait(timeout) then
      error("worker " .. i .. " did not end: " .. w:log(), 2)
    end
    local out = w:output()
    if not out:find("finished", 1, true) then
      error("worker " .. i .. " did not finish: " .. w:log(), 2)
    end
    per[i] = 0
    for id, status in out:gmatch("got (%S+) (%S+)") do
      if given[id] then
        error("job " .. id .. " handed out twice", 2)
      end
      if status ~= "done" then
        error("job " .. id .. " handed out " .. status, 2)
      end
      given[id] = i
      per[i] = per[i] + 1
    end
    w:cleanup()
  end
  return given, per
end

-- Starts spec/support/<script> with the list args.
function workers.start(script, args)
  local lua = env.is_luajit and "luajit" or "lua5.4"
  local words = {lua, quote(env.root .. "/spec/support/" .. script)}
  for _, a in ipairs(args or {}) do
    words[#words + 1] = quote(a)
  end
  local out_path, err_path = os.tmpname(), os.tmpname()
  local cmd = ("LUA_PATH=%s LUA_CPATH=%s %s >%s 2>%s </dev/null & echo $!"):format(
    quote(env.root .. "/lua/?.lua;" .. env.root .. "/lua/?/init.lua;" .. env.root .. "/spec/?.lua;;"),
    quote(env.lib_dir .. "/?.so;;"), table.concat(words, " "), quote(out_path), quote(err_path))
  local p = assert(io.popen(cmd))
  local pid = tonumber((p:read("*a") or ""):match("%d+"))
  p:close()
  assert(pid, "could not start " .. script)
  return setmetatable({pid = pid, out_path = out_path, err_path = err_path}, Worker)
end

return workers
