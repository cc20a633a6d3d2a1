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

. ./scripts/servers.sh

server_start emulator "$BUILD_DIR/bin/pushpull-emulator" --port 0 --user demo:demo-pass \
  --job-time uniform:200ms:1500ms --fault-rate 0.02
EMULATOR_URL=$SERVER_URL
server_start site "$BUILD_DIR/bin/pushpull-testsite" --port 0
SITE_URL=$SERVER_URL
echo "emulator: $EMULATOR_URL"
echo "site:     $SITE_URL"

LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;" \
LUA_CPATH="$BUILD_DIR/lua5.4/?.so;;" \
PUSHPULL_BASE_URL="$EMULATOR_URL" PUSHPULL_USERNAME=demo PUSHPULL_PASSWORD=demo-pass \
  lua5.4 examples/batch_to_files.lua "$SITE_URL" "$PAGES" "$OUT_DIR"
