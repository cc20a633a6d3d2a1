# Sourced by the shell scripts that start the emulator and the test site in
# the background (the demo, the benchmarks).
#
#   server_start NAME BIN ARGS...   starts BIN, waits for its
#                                   "listening on URL" line, sets SERVER_URL
#                                   and SERVER_PID
#   servers_stop                    stops every server started so far
#
# Sourcing it also gives the script a scratch folder, $SCRATCH, and traps
# that stop the servers and remove that folder however the script ends.
#
# Call server_start directly, never in $(...): a subshell would lose track of
# the process, and servers_stop could not end it.
SERVERS_TMP=$(mktemp -d)
SCRATCH=$SERVERS_TMP/scratch
mkdir -p "$SCRATCH"
SERVER_PIDS=""
SERVER_URL=""
SERVER_PID=""

server_start() {
  _name=$1; shift
  "$@" >"$SERVERS_TMP/$_name.out" 2>"$SERVERS_TMP/$_name.err" &
  SERVER_PID=$!
  SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
  _i=0
  until grep -q '^listening on ' "$SERVERS_TMP/$_name.out" 2>/dev/null; do
    _i=$((_i + 1))
    if [ $_i -gt 200 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "$_name did not start:" >&2
      cat "$SERVERS_TMP/$_name.err" >&2
      return 1
    fi
    sleep 0.05
  done
  SERVER_URL=$(sed -n 's/^listening on //p' "$SERVERS_TMP/$_name.out" | head -n 1)
}

# server_stop PID: stops one server started by server_start.
server_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

servers_stop() {
  for _p in $SERVER_PIDS; do server_stop "$_p"; done
  SERVER_PIDS=""
  rm -rf "$SERVERS_TMP"
}

trap servers_stop EXIT
trap 'exit 130' INT TERM
