#!/bin/sh
# The core's layers only look down (src/base.h lists them):
#   0 the public header and common/   1 base and pure leaf modules
#   2 transport and the Redis link  3 answers  4 jobs  5 client  6 listener
# Each source file includes only the headers of its layer or below, and,
# given the built library, calls only functions defined in its layer or
# below (a completion a request carries is a pointer, not a call).
# usage: check_layers.sh SRC_DIR [LIBPUSHPULL_CORE.a]
set -u
src=${1:?usage: check_layers.sh SRC_DIR [LIB]}
lib=${2:-}

layer_of() {
    case "$1" in
    pushpull.h|pc_buf.h|pc_json.h|pc_mhd.h) echo 0 ;;   # public, and common/
    batch_scan.h|batch_scan.c|estimate.h|estimate.c|plan.h|plan.c) echo 1 ;;   # pure leaves
    store.h|store_sqlite.c) echo 1 ;;   # the job store and its backends
    base.h|util.c|debug.c|errors.c|json_util.c|links.c|heap.c|events.c) echo 1 ;;
    transport.h|retry.c|headers.c|exchange.c|engine.c) echo 2 ;;
    redis.h|redis_url.c|redis_cluster.c|redis_conn.c|redis_io.h|redis_io.c|redis_tls.c|redis_scripts.c|redis_store.c|store_redis.c) echo 2 ;;
    store_redis.h|store_redis_list.c|store_redis_callbacks.c|store_redis_forget.c) echo 2 ;;
    answers.h|answers.c) echo 3 ;;
    jobs.h|jobs.c|state.c|results.c) echo 4 ;;
    client.h|client.c|drive.c|schedule.c|callbacks.c|receiver.c|ops.c|submit.c|fleet.c|journal.c) echo 5 ;;
    listener.c) echo 6 ;;
    *) echo "" ;;
    esac
}

fail=0
for path in "$src"/*.c "$src"/*.h; do
    file=$(basename "$path")
    mine=$(layer_of "$file")
    if [ -z "$mine" ]; then
        echo "$file: in no layer (add it to check_layers.sh and base.h)"
        fail=1
        continue
    fi
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$path"); do
        theirs=$(layer_of "$inc")
        if [ -z "$theirs" ]; then
            echo "$file: includes $inc, which is in no layer"
            fail=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "$file (layer $mine) includes $inc (layer $theirs)"
            fail=1
        fi
    done
done

if [ -n "$lib" ]; then
    if [ ! -f "$lib" ]; then
        echo "no library at $lib"
        exit 1
    fi
    # Calls: client.h declares the listener's hooks (drive.c serves its fd),
    # so the client and the listener count as one layer here.
    layers=$(for path in "$src"/*.c; do
        f=$(basename "$path" .c)
        l=$(layer_of "$f.c")
        [ "$l" = 6 ] && l=5
        echo "$f ${l:-0}"
    done)
    nm -A "$lib" 2>/dev/null | awk -v layers="$layers" '
        BEGIN {
            n = split(layers, rows, "\n")
            for (i = 1; i <= n; i++) { split(rows[i], kv, " "); layer[kv[1]] = kv[2] }
        }
        {
            k = split($1, p, ":"); obj = p[k - 1]; sub(/\.c\.o$/, "", obj); sub(/\.o$/, "", obj)
            if ($(NF - 1) == "T") def[$NF] = obj
            else if ($(NF - 1) == "U") { uses[++nu] = obj; used[nu] = $NF }
        }
        END {
            bad = 0
            for (i = 1; i <= nu; i++) {
                d = def[used[i]]
                if (d == "" || !(uses[i] in layer) || !(d in layer)) continue
                if (layer[d] + 0 > layer[uses[i]] + 0) {
                    printf "%s.c (layer %s) calls %s of %s.c (layer %s)\n", uses[i], layer[uses[i]], used[i], d, layer[d]
                    bad = 1
                }
            }
            exit bad
        }' || fail=1
fi

[ "$fail" -eq 0 ] && echo "layers: every include and call looks down"
exit "$fail"
