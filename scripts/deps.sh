#!/bin/sh
# Installs the Debian packages the build and the tests need, only those that
# are missing, so that `make` works on a fresh Debian 12 machine and costs
# nothing on a machine that already has them.
set -eu

PACKAGES="cmake make gcc pkg-config
lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev
lua-cjson lua-busted lua-socket lua-luv luarocks lua-resty-core
libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 zlib1g-dev
libhiredis-dev libssl-dev openssl redis-server
nginx libnginx-mod-http-lua libnginx-mod-http-ndk neovim curl clang-format tmux"
# Groups named on the command line add what they need: `deps.sh bench` the
# benchmarks' tools, `deps.sh fuzz` clang and libFuzzer (fuzz/run.sh).
for group in "$@"; do
  case $group in
    bench) PACKAGES="$PACKAGES time wrk hyperfine valgrind" ;;
    fuzz) PACKAGES="$PACKAGES clang libclang-rt-14-dev libfuzzer-14-dev" ;;
    *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

[ -z "$missing" ] && exit 0

echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing
