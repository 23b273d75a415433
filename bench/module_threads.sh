#!/bin/sh
# Threads per loaded device and module unload time (issue #12), in a private network
# namespace (unshare -n: nothing to clean up) with one end of a veth pair as the interface.
# Root. Usage: bench/module_threads.sh BUILD_DIR [ITERATIONS]
#   BUILD_DIR: the build whose module/ and spa-plugin/ are loaded; the measuring program
#   is taken from $MEASURE (default BUILD_DIR/bench/dante-bench-module-threads), so one
#   binary can measure another tree's module.
set -eu
build=$(cd "$1" && pwd)
iterations=${2:-10}
measure=${MEASURE:-$build/bench/dante-bench-module-threads}
plugindir=$(pkg-config --variable=plugindir libspa-0.2)
moduledir=$(pkg-config --variable=moduledir libpipewire-0.3)
exec unshare -n sh -c '
  ip link set lo up
  ip link add dante0 type veth peer name dante1
  ip addr add 10.99.0.1/24 dev dante0
  ip link set dante1 up
  ip link set dante0 up
  ip route add 224.0.0.0/4 dev dante0
  SPA_PLUGIN_DIR="$1/spa-plugin:$2" PIPEWIRE_MODULE_DIR="$1/module:$3" "$4" dante0 "$5"
' sh "$build" "$plugindir" "$moduledir" "$measure" "$iterations"
