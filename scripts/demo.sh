#!/bin/sh
# The main job: build quietly, start the bundled emulator and a local site,
# then run a real Lua workflow (examples/batch_to_files.lua) that scrapes a
# batch of the site's pages through the emulator and writes every result to
# a folder; then say what happened and what to try next.
#
# The build's output goes to $BUILD_DIR/demo-build.log; only when the build
# fails is its end shown.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${PUSHPULL_BUILD_DIR:-build}
JOBS=${JOBS:-2}
OUT_DIR=${DEMO_OUT:-out/demo}
PAGES=${DEMO_PAGES:-200}
LOG=$BUILD_DIR/demo-build.log

echo "pushpull demo: $PAGES pages of a local site, scraped through the bundled emulator of the service"
echo

mkdir -p "$BUILD_DIR"
printf '%s' "building (Debian packages if missing, the C core, the Lua binding, the emulator) ... "
started=$(date +%s)
if ! make --no-print-directory build BUILD_DIR="$BUILD_DIR" JOBS="$JOBS" >"$LOG" 2>&1; then
  echo "failed"
  echo
  echo "the build failed; the end of $LOG:"
  tail -n 40 "$LOG"
  exit 1
fi
echo "done in $(($(date +%s) - started)) s (log: $LOG)"

. ./scripts/servers.sh

server_start emulator "$BUILD_DIR/bin/pushpull-emulator" --port 0 --user demo:demo-pass \
  --job-time uniform:200ms:1500ms --fault-rate 0.02
EMULATOR_URL=$SERVER_URL
server_start site "$BUILD_DIR/bin/pushpull-testsite" --port 0
SITE_URL=$SERVER_URL
echo "emulator: $EMULATOR_URL  (jobs take 0.2 to 1.5 s; 2% of them fault, as real jobs sometimes do)"
echo "site:     $SITE_URL  (the pages the jobs scrape)"
echo
echo "running examples/batch_to_files.lua:"
echo

rm -rf "$OUT_DIR"
rc=0
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;" LUA_CPATH="$BUILD_DIR/lua5.4/?.so;;" \
PUSHPULL_BASE_URL="$EMULATOR_URL" PUSHPULL_USERNAME=demo PUSHPULL_PASSWORD=demo-pass \
  lua5.4 examples/batch_to_files.lua "$SITE_URL" "$PAGES" "$OUT_DIR" || rc=$?
saved=$(find "$OUT_DIR" -name '*.json' 2>/dev/null | wc -l)

cat <<EOF

What happened: the script submitted $PAGES jobs in one batch request, the
emulator fetched each page from the site as the service would, and the
client polled each job (the results endpoint: a finished job costs one
request), wrote the results of each job that ended done to
$OUT_DIR/<job id>.json as it ended ($saved files), and reported the faulted
ones (the service does not bill them).

Try next:
  the real service   PUSHPULL_USERNAME=you PUSHPULL_PASSWORD=secret \\
                       bin/pushpull submit source=universal url=https://example.com --out out/
  the command line   bin/pushpull --help
                     bin/pushpull batch urls.txt --out out/    (one URL a line, any number)
  see what it does   PUSHPULL_DEBUG=1 in front of any of these: each request, retry, poll and callback
  the examples       examples/cloud_storage.lua, examples/scheduler.lua,
                     examples/openresty (nginx), examples/nvim (Neovim)
  the emulator       $BUILD_DIR/bin/pushpull-emulator --help   (doc/emulator.md)
  the docs           README.md (a five-minute tour), doc/lua-api.md
EOF
exit "$rc"
