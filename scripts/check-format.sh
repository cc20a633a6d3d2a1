#!/bin/sh
# Checks that the C sources under each DIR are formatted as .clang-format
# says. Lists the files that differ and exits non-zero if there is one.
#
#   scripts/check-format.sh emulator testsite common
#   clang-format -i FILE...      reformats them
set -u
[ $# -gt 0 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
cd "$(dirname "$0")/.." || exit 2
command -v clang-format >/dev/null || { echo "clang-format is not installed (make deps)" >&2; exit 2; }

status=0
old_ifs=$IFS
IFS='
' # file names may hold spaces
for dir in "$@"; do
  if [ ! -d "$dir" ]; then
    echo "$dir: no such folder" >&2
    status=1
    continue
  fi
  for f in $(find "$dir" -type f \( -name '*.c' -o -name '*.h' \) | sort); do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "not formatted: $f"
      status=1
    fi
  done
done
IFS=$old_ifs
exit $status
