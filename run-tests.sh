#!/usr/bin/env bash
# Builds pipewire-dante and runs every test:
#   1. build/       unit tests (doctest) and integration tests (a real, private PipeWire
#                   session with wireplumber and pipewire-pulse, pw-cat, pactl, pavucontrol)
#   2. build-asan/  the same code under AddressSanitizer + UndefinedBehaviorSanitizer:
#                   unit tests, 50 module load/unload cycles (LeakSanitizer on), and the
#                   integration tests with the instrumented plugin loaded into pipewire
#   3. build-fuzz/  clang + libFuzzer: each protocol parser fuzzed for 20 s
#   4. Debian 13:   the plain build's unit and integration tests again, on PipeWire 1.4 with
#                   Debian 13's compiler, inside a Debian 13 root (scripts/debian13-root.sh),
#                   built in build-debian13/build; every line of it is prefixed "[debian13]"
# Usage: ./run-tests.sh [plain] [asan] [fuzz] [debian13]    (default: all four)
# DANTE_TEST_DEBIAN13=0 leaves out part 4 (a quick local run); CI runs it.
# The last line is the total of all parts: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")"

parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
  parts=(plain asan fuzz)
  [ "${DANTE_TEST_DEBIAN13:-1}" = 0 ] || parts+=(debian13)
fi

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# Every tree here builds with -Dwerror=true: a new warning fails the tests. (The project's
# default is werror off, so a user's or packager's build never fails on a newer compiler.)
configure() {  # dir, extra meson args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" -Dwerror=true >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    return 0
  fi
  mkdir -p "$(dirname "$dir")"
  meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
}

timed() {  # label, command...: runs it and prints how long it took
  local label=$1 start=$SECONDS rc; shift
  "$@"; rc=$?
  echo "time: $label $((SECONDS - start)) s"
  return $rc
}

# With Debian 13 among other parts, its root is built and its packages installed (mmdebstrap
# and apt: network and disk, little CPU) in the background while Debian 12 compiles; every
# host test run waits for it first, so nothing runs beside a timing test.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo  # the Debian 13 root needs namespaces and pivot_root
prep_pid=""
if [ ${#parts[@]} -gt 1 ] && [[ " ${parts[*]} " == *" debian13 "* ]]; then
  mkdir -p build-debian13
  $SUDO scripts/debian13-root.sh true >build-debian13/root.log 2>&1 &
  prep_pid=$!
fi
wait_prep() { [ -z "$prep_pid" ] || { wait "$prep_pid"; prep_pid=""; }; }

status=0
logs=()
for part in "${parts[@]}"; do
  case $part in
  plain)
    configure build || status=1
    timed "build" ninja -C build || status=1
    rm -f build/meson-logs/testlog.json
    wait_prep
    timed "tests" meson test -C build --print-errorlogs --num-processes 1 || status=1
    logs+=(debian12:build/meson-logs/testlog.json) ;;
  asan)
    # -O1 and line tables only (-g1): what sanitizers need for exact reports, and a build
    # 2.4 times faster than -O2 -g (measured on one translation unit: 13 s against 31 s).
    configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
      -Doptimization=1 -Ddebug=false -Dcpp_args=-g1 -Dc_args=-g1 || status=1
    timed "build-asan" ninja -C build-asan || status=1
    rm -f build-asan/meson-logs/testlog.json
    wait_prep
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      timed "tests-asan" meson test -C build-asan --print-errorlogs --num-processes 1 --suite asan || status=1
    logs+=(debian12:build-asan/meson-logs/testlog.json) ;;
  fuzz)
    # every parser under clang's libFuzzer (ASan+UBSan), 20 s each from its seed corpus.
    CXX=clang++ configure build-fuzz -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false || status=1
    rm -f build-fuzz/meson-logs/testlog.json
    wait_prep
    timed "tests-fuzz" meson test -C build-fuzz --print-errorlogs --num-processes 1 --suite libfuzzer || status=1
    logs+=(debian12:build-fuzz/meson-logs/testlog.json) ;;
  debian13)
    # The plain build inside the Debian 13 root; its log is summed below with the others.
    rm -f build-debian13/build/meson-logs/testlog.json
    if [ -f build-debian13/root.log ]; then  # the background preparation's output, apt's noise left out
      wait_prep
      sed 's/^/[debian13] /' build-debian13/root.log | grep -v '^\[debian13\] \(Get\|Preparing\|Unpacking\|Selecting\|Setting up\|Processing\|(Reading\)'
      rm -f build-debian13/root.log
    fi
    set -o pipefail
    timed "debian13 (root, dependencies, build, tests)" $SUDO scripts/debian13-root.sh ./run-tests.sh debian13-plain 2>&1 \
      | sed -u 's/^/[debian13] /' || status=1
    set +o pipefail
    logs+=(debian13:build-debian13/build/meson-logs/testlog.json) ;;
  debian13-plain)
    # Inside the Debian 13 root (see "debian13"), warnings as errors as on Debian 12.
    # Long tests run shorter (-Dshort_long_tests) and the PTP lab, which has no PipeWire
    # and runs ptp4l as a follower (checked safe on Debian 12's linuxptp only), is left
    # to Debian 12.
    configure build-debian13/build -Dshort_long_tests=true || status=1
    timed "build" ninja -C build-debian13/build || status=1
    rm -f build-debian13/build/meson-logs/testlog.json
    timed "tests" meson test -C build-debian13/build --print-errorlogs --num-processes 1 --no-suite ptp-lab --no-suite debian12-only || status=1
    logs+=(debian13:build-debian13/build/meson-logs/testlog.json) ;;
  *) echo "run-tests.sh: unknown part '$part' (plain, asan, fuzz, debian13)"; exit 2 ;;
  esac
done

echo
python3 scripts/summarize-tests.py "${logs[@]}" || status=1
exit $status
