#!/bin/sh
# Emulator capacity: request rates with wrk, a 5,000-value batch, and the
# resident memory before and after jobs expire. Prints the figures that
# bench/README.md reports under "Emulator capacity".
#
#   bench/emulator/run.sh            (uses build/bin/pushpull-emulator)
#   PUSHPULL_BUILD_DIR=/tmp/b DURATION=10 bench/emulator/run.sh
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${PUSHPULL_BUILD_DIR:-$ROOT/build}
EMU=$BUILD_DIR/bin/pushpull-emulator
DURATION=${DURATION:-10}
AUTH_LUA=$ROOT/bench/emulator/auth.lua
AUTH="user:pass1"

. ./scripts/servers.sh
tmp=$SCRATCH

# start_emulator ARGS...: starts one more emulator, sets pid and BASE.
start_emulator() {
  server_start emulator "$EMU" --port 0 --workers 2 --storage-dir "$tmp/storage" "$@"
  pid=$SERVER_PID
  BASE=$SERVER_URL
}
json_field() { # json_field FIELD < json: the first "FIELD":"value" string
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}
submit() { curl -s -u "$AUTH" "$BASE/v1/queries" -H 'Content-Type: application/json' -d "$1"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
wrk_line() { # wrk_line LABEL URL
  out=$(wrk -t2 -c64 -d"${DURATION}s" -s "$AUTH_LUA" "$2")
  rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec/ {print $2}')
  lat=$(printf '%s\n' "$out" | awk '/^    Latency/ {print $2}')
  bad=$(printf '%s\n' "$out" | awk '/Non-2xx/ {print $5}')
  printf '%-44s %10s req/s  avg latency %-8s non-2xx %s\n' "$1" "$rps" "$lat" "${bad:-0}"
}

start_emulator
echo "== emulator capacity ($(nproc) cores, wrk -t2 -c64 -d${DURATION}s, MHD pool of 2 threads)"
small=$(submit '{"source":"universal","query":"capacity"}' | json_field id)
big=$(submit '{"source":"universal","query":"capacity big","limit":100}' | json_field id)
sleep 0.2
size=$(curl -s -o /dev/null -w '%{size_download}' -u "$AUTH" "$BASE/v1/queries/$big/results/1/content")
wrk_line "GET /v1/queries/{id}" "$BASE/v1/queries/$small"
wrk_line "GET /v1/queries/{id}/results (page ${size} B)" "$BASE/v1/queries/$big/results"
wrk_line "GET .../results?type=parsed (page ${size} B)" "$BASE/v1/queries/$big/results?type=parsed"

awk 'BEGIN { printf "{\"source\":\"universal\",\"query\":[" ;
  for (i = 0; i < 5000; i++) printf "%s\"q%d\"", (i ? "," : ""), i; print "]}" }' >"$tmp/batch.json"
for n in 1 2 3; do
  curl -s -o "$tmp/batch.out" -w "POST /v1/queries/batch, 5000 queries: %{http_code} in %{time_total} s, %{size_download} B\n" \
    -u "$AUTH" -H 'Content-Type: application/json' --data-binary @"$tmp/batch.json" "$BASE/v1/queries/batch"
  sleep 1 # a fresh rate-limit second
done

kill "$pid"

# Memory: a second emulator whose jobs expire 3 s after they end. Each round
# creates 50,000 jobs and serves GETs; after expiry the resident size must
# come back to the same level round after round.
start_emulator --retention 3
echo "== memory (VmRSS): rounds of 10 batches of 5000 jobs + ${DURATION}s of GETs, then expiry"
echo "idle: $(rss_kb) kB"
for round in $(seq 1 "${ROUNDS:-5}"); do
  for b in 1 2 3 4 5 6 7 8 9 10; do
    curl -s -o /dev/null -u "$AUTH" -H 'Content-Type: application/json' --data-binary @"$tmp/batch.json" "$BASE/v1/queries/batch"
  done
  loaded=$(rss_kb)
  id=$(submit '{"source":"universal","query":"memory"}' | json_field id)
  wrk -t2 -c64 -d"${DURATION}s" -s "$AUTH_LUA" "$BASE/v1/queries/$id" >/dev/null
  sleep 4 # retention 3 s + a sweep
  left=$(curl -s "$BASE/_emulator/stats" | sed -n 's/.*"jobs":{\([^}]*\)}.*/\1/p')
  echo "round $round: after 50000 jobs $loaded kB, after expiry $(rss_kb) kB (jobs left: $left)"
done
