#!/usr/bin/env bash
# Wake-up jitter of the Dante sink's driver timer, measured in a private headless
# PipeWire session (the lab of docs/testing.md).
#
# For each load in {idle, loaded} and each quantum Q in {256, 1024}: start dbus +
# pipewire (+ our module, with the ring tap on) + wireplumber (no ALSA/v4l2/bluez
# monitors), play a 60 s sine with `pw-cat --latency=Q`, stop the session, and read the
# tap (bench/tap_stats.py): per driving cycle, wake error = wake_ns - nsec (when the timer
# really fired minus the media-clock deadline it was armed for). Also checks that positions
# are contiguous, the cycle length really is Q, and which policy the data-loop thread got.
# Target: p99 <= 50 us.
#
# Load: a parallel build of a scratch copy of the repo in a loop (ninja -t clean; ninja -j2),
# or `yes > /dev/null` x2 if that cannot be set up (the output says which).
#
# Usage: bench/wakeup_jitter.sh [--build DIR] [--seconds N] [--quanta "256 1024"]
#                               [--loads "idle loaded"] [--baseline-seconds N] [--keep]
# After each session, bench/dante-bench-timer (built next to the module) runs a bare
# timerfd at the same period and SCHED_FIFO 88 for the same load: the machine's floor.
# Everything runs in a private network namespace when possible (unix sockets only). Only
# processes started here are signalled, by their process group; cleanup runs on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build-bench
SECONDS_PLAY=60
BASELINE_SECONDS=30
QUANTA="256 1024"
LOADS="idle loaded"
KEEP=0
SYSTEM_SPA_DIR=/usr/lib/x86_64-linux-gnu/spa-0.2
SYSTEM_MODULE_DIR=/usr/lib/x86_64-linux-gnu/pipewire-0.3
DEVICE=bench
SINK=dante_sink.$DEVICE

while (($#)); do
    case $1 in
        --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
        --seconds) SECONDS_PLAY=$2; shift 2 ;;
        --baseline-seconds) BASELINE_SECONDS=$2; shift 2 ;;
        --quanta) QUANTA=$2; shift 2 ;;
        --loads) LOADS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

for f in "$BUILD/module/libpipewire-module-dante-sink.so" "$BUILD/spa-plugin/dante/libspa-dante.so"; do
    [[ -f $f ]] || { echo "not built: $f (ninja -C $BUILD)" >&2; exit 1; }
done

# Private network namespace: nothing here can touch a network (re-exec once, as root).
if [[ -z ${DANTE_BENCH_NETNS:-} ]] && unshare --net true 2>/dev/null; then
    exec env DANTE_BENCH_NETNS=1 unshare --net -- "$0" --build "$BUILD" --seconds "$SECONDS_PLAY" \
        --baseline-seconds "$BASELINE_SECONDS" \
        --quanta "$QUANTA" --loads "$LOADS" $( ((KEEP)) && echo --keep)
fi
NETNS_NOTE="private network namespace (unshare --net): $([[ -n ${DANTE_BENCH_NETNS:-} ]] && echo yes || echo no)"

TMP=$(mktemp -d /tmp/dante-jitter.XXXXXX)
chmod 700 "$TMP"
PGIDS=()      # process groups we started (each via setsid, so pgid == pid)
LOAD_PGIDS=()

log() { printf '%s\n' "$*" >&2; }

stop_group() {
    local pg=$1 i
    kill -0 -- "-$pg" 2>/dev/null || return 0
    kill -TERM -- "-$pg" 2>/dev/null || true
    for i in $(seq 50); do kill -0 -- "-$pg" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$pg" 2>/dev/null || true
}

stop_load() {
    local pg
    for pg in "${LOAD_PGIDS[@]}"; do stop_group "$pg"; done
    LOAD_PGIDS=()
}

