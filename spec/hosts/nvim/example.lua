-- Run by spec/hosts/nvim_driver_spec.lua: examples/nvim's :PushpullScrape
-- on a URL under the cursor; reports the buffer it opened.
local host = dofile(os.getenv("PUSHPULL_ROOT") .. "/spec/hosts/nvim/host.lua")
package.path = os.getenv("PUSHPULL_ROOT") .. "/examples/nvim/?.lua;" .. package.path
host.deadline(30000)

host.guard(function()
  require("pushpull_scrape").setup{username = "user", password = "pass1", base_url = os.getenv("EMULATOR")}
  vim.api.nvim_buf_set_lines(0, 0, -1, false, {"see " .. os.getenv("SITE") .. "/page/42 for more"})
  vim.api.nvim_win_set_cursor(0, {1, 8})
  vim.cmd("PushpullScrape")
  local t = host.uv.new_timer()
  t:start(50, 50, vim.schedule_wrap(function()
    if vim.fn.bufname():find("pushpull://", 1, true) then
      t:stop()
      t:close()
      host.finish{name = vim.fn.bufname(), lines = vim.api.nvim_buf_get_lines(0, 0, -1, false),
        windows = #vim.api.nvim_list_wins()}
    end
  end))
end)
