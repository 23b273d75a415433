#!/usr/bin/env python3
"""What pw-cat plays leaves the machine as a Dante flow, bit-exact and stamped with the
graph position it was written at.

Two network namespaces joined by a veth pair (nothing reaches a real network): the
transmitter namespace runs our PipeWire session with the Dante sink bound to its veth;
the receiver namespace runs dante-rx, which requests a flow (flow-control 0x0100) exactly
as a Dante receiver does, sends keepalives, records for a few seconds and stops its flow.
pw-cat plays a known 2-channel S24 signal meanwhile. Checks:
  * the flow shows up in the node's properties (dante.flows = 1), and is gone after stop;
  * dante-rx saw no loss, duplicate or reordering;
  * the received S24 samples equal the played ones exactly, contiguously;
  * the Dante timestamp of the first played sample (dante-rx's first_timestamp + its
    index in the WAV) equals the graph position at which the sink wrote it (ring tap);
  * arrival lateness (arrival - the timestamp's media time) is never negative at p50.
--clock ptp: the sink runs on its built-in PTP clock (the default with an interface; alone
in the lab it leads) and dante-rx follows it as a Dante receiver does (--clock ptp), so
lateness is measured on the network's PTP time: p50 in [0, 1] ms and p99 under half the
advertised 4 ms latency. --clock tai (default): both read CLOCK_TAI of the shared kernel.
"""
import json
import subprocess
import sys
import time
import wave
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, built_program,  # noqa: E402
                   make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   make_wav, read_tap)
from netlab import NetLab  # noqa: E402

FRAMES = 3 * 48000
SECONDS = 9


def read_wav_s24(path):
    with wave.open(str(path), "rb") as w:
        check(w.getsampwidth() == 3 and w.getnchannels() == 2 and w.getframerate() == 48000,
              "dante-rx wrote a 2-channel 24-bit 48 kHz WAV")
        raw = w.readframes(w.getnframes())
    chans = [[], []]
    for i in range(0, len(raw), 3):
        chans[(i // 3) % 2].append(int.from_bytes(raw[i:i + 3], "little", signed=True))
    return chans


def find(haystack, needle):
    """Index where `needle` starts in `haystack` (exact), or -1."""
    first = needle[0]
    for i in range(len(haystack) - len(needle) + 1):
        if haystack[i] == first and haystack[i:i + len(needle)] == needle:
            return i
    return -1


def tap_position(recs, first_frame):
    """The graph position at which the 2-channel S24 frame `first_frame` was written, from
    the ring tap (which holds samples as S32, s << 8); None if the tap never saw it."""
    for r in recs:
        for i in range(r.frames):
            if r.samples[0][i] == first_frame[0] << 8 and r.samples[1][i] == first_frame[1] << 8:
                return r.position + i
    return None


def check_played_signal(received, sig, first_timestamp, recs):
    """The played 2-channel signal `sig` arrived bit-exact and contiguous in `received`, and
    its first sample carries the graph position it was written at (the ring tap `recs`):
    the timing contract. Returns (timestamp on the wire, graph position)."""
    frames = len(sig[0])
    start = find(received[0], sig[0])
    check(start >= 0, "channel 1: all %d played samples arrived bit-exact and contiguous" % frames)
    check(received[1][start:start + frames] == sig[1],
          "channel 2: all %d played samples arrived bit-exact at the same frames" % frames)
    wire_ts = first_timestamp + start
    tap_ts = tap_position(recs, (sig[0][0], sig[1][0]))
    check(tap_ts is not None and wire_ts == tap_ts,
          "the first sample's timestamp %d equals the graph position it was written at (%s)" % (wire_ts, tap_ts))
    return wire_ts, tap_ts


def flows(lab):
    return str(lab.node_props(SINK).get("dante.flows"))


def body():
    a = parse_args(__doc__, lambda ap: ap.add_argument("--clock", choices=("tai", "ptp"), default="tai"))
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    with NetLab("rx") as net:
        # tai: the lateness below is CLOCK_TAI arrival - media time; ptp: dante-rx follows the
        # sink's PTP clock and measures on it.
        args = lab_args(**{"dante.interface": net.tx_if, "dante.debug.ring-tap": "@LABDIR@/tap.bin",
                           "dante.clock.source": a.clock})
        clock_args = ["--clock", "ptp", "--interface", net.rx_if] if a.clock == "ptp" else []
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            props = lab.node_props(SINK)
            log("flow-control port %s on %s (%s)" % (props.get("dante.flow-control.port"), net.tx_if, net.tx_addr))
            wav_in = lab.work / "signal.wav"
            sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
            wav_out, stats_out = lab.work / "rx.wav", lab.work / "rx.json"
            rx = lab.spawn(["ip", "netns", "exec", net.rx, str(dante_rx), "--address", net.tx_addr,
                            "--channels", "1,2", "--seconds", str(SECONDS), "--format", "S24",
                            "--wav", str(wav_out), "--stats", str(stats_out)] + clock_args, name="dante-rx")
            # (with ptp, dante-rx first waits for the sink to lead and for its own lock)
            lab.wait_for(lambda: flows(lab) == "1", 20 if a.clock == "ptp" else 5,
                         "the sink to report one active flow")
            check(True, "the receiver's flow is active (dante.flows = 1)")
            play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                           timeout=30, check=False)
            check(play.returncode == 0, "pw-cat played the signal (rc %s)" % play.returncode)
            rc = rx.wait(timeout=SECONDS + 15)
            check(rc == 0, "dante-rx finished cleanly (rc %s): %s" % (rc, lab._read(rx.lab_log)[-600:]))
            lab.wait_for(lambda: flows(lab) == "0", 5, "the flow to be stopped")
            check(True, "dante-rx stopped its flow on exit (dante.flows = 0)")
            tx_props = lab.node_props(SINK)
            recs = read_tap(lab.tmp / "tap.bin")
            stats = json.loads(stats_out.read_text())
            received = read_wav_s24(wav_out)

        log("dante-rx stats: %s" % json.dumps(stats))
        check(stats["packets"] > 0, "packets arrived (%d)" % stats["packets"])
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0,
              "no loss, duplicate or reordering (lost %d, dup %d, reorder %d)" %
              (stats["lost"], stats["duplicated"], stats["reordered"]))
        log("    transmitter: packets %s, underruns %s, late histogram %s, realtime %s" % (
            tx_props.get("dante.tx.packets"), tx_props.get("dante.tx.underruns"),
            tx_props.get("dante.tx.late-histogram"), tx_props.get("dante.tx.realtime")))

        wire_ts, tap_ts = check_played_signal(received, sig, stats["first_timestamp"], recs)
        log("    first sample: Dante timestamp on the wire %d, graph position %d" % (wire_ts, tap_ts))
        late = stats["lateness_us"]
        log("    arrival lateness (us): p50 %.1f p99 %.1f p99.9 %.1f max %.1f" %
            (late["p50"], late["p99"], late["p999"], late["max"]))
        check(late["p50"] >= 0, "packets never arrive before their media time (p50 %.1f us)" % late["p50"])
        if a.clock == "ptp":
            check(tx_props.get("dante.clock.source") == "ptp", "the sink ran on its PTP clock")
            check(late["p50"] <= 1000 and late["p99"] <= 2000,
                  "on the PTP time dante-rx follows, packets arrive on time: p50 %.1f us <= 1 ms, "
                  "p99 %.1f us <= 2 ms" % (late["p50"], late["p99"]))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
