#!/bin/sh
# The main job: start the bundled emulator and a local site, then run a real
# Lua workflow (examples/batch_to_files.lua) that scrapes a batch of the
# site's pages through the emulator and writes every result to a folder.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${PUSHPULL_BUILD_DIR:-$ROOT/build}
OUT_DIR=${DEMO_OUT:-$ROOT/out/demo}
PAGES=${DEMO_PAGES:-200}

tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# start NAME BIN ARGS...: runs BIN in the background and waits for its
# "listening on URL" line; the URL is left in $tmp/NAME.url.
start() {
  name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids="$pids $!"
  i=0
  while ! grep -q '^listening on ' "$tmp/$name.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
      echo "demo: $name did not start:" >&2
      cat "$tmp/$name.err" >&2
      exit 1
    fi
    sleep 0.05
  done
  sed -n 's/^listening on //p' "$tmp/$name.out" | head -n 1 >"$tmp/$name.url"
}

start emulator "$BUILD_DIR/bin/pushpull-emulator" --port 0 --user demo:demo-pass \
  --job-time uniform:200ms:1500ms --fault-rate 0.02
start site "$BUILD_DIR/bin/pushpull-testsite" --port 0

EMULATOR_URL=$(cat "$tmp/emulator.url")
SITE_URL=$(cat "$tmp/site.url")
echo "emulator: $EMULATOR_URL"
echo "site:     $SITE_URL"

LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;" \
LUA_CPATH="$BUILD_DIR/lua5.4/?.so;;" \
PUSHPULL_BASE_URL="$EMULATOR_URL" PUSHPULL_USERNAME=demo PUSHPULL_PASSWORD=demo-pass \
  lua5.4 examples/batch_to_files.lua "$SITE_URL" "$PAGES" "$OUT_DIR"
