#!/bin/sh
# Client benchmarks against the bundled emulator and the local test site.
# Prints the figures bench/README.md reports. Each group below runs against
# one emulator process (started for the group) and the one test site, so the
# runs of a group are measured side by side.
#
#   bench/run.sh [COUNT]          (default 5000)
#   ONLY="bare-multi pushpull-instant" bench/run.sh   (some runs only)
#
# Groups and their runs (labels for ONLY):
#   natural loop, --job-time 0: natural-1mb (NATURAL_BIG_COUNT results of
#     1 MB, default 1000), natural-20kb (COUNT results of 20 KB)
#   fetch, --job-time 0, COUNT jobs of 20 KB to files: pushpull-instant,
#     curl-baseline-instant, bare-multi, bare-multi-durable
#   lognormal, --job-time lognormal:3s:0.6: pushpull-lognormal,
#     pushpull-callbacks, curl-baseline-lognormal (BASELINE_COUNT jobs)
#   workflow, --job-time uniform:5s:15s: pushpull-workflow (WORKFLOW_COUNT
#     jobs, default 50000, to a folder), pushpull-workflow-journal (the
#     same with a job journal)
#   fleet, --job-time 0: fleet-throughput (FLEET_COUNT jobs, default 6000,
#     of one tag shared by 1, 2 and 4 worker processes on one redis-server:
#     bench/fleet/throughput.lua; FLEET_FSYNC sets its appendfsync,
#     FLEET_PROCS="1 2 4" the fleet sizes)
#   journal, --job-time 0, COUNT jobs of 20 KB to files, without and with a
#     job journal, twice in turn: pushpull-nojournal, pushpull-journal,
#     pushpull-nojournal-2, pushpull-journal-2
#   instructions, --job-time 0, INSTR_COUNT jobs (default 1000) under
#     callgrind, without and with a journal: instructions-nojournal,
#     instructions-journal
#
# RESULTS_ROOT=/dev/shm: where the result folders go (default: a scratch
# folder under $TMPDIR); a tmpfs there takes the disk (and fsync) out.
#
# WAIT_LOAD=1.5: on a shared machine, first wait (checking every 60 s, at
# most WAIT_MAX seconds, default 2400) until the 1-minute load average is
# under that; runs anyway after that, and says so. Each group prints the
# load it started at.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${PUSHPULL_BUILD_DIR:-$ROOT/build}
COUNT=${1:-5000}
BASELINE_COUNT=${BASELINE_COUNT:-$COUNT}
NATURAL_BIG_COUNT=${NATURAL_BIG_COUNT:-1000}
WORKFLOW_COUNT=${WORKFLOW_COUNT:-50000}
INSTR_COUNT=${INSTR_COUNT:-1000}
FLEET_COUNT=${FLEET_COUNT:-6000}
PAGE=20000
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$BUILD_DIR/lua5.4/?.so;;"

# The bare curl-multi fetcher: the system cc against libcurl.
BARE=$BUILD_DIR/bench/bare_multi
if [ ! -x "$BARE" ] || [ -n "$(find bench/client/bare_multi.c -newer "$BARE")" ]; then
  mkdir -p "$BUILD_DIR/bench"
  # shellcheck disable=SC2046
  ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror $(pkg-config --cflags libcurl) \
    bench/client/bare_multi.c -o "$BARE" $(pkg-config --libs libcurl)
fi

load1() { cut -d' ' -f1 /proc/loadavg; }

if [ -n "${WAIT_LOAD:-}" ]; then
  waited=0
  until [ "$(echo "$(load1) < $WAIT_LOAD" | awk '{ print ($1 < $3) }')" = 1 ]; do
    if [ "$waited" -ge "${WAIT_MAX:-2400}" ]; then
      echo "load still $(load1) after ${waited}s: running anyway"
      break
    fi
    sleep 60
    waited=$((waited + 60))
  done
fi

. ./scripts/servers.sh
tmp=$SCRATCH
results=$(mktemp -d "${RESULTS_ROOT:-$tmp}/results.XXXXXX")
trap 'rm -rf "$results"; servers_stop' EXIT

server_start site "$BUILD_DIR/bin/pushpull-testsite" --port 0
SITE=$SERVER_URL

wanted() {
  for _l in "$@"; do
    case " ${ONLY:-$_l} " in *" $_l "*) return 0 ;; esac
  done
  return 1
}

# group TITLE JOB_TIME LABEL...: starts the emulator of a group when one of
# its runs is wanted; returns 1 (skip the group) otherwise.
group() {
  title=$1 job_time=$2; shift 2
  wanted "$@" || return 1
  echo "== $title, --job-time $job_time (1-minute load average at the start: $(load1))"
  server_start "emu-$1" "$BUILD_DIR/bin/pushpull-emulator" --port 0 --user user:pass1 --job-time "$job_time" ||
    exit 1
  emu=$SERVER_URL emu_pid=$SERVER_PID
}

group_end() {
  server_stop "$emu_pid"
}

# timed LABEL COMMAND...: runs COMMAND under /usr/bin/time -v, its standard
# output to the run's JSON file, and samples (every 0.2 s) how many files
# the client holds open into $tmp/fds-LABEL and its anonymous memory (the
# heap and other memory it allocated: peak RSS without the libraries' code
# pages, which are shared and mapped 64 KB at a time) into $tmp/anon-LABEL.
timed() {
  _label=$1; shift
  /usr/bin/time -v -o "$tmp/time-$_label" "$@" >"$tmp/res-$_label.json" &
  _timer=$!
  _max=0 _anon=0
  while kill -0 "$_timer" 2>/dev/null; do
    _client=$(pgrep -P "$_timer" | head -n 1) || true
    if [ -n "$_client" ]; then
      _n=$(ls "/proc/$_client/fd" 2>/dev/null | wc -l)
      [ "$_n" -gt "$_max" ] && _max=$_n
      _a=$(awk '/^RssAnon:/ { print $2 }' "/proc/$_client/status" 2>/dev/null) || true
      [ -n "$_a" ] && [ "$_a" -gt "$_anon" ] && _anon=$_a
    fi
    sleep 0.2
  done
  echo "$_max" >"$tmp/fds-$_label"
  echo "$_anon" >"$tmp/anon-$_label"
  wait "$_timer"
}

# summary LABEL OUT_DIR: one line of figures from the run's JSON line and
# /usr/bin/time's report; removes the results.
summary() {
  files=$(find "$2" -name '*.json' | wc -l)
  bytes=$(du -sb "$2" | cut -f1)
  lua5.4 bench/client/summary.lua "$1" "$tmp/res-$1.json" "$tmp/time-$1" "$files" "$bytes" "$tmp/sum-$1.json" \
    "$(cat "$tmp/fds-$1")" "$(cat "$tmp/anon-$1")"
  rm -rf "$2"
}

# run LABEL SCRIPT COUNT [CALLBACK]: a Lua client against the group's
# emulator; CALLBACK=1 makes batch.lua listen for callbacks.
run() {
  label=$1; script=$2; count=$3; callback=${4:-0}
  wanted "$label" || return 0
  out="$results/$label"
  BENCH_CALLBACK=$callback timed "$label" lua5.4 "$script" "$emu" "$SITE" "$count" "$out" $PAGE
  summary "$label" "$out"
  if [ "$job_time" != 0 ] && [ "${NOTICE_DELAY:-1}" = 1 ]; then
    printf '%-24s ' "$label"
    lua5.4 bench/client/notice_delay.lua "$emu" <"$tmp/res-$label.json"
  fi
}

# natural LABEL COUNT SIZE: the loop a user writes first (no results_dir).
natural() {
  label=$1
  wanted "$label" || return 0
  out="$results/$label"
  timed "$label" lua5.4 bench/client/natural_loop.lua "$emu" "$SITE" "$2" "$out" "$3"
  summary "$label" "$out"
}

# bare LABEL COUNT [--durable]: the batch submitted and ended first (timed
# apart, not part of the figures), then every result fetched by bare_multi.
bare() {
  label=$1; count=$2; shift 2
  wanted "$label" || return 0
  out="$results/$label"
  mkdir -p "$out"
  /usr/bin/time -f %e -o "$tmp/submit-$label" \
    lua5.4 bench/client/submit_ids.lua "$emu" "$SITE" "$count" $PAGE "$tmp/ids-$label"
  printf '%-24s batch submitted and ended before the fetch in %ss (not counted)\n' \
    "$label" "$(cat "$tmp/submit-$label")"
  timed "$label" "$BARE" "$@" "$emu" user:pass1 "$tmp/ids-$label" "$out"
  summary "$label" "$out"
}

# ratio A B: A's wall time and CPU over B's.
ratio() {
  [ -f "$tmp/sum-$1.json" ] && [ -f "$tmp/sum-$2.json" ] || return 0
  lua5.4 bench/client/ratio.lua "$tmp/sum-$1.json" "$tmp/sum-$2.json"
}

