#!/usr/bin/env bash
# Builds pipewire-dante and runs every test:
#   1. build/       unit tests (doctest) and integration tests (a real, private PipeWire
#                   session with wireplumber and pipewire-pulse, pw-cat, pactl, pavucontrol)
#   2. build-asan/  the same code under AddressSanitizer + UndefinedBehaviorSanitizer:
#                   unit tests, 50 module load/unload cycles (LeakSanitizer on), and the
#                   integration tests with the instrumented plugin loaded into pipewire
#   3. build-fuzz/  clang + libFuzzer: each protocol parser fuzzed for 20 s
# The last line is the total: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")"

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# Every tree here builds with -Dwerror=true: a new warning fails the tests. (The project's
# default is werror off, so a user's or packager's build never fails on a newer compiler.)
configure() {  # dir, extra meson args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" -Dwerror=true >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    return 0
  fi
  meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
}

status=0
configure build || status=1
ninja -C build || status=1
rm -f build/meson-logs/testlog.json
meson test -C build --print-errorlogs --num-processes 1 || status=1

configure build-asan -Db_sanitize=address,undefined -Db_lundef=false || status=1
ninja -C build-asan || status=1
rm -f build-asan/meson-logs/testlog.json
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 1 --suite asan || status=1

# 3. build-fuzz/: every parser under clang's libFuzzer (ASan+UBSan), 20 s each from its
#    seed corpus.
CXX=clang++ configure build-fuzz -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false || status=1
rm -f build-fuzz/meson-logs/testlog.json
meson test -C build-fuzz --print-errorlogs --num-processes 1 --suite libfuzzer || status=1

echo
python3 scripts/summarize-tests.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
  build-fuzz/meson-logs/testlog.json || status=1
exit $status
