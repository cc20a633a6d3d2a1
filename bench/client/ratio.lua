-- Wall time, CPU and peak memory of one run over another's, from
-- summary.lua's JSON (memory as a difference: what one run holds more).
--
--   lua5.4 bench/client/ratio.lua SUMMARY_A SUMMARY_B
local cjson = require("cjson")

local function load(path)
  return cjson.decode(assert(io.open(path)):read("a"))
end
local a, b = load(arg[1]), load(arg[2])
print(string.format("%s / %s: wall %.2fs / %.2fs = %.1fx, cpu %.2fs / %.2fs = %.1fx",
  a.label, b.label, a.wall_s, b.wall_s, a.wall_s / b.wall_s, a.cpu_s, b.cpu_s, a.cpu_s / b.cpu_s))
local memory = string.format("  peak_rss %+.1fMB", a.peak_rss_mb - b.peak_rss_mb)
if a.peak_anon_mb and b.peak_anon_mb then
  memory = memory .. string.format(", peak_anon %+.1fMB", a.peak_anon_mb - b.peak_anon_mb)
end
print(memory)
