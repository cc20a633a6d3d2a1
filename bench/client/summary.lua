-- One line of figures from a benchmark's JSON line and /usr/bin/time -v's report.
--
--   lua5.4 bench/client/summary.lua LABEL RESULT_JSON TIME_REPORT FILES BYTES
local cjson = require("cjson")

local label, result_path, time_path, files, bytes = arg[1], arg[2], arg[3], arg[4], arg[5]
local r = cjson.decode(assert(io.open(result_path)):read("a"))
local t = assert(io.open(time_path)):read("a")
local user = tonumber(t:match("User time %(seconds%): ([%d.]+)"))
local sys = tonumber(t:match("System time %(seconds%): ([%d.]+)"))
local rss = tonumber(t:match("Maximum resident set size %(kbytes%): (%d+)"))
print(string.format("%-24s jobs=%d wall=%.2fs cpu=%.2fs peak_rss=%.1fMB requests/job=%.3f files=%s bytes=%s",
  label, r.jobs, r.wall_s, user + sys, rss / 1024, r.requests_per_job, files, bytes))
