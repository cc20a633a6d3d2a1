-- Wall time and CPU of one run over another's, from summary.lua's JSON.
--
--   lua5.4 bench/client/ratio.lua SUMMARY_A SUMMARY_B
local cjson = require("cjson")

local function load(path)
  return cjson.decode(assert(io.open(path)):read("a"))
end
local a, b = load(arg[1]), load(arg[2])
print(string.format("%s / %s: wall %.2fs / %.2fs = %.1fx, cpu %.2fs / %.2fs = %.1fx",
  a.label, b.label, a.wall_s, b.wall_s, a.wall_s / b.wall_s, a.cpu_s, b.cpu_s, a.cpu_s / b.cpu_s))