stop_session() {
    local i
    for ((i = ${#PGIDS[@]} - 1; i >= 0; i--)); do stop_group "${PGIDS[i]}"; done
    PGIDS=()
}

cleanup() {
    stop_session
    stop_load
    if ((KEEP)); then log "kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start "$@" in its own session/process group; prints its pid (== pgid).
spawn() {
    local logf=$1; shift
    setsid "$@" </dev/null >"$logf" 2>&1 &
    echo $!
}

wait_for() {  # wait_for SECONDS WHAT CMD...
    local t=$1 what=$2; shift 2
    local end=$((SECONDS + t))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || { log "timed out waiting for $what"; return 1; }
        sleep 0.2
    done
}

# ------------------------------------------------------------------ the test signal
WAV=$TMP/sine.wav
sox -q -n -r 48000 -c 2 -b 24 "$WAV" synth "$SECONDS_PLAY" sine 997 vol 0.5

# ------------------------------------------------------------------ load generator
LOAD_KIND=""
SCRATCH=$TMP/scratch
prepare_build_load() {
    mkdir -p "$SCRATCH/src"
    # the working tree (untracked files included: HEAD alone may not configure), no build dirs
    tar -C "$REPO" --exclude='./build*' --exclude='./.git' -cf - . | tar -x -C "$SCRATCH/src" || return 1
    meson setup "$SCRATCH/build" "$SCRATCH/src" -Dbuildtype=debugoptimized >"$TMP/scratch-setup.log" 2>&1 || return 1
    ninja -C "$SCRATCH/build" -j2 >"$TMP/scratch-first-build.log" 2>&1 || return 1
}
if [[ " $LOADS " == *" loaded "* ]]; then
    if prepare_build_load; then
        LOAD_KIND="parallel build loop of a scratch copy of the working tree: while :; do ninja -C scratch/build -t clean; ninja -C scratch/build -j2; done"
    else
        LOAD_KIND="fallback: yes > /dev/null x2 (the scratch build could not be set up)"
        tail -5 "$TMP"/scratch-*.log >&2 || true
    fi
fi

start_load() {
    if [[ $LOAD_KIND == parallel* ]]; then
        LOAD_PGIDS+=("$(spawn "$TMP/load.log" bash -c \
            "while :; do ninja -C '$SCRATCH/build' -t clean >/dev/null; ninja -C '$SCRATCH/build' -j2 >/dev/null || true; done")")
    else
        LOAD_PGIDS+=("$(spawn /dev/null bash -c 'exec yes > /dev/null')")
        LOAD_PGIDS+=("$(spawn /dev/null bash -c 'exec yes > /dev/null')")
    fi
    sleep 5   # let it ramp up
}

# ------------------------------------------------------------------ one session
RUNTIME=$TMP/run CONFIG=$TMP/config STATE=$TMP/state
SESSION_ENV=(env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8
    XDG_RUNTIME_DIR="$RUNTIME" XDG_CONFIG_HOME="$CONFIG" XDG_STATE_HOME="$STATE" XDG_DATA_HOME="$TMP/data"
    DBUS_SESSION_BUS_ADDRESS="unix:path=$RUNTIME/bus"
    SPA_PLUGIN_DIR="$BUILD/spa-plugin:$SYSTEM_SPA_DIR"
    PIPEWIRE_MODULE_DIR="$BUILD/module:$SYSTEM_MODULE_DIR")
session_env() { "${SESSION_ENV[@]}" "$@"; }
have_default_metadata() { session_env timeout 5 pw-cli ls Metadata | grep -q 'metadata.name = "default"'; }
have_sink() { session_env timeout 5 pw-cli ls Node | grep -q "node.name = \"$SINK\""; }

write_config() {  # write_config TAPFILE
    rm -rf "$RUNTIME" "$CONFIG" "$STATE"
    mkdir -p "$RUNTIME" "$CONFIG/pipewire/pipewire.conf.d" "$STATE" \
        "$CONFIG/wireplumber/main.lua.d" "$CONFIG/wireplumber/bluetooth.lua.d"
    chmod 700 "$RUNTIME"
    cat >"$CONFIG/pipewire/pipewire.conf.d/50-dante-bench.conf" <<EOF
# written by bench/wakeup_jitter.sh
context.modules = [
  { name = libpipewire-module-dante-sink
    args = { dante.device-name = "$DEVICE" dante.debug.ring-tap = "$1" }
  }
]
EOF
    # Same name replaces the system file: wireplumber without ALSA/v4l2/libcamera/bluez.
    sed -e 's/^\(\s*\)\(alsa_monitor\|v4l2_monitor\|libcamera_monitor\)\.enable()/\1-- \2.enable()/' \
        /usr/share/wireplumber/main.lua.d/90-enable-all.lua >"$CONFIG/wireplumber/main.lua.d/90-enable-all.lua"
    echo '-- bluez_monitor.enable()  (disabled by bench/wakeup_jitter.sh)' \
        >"$CONFIG/wireplumber/bluetooth.lua.d/90-enable-all.lua"
}

PW_PID=""
start_session() {  # start_session LOGDIR
    local logs=$1 pg
    pg=$(spawn "$logs/dbus.log" dbus-daemon --session --nofork --nopidfile --address="unix:path=$RUNTIME/bus")
    PGIDS+=("$pg")
    wait_for 10 "dbus socket" test -S "$RUNTIME/bus"
    PW_PID=$(spawn "$logs/pipewire.log" "${SESSION_ENV[@]}" pipewire)
    PGIDS+=("$PW_PID")
    wait_for 15 "pipewire" session_env timeout 5 pw-cli info 0
    PGIDS+=("$(spawn "$logs/wireplumber.log" "${SESSION_ENV[@]}" wireplumber)")
    wait_for 15 "wireplumber's default metadata" have_default_metadata
    wait_for 10 "node $SINK" have_sink
}

data_loop_policy() {
    # PipeWire 0.3.65 names every thread "pipewire" (newer ones call the data thread
    # "data-loop.0"). Take a data-loop.* thread if there is one, else the thread other than
    # the main one that sits in epoll_wait (the data loop; the ring-tap thread sleeps in
    # clock_nanosleep), sampled 20 times via /proc/TID/syscall.
    local t tid best="" best_n=0 n comm i
    declare -A hits
    for i in $(seq 20); do
        for t in /proc/"$PW_PID"/task/*; do
            tid=${t##*/}
            [[ $tid == "$PW_PID" ]] && continue
            case $(cut -d' ' -f1 "$t/syscall" 2>/dev/null) in
                232|281|441) hits[$tid]=$(( ${hits[$tid]:-0} + 1 )) ;;   # epoll_wait, epoll_pwait, epoll_pwait2
            esac
        done
        sleep 0.05
    done
    for t in /proc/"$PW_PID"/task/*; do
        tid=${t##*/}; comm=$(cat "$t/comm" 2>/dev/null || true)
        n=${hits[$tid]:-0}
        [[ $comm == data-loop* ]] && n=1000
        if ((n > best_n)); then best=$tid; best_n=$n; fi
    done
    [[ -n $best ]] || { echo "no data thread found"; return; }
    echo "tid $best ($(cat /proc/"$PW_PID"/task/"$best"/comm), in epoll_wait $best_n/20 samples): $(chrt -p "$best" 2>&1 |
        sed 's/^pid [0-9]*.s current scheduling //' | tr '\n' ' ')"
    for t in /proc/"$PW_PID"/task/*; do   # all threads, for the record
        printf '\n##     thread %s: %s' "${t##*/}" "$(chrt -p "${t##*/}" 2>&1 | sed 's/^pid [0-9]*.s current scheduling //' | tr '\n' ' ')"
    done
}

