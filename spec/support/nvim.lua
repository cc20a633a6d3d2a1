-- Runs a Lua script inside a real headless Neovim (0.7+: no `nvim -l`, so
-- `nvim --headless -u NONE -c 'luafile SCRIPT'`) under `timeout`, and
-- returns what the script reported.
--
--   local nvim = require("support.nvim")
--   local report, log = nvim.run("spec/hosts/nvim/waits.lua", { EMULATOR = url })
--
-- The script sees its settings as environment variables, plus PUSHPULL_ROOT,
-- PUSHPULL_BUILD_DIR and PUSHPULL_NVIM_OUT, and usually begins with
--   local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
-- which sets package paths, and ends with host.finish(table): the table is
-- written as JSON to PUSHPULL_NVIM_OUT and Neovim quits. run() decodes it.
local cjson = require("cjson")
local common = require("hosts.common")

local M = {}

M.binary = os.getenv("PUSHPULL_NVIM") or "nvim"
M.root = common.root

local sh_quote, read_file = common.sh_quote, common.read_file

-- True when a usable nvim is installed.
function M.available()
  local p = io.popen(sh_quote(M.binary) .. " --version 2>/dev/null")
  local out = p and p:read("*a") or ""
  if p then p:close() end
  return out:find("NVIM v") ~= nil
end

-- Runs script (a path) with env (table of NAME = value) for at most
-- opts.timeout seconds (60). Returns the decoded report, or nil and a message
-- with whatever Neovim printed.
function M.run(script, env, opts)
  opts = opts or {}
  if script:sub(1, 1) ~= "/" then script = M.root .. "/" .. script end
  local out = common.mktemp()
  local log = common.mktemp()
  local vars = {
    PUSHPULL_ROOT = M.root,
    PUSHPULL_BUILD_DIR = common.build_dir,
    PUSHPULL_NVIM_OUT = out,
  }
  for k, v in pairs(env or {}) do vars[k] = v end
  local prefix = ""
  for k, v in pairs(vars) do prefix = prefix .. k .. "=" .. sh_quote(v) .. " " end
  -- timeout kills nvim (and with -k, for sure) if the script never quits;
  -- nvim's children die with it (they watch their parent's pipes).
  local cmd = prefix .. "timeout -k 5 " .. (opts.timeout or 60) .. " " .. sh_quote(M.binary)
    .. " --headless -u NONE -i NONE -n -c " .. sh_quote("luafile " .. script)
    .. " </dev/null >" .. sh_quote(log) .. " 2>&1"
  local r = os.execute(cmd)
  local ok = r == true or r == 0
  local text = read_file(out) or ""
  local printed = read_file(log) or ""
  os.remove(out)
  os.remove(log)
  if text == "" then
    return nil, "nvim wrote no report (" .. (ok and "exit 0" or "failed or timed out") .. "): " .. printed
  end
  local okj, report = pcall(cjson.decode, text)
  if not okj then return nil, "bad report: " .. text .. "\n" .. printed end
  return report, printed
end

return M
