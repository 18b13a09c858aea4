#!/bin/bash
# Installs what is needed, builds with warnings as errors, runs every test
# (unit, integration, GUI) in a normal and in a sanitizer build (ASan +
# UBSan), and ends with one line "N passed, N failed, N skipped".
#
# Build directories: $MB_BUILD_DIR (default build) and $MB_ASAN_BUILD_DIR
# (default build-asan).  Test spools go under $MB_TEST_TMPDIR (default
# /var/tmp: creating files under /tmp is much slower on some machines).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

build=${MB_BUILD_DIR:-build}
asan=${MB_ASAN_BUILD_DIR:-build-asan}
export MB_TEST_TMPDIR=${MB_TEST_TMPDIR:-/var/tmp}
status=0

setup () {
  local dir=$1; shift
  if [[ -f "$dir/build.ninja" ]]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

run_build () {
  local dir=$1; shift
  local multiplier=$1; shift
  rm -f "$dir/meson-logs/testlog.json"
  if ! setup "$dir" "$@" || ! meson compile -C "$dir"; then
    echo "build in $dir failed"
    status=1
    return
  fi
  meson test -C "$dir" --print-errorlogs --timeout-multiplier "$multiplier" \
    || status=1
}

run_build "$build" 1
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
MB_SANITIZER=1 \
  run_build "$asan" 3 -Db_sanitize=address,undefined -Db_lundef=false

/usr/bin/python3 tests/summarize.py \
  "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" || status=1
exit $status