# ------------------------------------------------------------------ runs
echo "# wakeup_jitter.sh $(date -u +%FT%TZ)"
echo "# host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "# build: $BUILD"
python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(open(sys.argv[1]))}; print("# build options: buildtype=%s b_sanitize=%s cpp_args=%s" % (o.get("buildtype"), o.get("b_sanitize"), o.get("cpp_args")))' \
    "$BUILD/meson-info/intro-buildoptions.json" 2>/dev/null || true
echo "# $NETNS_NOTE"
[[ -n $LOAD_KIND ]] && echo "# load: $LOAD_KIND"
echo

RESULTS=()
for load in $LOADS; do
    [[ $load == loaded ]] && start_load
    for q in $QUANTA; do
        run=$load-q$q
        mkdir -p "$TMP/$run"
        tap=$TMP/$run/tap.bin
        write_config "$tap"
        log "== $run: starting session"
        start_session "$TMP/$run"
        loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
        log "== $run: playing ${SECONDS_PLAY}s (pw-cat --latency=$q)"
        session_env timeout $((SECONDS_PLAY + 20)) pw-cat --playback --target "$SINK" --latency="$q" "$WAV" \
            >"$TMP/$run/pw-cat.log" 2>&1 &
        cat_pid=$!
        sleep 5
        policy=$(data_loop_policy)
        # what else was running (not ours): top CPU consumers, mid-run
        ps -eo pcpu=,comm= --sort=-pcpu | head -6 | awk '{printf "%s %s%%, ", $2, $1}' >"$TMP/$run/top.txt"
        rc=0; wait "$cat_pid" || rc=$?
        loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
        sleep 1   # let the tap thread flush
        stop_session
        echo "## $run: pw-cat exit $rc; loadavg start [$loadavg_start] end [$loadavg_end]"
        echo "##   data thread: $policy"
        echo "##   top CPU mid-run: $(cat "$TMP/$run/top.txt")"
        # the machine's floor, same load, right after: a bare timerfd at the data thread's policy
        base=$(timeout $((BASELINE_SECONDS + 20)) chrt -f 88 "$BUILD/bench/dante-bench-timer" "$q" "$BASELINE_SECONDS" 2>&1 ||
               timeout $((BASELINE_SECONDS + 20)) "$BUILD/bench/dante-bench-timer" "$q" "$BASELINE_SECONDS" 2>&1 || echo "timer baseline failed")
        echo "##   baseline (bare timerfd + epoll, ${BASELINE_SECONDS}s, after the session, same load): $base"
        python3 "$REPO/bench/tap_stats.py" "$tap" "$q" "$run"
        echo
    done
    [[ $load == loaded ]] && stop_load
done
