#!/bin/sh
# Client benchmarks: a batch of URLs through pushpull and through a plain-Lua
# baseline that shells out to curl, against the bundled emulator and the local
# site. Prints the figures bench/README.md reports.
#
#   bench/run.sh [COUNT]          (default 5000)
#   ONLY="pushpull-lognormal pushpull-callbacks" bench/run.sh   (some runs only)
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${PUSHPULL_BUILD_DIR:-$ROOT/build}
COUNT=${1:-5000}
BASELINE_COUNT=${BASELINE_COUNT:-$COUNT}
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$BUILD_DIR/lua5.4/?.so;;"

. ./scripts/servers.sh
tmp=$SCRATCH

server_start site "$BUILD_DIR/bin/pushpull-testsite" --port 0
SITE=$SERVER_URL

# run LABEL JOB_TIME SCRIPT COUNT [CALLBACK]: one run against a fresh
# emulator; CALLBACK=1 makes batch.lua listen for callbacks.
run() {
  label=$1; job_time=$2; script=$3; count=$4; callback=${5:-0}
  case " ${ONLY:-$label} " in *" $label "*) ;; *) return 0 ;; esac
  server_start "emu-$label" "$BUILD_DIR/bin/pushpull-emulator" --port 0 --user user:pass1 --job-time "$job_time"
  emu=$SERVER_URL emu_pid=$SERVER_PID
  out="$tmp/out-$label"
  BENCH_CALLBACK=$callback /usr/bin/time -v -o "$tmp/time-$label" lua5.4 "$script" "$emu" "$SITE" "$count" "$out" 20000 >"$tmp/res-$label.json"
  files=$(find "$out" -name '*.json' | wc -l)
  bytes=$(du -sb "$out" | cut -f1)
  lua5.4 bench/client/summary.lua "$label" "$tmp/res-$label.json" "$tmp/time-$label" "$files" "$bytes"
  if [ "$job_time" != 0 ]; then
    printf '%-24s ' "$label"
    lua5.4 bench/client/notice_delay.lua "$emu" <"$tmp/res-$label.json"
  fi
  server_stop "$emu_pid"
  rm -rf "$out"
}

echo "== $COUNT URLs, 20 KB pages, results streamed to files"
run pushpull-instant 0 bench/client/batch.lua "$COUNT"
run pushpull-lognormal lognormal:3s:0.6 bench/client/batch.lua "$COUNT"
run pushpull-callbacks lognormal:3s:0.6 bench/client/batch.lua "$COUNT" 1
run curl-baseline-instant 0 bench/client/baseline_curl.lua "$BASELINE_COUNT"
run curl-baseline-lognormal lognormal:3s:0.6 bench/client/baseline_curl.lua "$BASELINE_COUNT"
