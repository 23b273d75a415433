#!/usr/bin/env bash
# The main job: a Dante transmitter sink in a running PipeWire session.
#
#   ./run-demo.sh                      private network-namespace lab (nothing touches real networks)
#   ./run-demo.sh --interface eth0     the sink binds to a real interface instead
#   ./run-demo.sh --seconds 20         stop by itself (default: run until Ctrl-C)
#
# It installs what is missing, builds, starts a private PipeWire session (pipewire,
# wireplumber, pipewire-pulse) with libpipewire-module-dante-sink loaded from this build,
# and prints the sink's node id and its live clock properties. In the lab the session runs
# as a desktop's does: as an ordinary user (nobody) without any capability, beside the
# privileged PTP clock service pipewire-dante-ptp (started as its systemd unit would);
# a second namespace plays the receiver: dante-rx subscribes to the sink's channels 1 and
# 2 the way a Dante receiver does, pw-cat plays a test tone into the sink, and what
# arrived over the network is shown. Connect your own tools to the session with the
# XDG_RUNTIME_DIR it prints (pavucontrol, pw-cat, pactl).
set -euo pipefail
cd "$(dirname "$0")"
repo=$PWD

interface=""
seconds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --interface) interface=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)"; exit 2 ;;
  esac
done

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d /tmp/dante-demo.XXXXXX)
netns=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "$netns" ] && ip netns del "$netns" 2>/dev/null || true
  [ -n "$rx_netns" ] && ip netns del "$rx_netns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# In the lab the session and its clients run as this user, with no capability at all.
as_user=()
in_lab() { if [ -n "$netns" ]; then ip netns exec "$netns" "${as_user[@]}" "$@"; else "$@"; fi; }
as_session_user() { "${as_user[@]}" "$@"; }
# Starts a daemon in the background as a direct child (ip netns exec and setpriv exec it,
# keeping the PID), so that cleanup's kill reaches the daemon itself.
start_daemon() {
  local log=$1; shift
  if [ -n "$netns" ]; then ip netns exec "$netns" "${as_user[@]}" "$@" >"$log" 2>&1 & else "$@" >"$log" 2>&1 & fi
  pids+=($!)
}

rx_netns=""
if [ -z "$interface" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "the namespace lab needs root (or name a real interface with --interface)"; exit 1; }
  netns="dante-demo-tx-$$"
  rx_netns="dante-demo-rx-$$"
  ip netns add "$netns"
  ip netns add "$rx_netns"
  ip link add "dtx$$" type veth peer name "drx$$"
  ip link set "dtx$$" netns "$netns"
  ip link set "drx$$" netns "$rx_netns"
  ip -n "$netns" addr add 10.77.0.1/24 dev "dtx$$"
  ip -n "$rx_netns" addr add 10.77.0.2/24 dev "drx$$"
  for ns in "$netns" "$rx_netns"; do ip -n "$ns" link set lo up; done
  ip -n "$netns" link set "dtx$$" up
  ip -n "$rx_netns" link set "drx$$" up
  interface="dtx$$"
  echo "lab: transmitter namespace $netns ($interface, 10.77.0.1/24), receiver namespace $rx_netns (10.77.0.2)"
  # The privileged half, as root, the way systemd runs pipewire-dante-ptp@$interface.
  ip netns exec "$netns" build/tools/pipewire-dante-ptp/pipewire-dante-ptp --interface "$interface" \
    >"$work/pipewire-dante-ptp.log" 2>&1 &
  pids+=($!)
  as_user=(setpriv --reuid nobody --regid nogroup --init-groups --inh-caps=-all --bounding-set=-all --)
  chmod 755 "$work"
  echo "lab: pipewire-dante-ptp@$interface runs as root; the PipeWire session runs as nobody, without capabilities"
fi

export XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d" "$XDG_CONFIG_HOME/wireplumber"
chmod 700 "$XDG_RUNTIME_DIR"
cp -r tests/wireplumber/. "$XDG_CONFIG_HOME/wireplumber/" 2>/dev/null || true
if [ ${#as_user[@]} -gt 0 ]; then
  export HOME=$work/home
  mkdir -p "$HOME"
  touch "$work/tap.bin"
  chown -R nobody:nogroup "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$HOME" "$work/tap.bin"
fi
export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
export SPA_PLUGIN_DIR=$repo/build/spa-plugin:$(pkg-config --variable=plugindir libspa-0.2)
export PIPEWIRE_MODULE_DIR=$repo/build/module:$(pkg-config --variable=moduledir libpipewire-0.3)
device="demo-$(hostname | tr -cd 'A-Za-z0-9-' | cut -c1-20)"
device=${device%-}
cat > "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/50-dante-sink.conf" <<CONF
context.modules = [
  { name = libpipewire-module-dante-sink
    args = { dante.device-name = "$device" dante.interface = "$interface"
             audio.channels = 2 audio.rate = 48000
             dante.debug.ring-tap = "$work/tap.bin" } }
]
CONF

in_lab dbus-daemon --session --address="$DBUS_SESSION_BUS_ADDRESS" --fork --print-pid >"$work/dbus.pid"
pids+=("$(cat "$work/dbus.pid")")
start_daemon "$work/pipewire.log" pipewire
sleep 1
start_daemon "$work/wireplumber.log" wireplumber
start_daemon "$work/pipewire-pulse.log" pipewire-pulse

node="dante_sink.$device"
for _ in $(seq 50); do as_session_user pactl list short sinks 2>/dev/null | grep -q "$node" && break; sleep 0.2; done
as_session_user pactl list short sinks | grep "$node" || { echo "the sink did not appear:"; cat "$work/pipewire.log"; exit 1; }

show_props() {
  as_session_user pw-dump 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    p = o.get("info", {}).get("props", {})
    if p.get("node.name") == sys.argv[1]:
        keys = ["dante.clock.source", "dante.clock.provider", "dante.clock.state", "dante.clock.master-id", "dante.clock.media-ns", "dante.clock.monotonic-ns", "dante.clock.rate",
                "dante.clock.generation", "dante.tx.lead-ns", "dante.tx.latency-ns", "dante.flows"]
        print("node %s  " % o["id"] + "  ".join("%s=%s" % (k[6:], p.get(k)) for k in keys), flush=True)
' "$node"
}

echo
echo "Dante sink \"$node\" (device $device) is up. To use this session from another shell:"
echo "  export XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR   # then: pavucontrol, pactl list sinks, pw-cat --playback --target $node FILE"
echo
show_props
sox -n -r 48000 -c 2 -b 24 "$work/tone.wav" synth 3 sine 1000 gain -12 pad 0 0.25 2>/dev/null
chmod 644 "$work/tone.wav"
if [ -n "$rx_netns" ]; then
  # The sink runs on pipewire-dante-ptp's PTP clock (the default with an interface):
  # alone in the lab it becomes the PTP leader. dante-rx follows it as a Dante receiver
  # would, and measures each packet's arrival on that PTP time.
  echo "receiver: dante-rx in $rx_netns follows the sink's PTP clock, subscribes to channels 1,2 for 6 s..."
  ip netns exec "$rx_netns" build/tools/dante-rx/dante-rx --address 10.77.0.1 --channels 1,2 --seconds 6 \
    --format S24 --clock ptp --interface "drx$$" \
    --wav "$work/received.wav" --stats "$work/received.json" >"$work/dante-rx.log" 2>&1 & rx_pid=$!
  pids+=("$rx_pid")
  for _ in $(seq 100); do grep -q "flow granted" "$work/dante-rx.log" && break; sleep 0.2; done
  sed 's/^/  /' "$work/dante-rx.log"
fi
echo "playing a 3 s 1 kHz test tone into the sink..."
as_session_user timeout 20 pw-cat --playback --target "$node" "$work/tone.wav"
sleep 0.5
show_props
if [ -n "$rx_netns" ]; then
  wait "$rx_pid" || true
  echo "received over the network: $(tail -1 "$work/dante-rx.log")"
  python3 - "$work/received.json" "$work/received.wav" <<'PY'
import json, sys, wave
s = json.load(open(sys.argv[1]))
late = s["lateness_us"]
print("  %d packets of %d frames, lost %d, duplicated %d, reordered %d; first Dante timestamp %d"
      % (s["packets"], s["fpp"], s["lost"], s["duplicated"], s["reordered"], s["first_timestamp"]))
print("  arrival after the packet's media time (on the PTP time dante-rx follows): p50 %.0f us, p99 %.0f us, max %.0f us"
      % (late["p50"], late["p99"], late["max"]))
w = wave.open(sys.argv[2]); raw = w.readframes(w.getnframes())
loud = [i // 6 for i in range(0, len(raw), 6) if raw[i:i + 3] != b"\0\0\0"]
span = (loud[-1] - loud[0] + 1) / 48000 if loud else 0
print("  %s: the tone spans %.3f s of the recording (3 s played)" % (sys.argv[2], span))
PY
fi
python3 - "$work/tap.bin" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off = 0; records = []; loud = 0
while off + 32 <= len(data):
    pos, nsec, wake, frames, ch = struct.unpack_from("<QQQII", data, off)
    off += 32
    samples = struct.unpack_from("<%di" % (frames * ch), data, off); off += 4 * frames * ch
    loud += sum(1 for s in samples[:frames] if s != 0)
    records.append((pos, nsec, wake, frames))
gaps = sum(1 for a, b in zip(records, records[1:]) if b[0] != a[0] + a[3])
late = sorted(r[2] - r[1] for r in records if r[2])
print("TX rings: %d cycles written, %d frames of audio on channel 1, %d position gaps" % (len(records), loud, gaps))
if records:
    print("  first Dante timestamp %d (media second %.3f), cycle of %d frames" % (records[0][0], records[0][0] / 48000, records[0][3]))
if late:
    print("  driver wake-up after its media-clock deadline: p50 %.1f us, max %.1f us" % (late[len(late)//2] / 1e3, late[-1] / 1e3))
PY
echo
if [ "$seconds" -gt 0 ]; then end=$((SECONDS + seconds)); else end=-1; echo "live clock properties (Ctrl-C to stop):"; fi
while [ "$end" -lt 0 ] || [ $SECONDS -lt $end ]; do show_props; sleep 2; done
