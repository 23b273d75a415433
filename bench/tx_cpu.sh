#!/usr/bin/env bash
# CPU time of the pipewire process while it transmits C channels (flows of 8, one dante-rx
# per flow) at rate R, next to PipeWire's own libpipewire-module-rtp-sink carrying the same
# channels (C/8 sinks of 8, 32-frame packets) in a second daemon in the same run.
# Optional: send/arrival lateness idle and with both cores loaded (--lateness).
# All traffic stays in two private network namespaces; needs root. Details: bench/tx_cpu.py.
#
# Usage: bench/tx_cpu.sh [--build DIR] [--rates "48000 96000"] [--channels "2 16 64 128"]
#                        [--window S] [--warmup S] [--lateness [--lat-seconds S]] [--skip-cpu]
# BUILD defaults to build-bench (release). Results go in bench/RESULTS.md (section 3).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build-bench
ARGS=()
while (($#)); do
    case $1 in
        --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
for f in "$BUILD/module/libpipewire-module-dante-sink.so" "$BUILD/spa-plugin/dante/libspa-dante.so" \
         "$BUILD/tools/dante-rx/dante-rx"; do
    [[ -f $f ]] || { echo "not built: $f (ninja -C $BUILD)" >&2; exit 1; }
done
echo "# tx_cpu.sh $(date -u +%FT%TZ): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); build $BUILD ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') + working tree)"
exec python3 "$REPO/bench/tx_cpu.py" --build "$BUILD" ${ARGS[@]+"${ARGS[@]}"}
