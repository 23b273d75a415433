#!/usr/bin/env bash
# Graph cycle cost of the Dante sink node, side by side with memcpy and the per-cycle
# scheduling work: runs dante-bench-cycle (bench/cycle_cost.cpp) against the node built in
# the same build dir. Results go in bench/RESULTS.md.
#
# Usage: bench/cycle_cost.sh [BUILD_DIR] [dante-bench-cycle args...]
#   BUILD_DIR defaults to build-bench (meson setup build-bench -Dbuildtype=release
#   -Dcpp_args=-Wno-error=restrict; see RESULTS.md for why the extra arg).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$REPO/build-bench}
[[ $# -gt 0 ]] && shift
BUILD=$(cd "$BUILD" && pwd)
for f in "$BUILD/bench/dante-bench-cycle" "$BUILD/spa-plugin/dante/libspa-dante.so"; do
    [[ -f $f ]] || { echo "not built: $f (ninja -C $BUILD)" >&2; exit 1; }
done
echo "# cycle_cost.sh $(date -u +%FT%TZ): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# build: $BUILD; loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
SPA_PLUGIN_DIR="$BUILD/spa-plugin:/usr/lib/x86_64-linux-gnu/spa-0.2" \
    PIPEWIRE_DEBUG="${PIPEWIRE_DEBUG:-1}" \
    "$BUILD/bench/dante-bench-cycle" "$@"
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