if group "the natural loop (save_results, no results_dir)" 0 natural-1mb natural-20kb; then
  natural natural-1mb "$NATURAL_BIG_COUNT" 1000000
  natural natural-20kb "$COUNT" $PAGE
  group_end
fi

if group "$COUNT URLs, 20 KB pages, results streamed to files" 0 \
  pushpull-instant curl-baseline-instant bare-multi bare-multi-durable; then
  run pushpull-instant bench/client/batch.lua "$COUNT"
  run curl-baseline-instant bench/client/baseline_curl.lua "$COUNT"
  bare bare-multi "$COUNT"
  bare bare-multi-durable "$COUNT" --durable
  ratio pushpull-instant bare-multi
  ratio pushpull-instant bare-multi-durable
  ratio curl-baseline-instant bare-multi
  group_end
fi

if group "$COUNT URLs, 20 KB pages, results streamed to files" lognormal:3s:0.6 \
  pushpull-lognormal pushpull-callbacks curl-baseline-lognormal; then
  run pushpull-lognormal bench/client/batch.lua "$COUNT"
  run pushpull-callbacks bench/client/batch.lua "$COUNT" 1
  run curl-baseline-lognormal bench/client/baseline_curl.lua "$BASELINE_COUNT"
  group_end
fi

if group "$COUNT URLs, 20 KB pages, results streamed to files, without and with a journal" 0 \
  pushpull-nojournal pushpull-journal pushpull-nojournal-2 pushpull-journal-2; then
  for pass in "" -2; do
    run "pushpull-nojournal$pass" bench/client/batch.lua "$COUNT"
    rm -f "$results/jobs$pass.db"*
    BENCH_JOURNAL="$results/jobs$pass.db" run "pushpull-journal$pass" bench/client/batch.lua "$COUNT"
    ratio "pushpull-journal$pass" "pushpull-nojournal$pass"
  done
  group_end
fi

# instructions LABEL [JOURNAL]: INSTR_COUNT jobs of batch.lua under
# callgrind, which counts the client's instructions: a figure a loaded
# machine does not move, where wall time moves by more than the difference.
instructions() {
  label=$1
  wanted "$label" || return 0
  out="$results/$label"
  BENCH_TIMEOUT=300 env ${2:+BENCH_JOURNAL="$2"} valgrind --tool=callgrind \
    --callgrind-out-file="$tmp/callgrind-$label" lua5.4 bench/client/batch.lua \
    "$emu" "$SITE" "$INSTR_COUNT" "$out" $PAGE >/dev/null 2>"$tmp/valgrind-$label"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/valgrind-$label")
  printf '%-24s jobs=%d instructions=%s (%s per job)\n' "$label" "$INSTR_COUNT" "$ir" \
    "$((ir / INSTR_COUNT))"
  echo "$ir" >"$tmp/ir-$label"
  rm -rf "$out"
}

if group "$INSTR_COUNT URLs, 20 KB pages, to files, under callgrind, without and with a journal" 0 \
  instructions-nojournal instructions-journal; then
  instructions instructions-nojournal
  instructions instructions-journal "$results/instructions.db"
  if [ -f "$tmp/ir-instructions-nojournal" ] && [ -f "$tmp/ir-instructions-journal" ]; then
    awk -v a="$(cat "$tmp/ir-instructions-journal")" -v b="$(cat "$tmp/ir-instructions-nojournal")" \
      'BEGIN { printf "instructions-journal / instructions-nojournal: %.3fx\n", a / b }'
  fi
  group_end
fi

if group "$WORKFLOW_COUNT URLs, 20 KB pages, results to a folder" uniform:5s:15s \
  pushpull-workflow pushpull-workflow-journal; then
  NOTICE_DELAY=${NOTICE_DELAY:-0} run pushpull-workflow bench/client/batch.lua "$WORKFLOW_COUNT"
  BENCH_JOURNAL="$results/workflow.db" NOTICE_DELAY=${NOTICE_DELAY:-0} \
    run pushpull-workflow-journal bench/client/batch.lua "$WORKFLOW_COUNT"
  ratio pushpull-workflow-journal pushpull-workflow
  group_end
fi

if group "the fleet on one Redis" 0 fleet-throughput; then
  # shellcheck disable=SC2086
  lua5.4 bench/fleet/throughput.lua "$emu" "$SITE" "$FLEET_COUNT" ${FLEET_PROCS:-}
  group_end
fi
