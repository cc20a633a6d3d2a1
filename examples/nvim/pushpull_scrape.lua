-- :PushpullScrape -- scrape the URL under the cursor through Push-Pull and
-- open what came back in a new buffer. Neovim 0.7+.
--
--   :luafile examples/nvim/pushpull_scrape.lua
--   (or require("pushpull_scrape").setup{...} from your config, with this
--   folder, the repository's lua/ and its LuaJIT build on package.path/cpath)
--
-- The account comes from setup{username, password, base_url} or from
-- $PUSHPULL_USERNAME, $PUSHPULL_PASSWORD and $PUSHPULL_BASE_URL. The editor
-- never blocks: the job is waited for in a coroutine that the luv driver
-- resumes (through vim.schedule) when the result is in.
local M = {}

local config = {}
local client

local function get_client()
  if client then
    return client
  end
  local pushpull = require("pushpull")
  local c, err = pushpull.new{
    username = config.username or os.getenv("PUSHPULL_USERNAME") or "",
    password = config.password or os.getenv("PUSHPULL_PASSWORD") or "",
    base_url = config.base_url or os.getenv("PUSHPULL_BASE_URL"),
    loop = vim.uv or vim.loop,   -- the luv driver, on the editor's loop
  }
  if not c then
    error("pushpull: " .. tostring(err and err.message or err))
  end
  client = c
  return c
end

local function notify(msg, level)
  vim.notify("PushpullScrape: " .. msg, level or vim.log.levels.INFO)
end

-- Opens the result in a new scratch buffer.
local function show(url, result)
  vim.cmd("new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  pcall(vim.api.nvim_buf_set_name, buf, "pushpull://" .. url)
  local content = result.content
  if type(content) ~= "string" then
    content = vim.fn.json_encode(content)
  end
  local lines = vim.split(content, "\n", {plain = true})
  table.insert(lines, 1, ("-- %s  (status %s, job %s)"):format(url, tostring(result.status_code),
    tostring(result.job_id)))
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  if content:find("<html", 1, true) or content:find("<!doctype", 1, true) then
    vim.bo[buf].filetype = "html"
  end
end

-- Scrapes url (default: the URL under the cursor).
function M.scrape(url)
  url = (url and url ~= "") and url or vim.fn.expand("<cfile>")
  if not url:match("^https?://") then
    return notify("no http(s) URL under the cursor", vim.log.levels.WARN)
  end
  local c = get_client()
  coroutine.wrap(function()
    notify("submitting " .. url)
    local job, err = c:submit{source = "universal", url = url}
    if job then
      notify("job " .. job.id .. " submitted, waiting")
      local ok, werr = job:wait{timeout = tonumber(config.timeout) or 300}
      err = not ok and werr or nil
    end
    local res
    if not err then
      res, err = job:results()
    end
    if err then
      return notify(tostring(err.message or err), vim.log.levels.ERROR)
    end
    show(url, res[1])   -- resumed through vim.schedule: vim.api is fine here
  end)()
end

function M.setup(opts)
  config = opts or {}
  vim.api.nvim_create_user_command("PushpullScrape", function(a)
    M.scrape(a.args)
  end, {nargs = "?", desc = "Scrape the URL under the cursor (or the one given) with Push-Pull"})
  return M
end

-- :luafile of this file sets the command up with the environment's account.
if not ... then
  M.setup()
end

return M
