#!/usr/bin/env bash
# Correlation accuracy of the published clock properties (dante.clock.media-ns,
# dante.clock.monotonic-ns, dante.clock.rate): predicts media time at random monotonic
# instants from `dante-clock --once` readings and compares with CLOCK_TAI (the media
# clock's source in this run). See bench/correlation_bench.py. Results go in
# bench/RESULTS.md.
#
# Usage: bench/correlation.sh [BUILD_DIR] [correlation_bench.py args, e.g. --seconds 60]
#   BUILD_DIR defaults to build. Starts its own private dbus/pipewire/wireplumber in a
#   temp dir and stops only those.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$REPO/build}
[[ $# -gt 0 ]] && shift
BUILD=$(cd "$BUILD" && pwd)
for f in "$BUILD/tools/dante-clock/dante-clock" "$BUILD/spa-plugin/dante/libspa-dante.so"; do
    [[ -f $f ]] || { echo "not built: $f (ninja -C $BUILD)" >&2; exit 1; }
done
echo "# correlation.sh $(date -u +%FT%TZ): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# build: $BUILD; loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
python3 "$REPO/bench/correlation_bench.py" --build "$BUILD" "$@" || rc=$?
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
