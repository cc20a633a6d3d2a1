#!/bin/sh
# Runs every test suite against the build in $1 (default: build) and ends
# with one summary line, "N passed, N failed".
set -u
BUILD_DIR=${1:-build}
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PUSHPULL_BUILD_DIR="$ROOT/$BUILD_DIR"

passed=0
failed=0
suites_failed=""

# busted prints "N successes / N failures / N errors / N pending : T seconds".
count_busted() {
  line=$(grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors?' "$1" | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1))
    return
  fi
  s=$(echo "$line" | sed -E 's/^([0-9]+) success.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
  e=$(echo "$line" | sed -E 's/.* ([0-9]+) errors?.*/\1/')
  passed=$((passed + s))
  failed=$((failed + f + e))
}

# ctest: C unit tests of the core.
echo "== C unit tests (ctest)"
if (cd "$BUILD_DIR" && ctest --output-on-failure) >"$BUILD_DIR/ctest.log" 2>&1; then
  cat "$BUILD_DIR/ctest.log"
else
  cat "$BUILD_DIR/ctest.log"
  suites_failed="$suites_failed ctest"
fi
ct=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$BUILD_DIR/ctest.log" | tail -n 1)
if [ -n "$ct" ]; then
  total=$(echo "$ct" | sed -E 's/.* out of ([0-9]+).*/\1/')
  cf=$(echo "$ct" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
  passed=$((passed + total - cf))
  failed=$((failed + cf))
fi

# The formatting check and the fuzz targets (built with ASan and UBSan
# already) belong to make test: a sanitizer build does not run them again.
if [ "${PUSHPULL_SANITIZE:-0}" = 1 ]; then
  echo "== C formatting: checked by make test"
else
  # C formatting (.clang-format): one pass or one fail per folder.
  FORMAT_DIRS="core binding emulator testsite common fuzz"
  echo "== C formatting (scripts/check-format.sh)"
  for dir in $FORMAT_DIRS; do
    if ./scripts/check-format.sh "$dir"; then
      echo "formatted: $dir"
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      suites_failed="$suites_failed format-$dir"
    fi
  done
fi

# busted, once per Lua the module supports. A sanitizer build runs the
# client and emulator specs under Lua 5.4 only: its modules are loaded by an
# interpreter built without the sanitizers, so their runtimes are preloaded
# (leaks are left to ctest, which checks the core's own allocations), and
# nginx and Neovim are not run under them.
LUAS="lua5.4 luajit"
SPECS="spec"
if [ "${PUSHPULL_SANITIZE:-0}" = 1 ]; then
  LUAS="lua5.4"
  SPECS="spec/emulator spec/client spec/fleet"
fi
for lua in $LUAS; do
  log="$BUILD_DIR/busted-$lua.log"
  echo "== busted --lua=$lua $SPECS"
  if [ "${PUSHPULL_SANITIZE:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      busted --lua="$lua" -o utfTerminal $SPECS >"$log" 2>&1
  else
    # shellcheck disable=SC2086
    busted --lua="$lua" -o utfTerminal $SPECS >"$log" 2>&1
  fi
  rc=$?
  cat "$log"
  [ $rc -eq 0 ] || suites_failed="$suites_failed busted-$lua"
  count_busted "$log"
done

if [ "${PUSHPULL_SANITIZE:-0}" = 1 ]; then
  echo "== fuzz targets: run by make test, built with the sanitizers"
else
  # libFuzzer targets: each replays its corpus and regressions, then fuzzes
  # a few seconds; each target is one pass or one fail. Missing clang or
  # libFuzzer is a failure (fuzz/run.sh installs them when it can).
  log="$BUILD_DIR/fuzz.log"
  echo "== fuzz targets (fuzz/run.sh check)"
  ./fuzz/run.sh check >"$log" 2>&1
  rc=$?
  cat "$log"
  fp=$(grep -c '^PASS ' "$log")
  ff=$(grep -c '^FAIL ' "$log")
  passed=$((passed + fp))
  failed=$((failed + ff))
  if [ $rc -ne 0 ] || [ "$fp" -eq 0 ]; then
    suites_failed="$suites_failed fuzz"
    [ "$ff" -eq 0 ] && failed=$((failed + 1))
  fi
fi

echo
[ -n "$suites_failed" ] && echo "failing suites:$suites_failed"
echo "$passed passed, $failed failed"
[ -z "$suites_failed" ] && [ "$failed" -eq 0 ]
