-- One line of figures from a benchmark's JSON line and /usr/bin/time -v's
-- report; with SUMMARY_JSON, the same figures as JSON for ratio.lua.
--
--   lua5.4 bench/client/summary.lua LABEL RESULT_JSON TIME_REPORT FILES BYTES [SUMMARY_JSON [PEAK_FDS [PEAK_ANON_KB]]]
--
-- PEAK_ANON_KB: the most anonymous memory (RssAnon) seen while sampling;
-- 0 or absent: not sampled.
local cjson = require("cjson")

local label, result_path, time_path, files, bytes, summary_path = arg[1], arg[2], arg[3], arg[4], arg[5], arg[6]
local peak_fds = tonumber(arg[7] or "")
local peak_anon = tonumber(arg[8] or "")
if peak_anon == 0 then peak_anon = nil end
local r = cjson.decode(assert(io.open(result_path)):read("a"))
local t = assert(io.open(time_path)):read("a")
local user = tonumber(t:match("User time %(seconds%): ([%d.]+)"))
local sys = tonumber(t:match("System time %(seconds%): ([%d.]+)"))
local rss = tonumber(t:match("Maximum resident set size %(kbytes%): (%d+)"))
local s = {
  label = label, jobs = r.jobs, wall_s = r.wall_s, cpu_s = user + sys, peak_rss_mb = rss / 1024,
  requests = r.requests, requests_per_job = r.requests_per_job or r.requests / r.jobs, peak_fds = peak_fds,
  peak_anon_mb = peak_anon and peak_anon / 1024,
}
print(string.format("%-24s jobs=%d wall=%.2fs cpu=%.2fs peak_rss=%.1fMB%s requests=%d requests/job=%.3f files=%s bytes=%s%s",
  label, s.jobs, s.wall_s, s.cpu_s, s.peak_rss_mb, peak_anon and string.format(" peak_anon=%.1fMB", s.peak_anon_mb) or "",
  s.requests, s.requests_per_job, files, bytes, peak_fds and (" peak_open_files=" .. peak_fds) or ""))
if r.ended and (r.ended.fetched or 0) + (r.ended.faulted or 0) < r.jobs then
  local parts = {}
  for state, n in pairs(r.ended) do parts[#parts + 1] = state .. "=" .. n end
  table.sort(parts)
  print(string.format("%-24s not all fetched: %s; first error: %s", label, table.concat(parts, " "),
    tostring(r.first_error)))
end
if summary_path then
  local f = assert(io.open(summary_path, "w"))
  f:write(cjson.encode(s), "\n")
  f:close()
end
