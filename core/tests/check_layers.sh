#!/bin/sh
# The core's layers each look only down: a file may include the headers of
# its own layer and of the layers below it, and a header only those below
# it (so no include cycle can form). The layers, bottom up:
#  -1 common     common/: the buffer, JSON and MHD helpers shared with the emulator
#   0 base       base.h and the helpers every layer may use
#   1 leaf       pure modules that include none of ours (batch scan, plan)
#   2 transport  one HTTP exchange, the curl engine, retries, headers
#   3 answers    an answer -> a verdict
#   4 jobs       job records, the state machine, result storage
#   5 client     schedule, callbacks, operations, submissions, driving
#   6 listener   the callback listener
# A file not listed here fails the check: new files must pick a layer.
set -u
SRC=${1:-$(dirname "$0")/../src}

layer_of() {
  case "$1" in
    base.h|util.c|errors.c|json_util.c|links.c|heap.c|events.c) echo 0 ;;
    pc_buf.h|pc_json.h|pc_mhd.h) echo -1 ;;  # common/, below everything
    batch_scan.h|batch_scan.c|estimate.h|estimate.c|plan.h|plan.c) echo 1 ;;
    transport.h|retry.c|headers.c|exchange.c|engine.c) echo 2 ;;
    answers.h|answers.c) echo 3 ;;
    jobs.h|jobs.c|state.c|results.c) echo 4 ;;
    client.h|schedule.c|callbacks.c|receiver.c|ops.c|submit.c|client.c|drive.c) echo 5 ;;
    listener.c) echo 6 ;;
    *) echo "" ;;
  esac
}

bad=0
checked=0
for path in "$SRC"/*.c "$SRC"/*.h; do
  f=$(basename "$path")
  mine=$(layer_of "$f")
  if [ -z "$mine" ]; then
    echo "$f: in no layer (add it to core/tests/check_layers.sh)"
    bad=$((bad + 1))
    continue
  fi
  for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$path"); do
    [ "$inc" = pushpull.h ] && continue
    theirs=$(layer_of "$inc")
    if [ -z "$theirs" ]; then
      echo "$f includes $inc, which is in no layer"
      bad=$((bad + 1))
    elif [ "$theirs" -gt "$mine" ]; then
      echo "$f (layer $mine) includes $inc (layer $theirs): it looks up"
      bad=$((bad + 1))
    elif [ "${f##*.}" = h ] && [ "$theirs" -ge "$mine" ] && [ "$inc" != "$f" ]; then
      echo "$f includes $inc of its own layer: headers include only lower layers"
      bad=$((bad + 1))
    fi
  done
  checked=$((checked + 1))
done
echo "$checked files checked, $bad problems"
[ "$bad" -eq 0 ]
