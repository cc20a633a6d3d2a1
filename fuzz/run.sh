#!/bin/sh
# Builds the fuzz targets (clang, libFuzzer, ASan, UBSan) in build-fuzz/
# and runs them.
#
#   fuzz/run.sh check [TARGET...]  replay each target's corpus and
#                                  regressions, then fuzz it CHECK_SECONDS
#                                  (default 5): what `make test` runs
#   fuzz/run.sh fuzz [TARGET...]   fuzz each target FUZZ_SECONDS (default 60)
#                                  from its corpus, then replay its
#                                  regressions: `make fuzz`
#
# The targets are those fuzz/CMakeLists.txt lists. Inputs the fuzzer finds
# go to build-fuzz/scratch/TARGET/ (never into git); a crash is written to
# build-fuzz/crashes/TARGET/ and its report to build-fuzz/logs/TARGET.log.
# Regressions listed in fuzz/known-crashes.txt are replayed and reported,
# but do not fail the run. One line per target, "PASS TARGET" or
# "FAIL TARGET: why", then a count; the exit status is 0 when all passed.
# $opts is a list of words (libFuzzer flags, no spaces in them).
# shellcheck disable=SC2086
set -u
cd "$(dirname "$0")/.." || exit 2
MODE=${1:-check}
[ $# -gt 0 ] && shift
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
CHECK_SECONDS=${CHECK_SECONDS:-5}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
KNOWN=fuzz/known-crashes.txt

case $MODE in
  check|fuzz) ;;
  *) echo "usage: fuzz/run.sh check|fuzz [TARGET...]" >&2; exit 2 ;;
esac

give_up() {
  echo "FAIL fuzz: $1"
  echo "0 fuzz targets passed, 1 failed"
  exit 1
}

./scripts/deps.sh fuzz || give_up "could not install the fuzzing packages (scripts/deps.sh fuzz)"

# libFuzzer comes with clang's runtime (Debian: libclang-rt-14-dev,
# libfuzzer-14-dev): a target that cannot link means no fuzzing at all.
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1; then
  cat "$probe/log"
  rm -rf "$probe"
  give_up "clang cannot link a libFuzzer target (packages clang, libclang-rt-14-dev, libfuzzer-14-dev)"
fi
rm -rf "$probe"

if [ ! -f "$BUILD/Makefile" ]; then  # configure again after an interrupted one
  cfg=$(mktemp)
  cmake -S fuzz -B "$BUILD" -DCMAKE_C_COMPILER=clang >"$cfg" 2>&1 ||
    { cat "$cfg"; rm -f "$cfg"; give_up "cmake -S fuzz -B $BUILD failed"; }
  rm -f "$cfg"
fi
cmake --build "$BUILD" -j "$JOBS" >"$BUILD/build.log" 2>&1 ||
  { cat "$BUILD/build.log"; give_up "the fuzz targets do not build"; }

TARGETS=${*:-$(cat "$BUILD/targets.txt")}
mkdir -p "$BUILD/logs"

# Every file of the folders given, one a line.
files_in() {
  for d in "$@"; do
    [ -d "$d" ] && find "$d" -type f | LC_ALL=C sort
  done
}

is_known() {
  [ -f "$KNOWN" ] && grep -q "^$1[[:space:]]" "$KNOWN"
}

# Runs each input once: the corpus when $1 is "corpus", and the
# regressions. Sets why on a failure.
replay() {
  list=$(mktemp)
  [ "$1" = corpus ] && files_in "fuzz/corpus/$t" >"$list"
  for f in $(files_in "fuzz/regressions/$t"); do
    name="$t/$(basename "$f")"
    if ! is_known "$name"; then
      echo "$f" >>"$list"
    elif "$bin" $opts "$f" >>"$log" 2>&1; then
      echo "  note: $name no longer crashes: take it out of $KNOWN"
    else
      echo "  known crash, listed in $KNOWN: $name"
    fi
  done
  if [ -s "$list" ]; then
    # shellcheck disable=SC2046
    "$bin" $opts $(cat "$list") >>"$log" 2>&1 || why="an input of the corpus or the regressions fails"
  fi
  rm -f "$list"
}

# Fuzzes $1 seconds from the corpus; new inputs go to $2. Sets why on a
# crash, except in a short check of a target with a known crash, which the
# fuzzer may well find again (`make fuzz` still fails on it).
fuzz_for() {
  "$bin" $opts -max_total_time="$1" -print_final_stats=1 "$2" "fuzz/corpus/$t" >>"$log" 2>&1 && return
  crash=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
  if [ "$MODE" = check ] && [ -f "$KNOWN" ] && grep -q "^$t/" "$KNOWN"; then
    echo "  not counted: fuzzing crashed ($crash), and $t has a known crash"
  else
    why="fuzzing found a crash: $crash"
  fi
}

passed=0
failed=0
for t in $TARGETS; do
  bin="$BUILD/bin/$t"
  log="$BUILD/logs/$t.log"
  crashes="$BUILD/crashes/$t"
  mkdir -p "$crashes"
  : >"$log"
  if [ ! -x "$bin" ]; then
    echo "FAIL $t: no such target in $BUILD/bin"
    failed=$((failed + 1))
    continue
  fi
  opts="-timeout=10 -rss_limit_mb=2048 -artifact_prefix=$crashes/"
  [ -f "fuzz/dict/$t.dict" ] && opts="$opts -dict=fuzz/dict/$t.dict"
  why=""
  runs=0
  if [ "$MODE" = check ]; then
    seconds=$CHECK_SECONDS
    replay corpus
    if [ -z "$why" ]; then
      scratch=$(mktemp -d)
      fuzz_for "$seconds" "$scratch"
      rm -rf "$scratch"
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    fi
  else
    seconds=$FUZZ_SECONDS
    mkdir -p "$BUILD/scratch/$t"
    fuzz_for "$seconds" "$BUILD/scratch/$t"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    replay regressions
  fi

  if [ -z "$why" ]; then
    echo "PASS $t (${runs:-0} runs in ${seconds}s)"
    passed=$((passed + 1))
  else
    echo "FAIL $t: $why"
    grep -E -A 25 '^==[0-9]+==.*ERROR|runtime error|requirement failed' "$log" | head -n 30 | sed 's/^/  /'
    echo "  whole report: $log; crashing inputs: $crashes/"
    failed=$((failed + 1))
  fi
done

echo "$passed fuzz targets passed, $failed failed"
[ "$failed" -eq 0 ]
