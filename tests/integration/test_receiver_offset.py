#!/usr/bin/env python3
"""The receiver's timing contract, checked to the sample: a loopback through our own sink
is exactly the published number of frames.

The lab of test_receiver.py (two network namespaces, each with its own avahi-daemon,
system D-Bus and PipeWire session; both devices on dante.clock.source = tai, so they share
one media clock). lab-tx's sink and lab-rx's sink each have a ring tap, which records at
which Dante timestamp (ring position) the graph wrote every frame. lab-rx receives
channels 01 and 02 of lab-tx, and its source is linked to its own sink with pw-link: a
frame lab-tx's graph wrote at timestamp t leaves lab-tx stamped t, reaches lab-rx's graph
at position t + offset (capture_timeline.hpp), and lab-rx's sink writes it in that same
cycle, at timestamp t + offset. So for each run:
  * lab-rx starts afresh (its graph and timelines anchor anew), receives both channels, and
    its source is linked to its sink;
  * pw-cat plays a known signal into lab-tx's sink;
  * the signal's first frame is found in both taps, and the difference of its timestamps
    equals lab-rx's published dante.rx.offset-frames (2 x quantum + 1 ms + the receive
    latency) exactly, and the whole signal follows contiguous and bit-exact.
--runs N (default 20, as issue #13 asks: 20 of 20).
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (parse_args, main_wrapper, check, log, lab_args, make_lab, make_wav, read_tap,  # noqa: E402
                   read_tap_from, SINK, DEVICE, EXIT_SKIP)
from netlab import NetLab  # noqa: E402
from test_receiver import RX_DEVICE, RX_SINK, SOURCE, LATENCY_NS, states  # noqa: E402
import avahi  # noqa: E402

FRAMES = 12000  # 0.25 s


def tap_frames(recs):
    """(first position, per-channel samples as S24) of two-channel tap records, laid out
    contiguously from the first record's position (gaps filled with None)."""
    if not recs:
        return 0, [[], []]
    first = recs[0].position
    end = max(r.position + r.frames for r in recs)
    chans = [[None] * (end - first) for _ in range(2)]
    for r in recs:
        for c in range(2):
            at = r.position - first
            chans[c][at:at + r.frames] = [s >> 8 for s in r.samples[c]]
    return first, chans


def signal_position(recs, sig):
    """The Dante timestamp at which the tap holds the whole signal `sig` (two channels),
    contiguous and bit-exact; None when it does not."""
    first, chans = tap_frames(recs)
    head = sig[0][:16]
    for i in range(len(chans[0]) - len(sig[0]) + 1):
        if chans[0][i] == head[0] and chans[0][i:i + 16] == head:
            if chans[0][i:i + len(sig[0])] == sig[0] and chans[1][i:i + len(sig[1])] == sig[1]:
                return first + i
    return None


def link_source_to_sink(lab):
    """pw-link each of the source's output ports to the sink's input port of the same
    channel (AUX0 -> the sink's first channel, AUX1 -> its second)."""
    outs = [p for p in lab.run(["pw-link", "-o"]).stdout.split() if p.startswith(SOURCE + ":")]
    ins = [p for p in lab.run(["pw-link", "-i"]).stdout.split() if p.startswith(RX_SINK + ":")]
    outs.sort()
    ins = [p for p in ins if "monitor" not in p]
    check(len(outs) == 2 and len(ins) == 2, "the source has 2 output ports %s, the sink 2 inputs %s" % (outs, ins))
    order = {"FL": 0, "FR": 1, "AUX0": 0, "AUX1": 1}
    ins.sort(key=lambda p: order.get(p.rsplit("_", 1)[-1], 9))
    for o, i in zip(outs, ins):
        lab.run(["pw-link", o, i])


def body():
    a = parse_args(__doc__, extra=lambda p: p.add_argument("--runs", type=int, default=20))
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    work = Path(tempfile.mkdtemp(prefix="receiver-offset-"))
    offsets = []
    try:
        with NetLab("rco") as net, avahi.on_both_sides(net, work) as (tx_host, rx_host):
            tx_args = lab_args(**{"dante.interface": net.tx_if, "dante.clock.source": "tai",
                                  "dante.debug.ring-tap": "@LABDIR@/tap.bin"})
            rx_args = lab_args(**{"dante.device-name": RX_DEVICE, "dante.interface": net.rx_if,
                                  "dante.clock.source": "tai", "dante.rx.channels": 2,
                                  "dante.rx.latency-ns": LATENCY_NS, "dante.debug.ring-tap": "@LABDIR@/tap.bin",
                                  "dante.rx.subscriptions": [{"rx": 1, "tx-channel": "01", "tx-device": DEVICE},
                                                             {"rx": 2, "tx-channel": "02", "tx-device": DEVICE}]})
            with make_lab(a, module_args=tx_args, with_pulse=False, cmd_prefix=tx_host.prefix()) as tx_lab:
                tx_lab.wait_node(SINK, timeout=10)
                tx_lab.wait_mdns_published()
                wav_in = tx_lab.work / "signal.wav"
                tx_tap = tx_lab.tmp / "tap.bin"
                for run in range(1, a.runs + 1):
                    sig = make_wav(wav_in, frames=FRAMES, pad_after=8192, seed=1000 + run)
                    with make_lab(a, module_args=rx_args, with_pulse=False, cmd_prefix=rx_host.prefix()) as rx_lab:
                        rx_lab.wait_node(SOURCE, timeout=10)
                        rx_lab.wait_node(RX_SINK, timeout=10)
                        rx_lab.wait_for(lambda: states(rx_lab) == {1: "receiving", 2: "receiving"}, 20,
                                        "both RX channels to receive")
                        link_source_to_sink(rx_lab)
                        time.sleep(0.5)
                        tx_from = tx_tap.stat().st_size
                        play = tx_lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                                          timeout=30, check=False)
                        check(play.returncode == 0, "run %d: pw-cat played the signal (rc %s)" % (run, play.returncode))
                        time.sleep(1.0)  # the receive latency and a few cycles
                        props = rx_lab.node_props(SOURCE)
                        offset = int(props.get("dante.rx.offset-frames", -1))
                        t = signal_position(read_tap_from(tx_tap, tx_from)[0], sig)
                        t_rx = signal_position(read_tap(rx_lab.tmp / "tap.bin"), sig)
                    check(t is not None, "run %d: lab-tx's tap holds the signal" % run)
                    check(t_rx is not None,
                          "run %d: lab-rx's sink wrote the whole signal, contiguous and bit-exact, from its source" % run)
                    offsets.append(t_rx - t)
                    check(t_rx - t == offset,
                          "run %d: stamped %d by lab-tx, written at %d by lab-rx's sink: %d frames later, the "
                          "published dante.rx.offset-frames (%d)" % (run, t, t_rx, t_rx - t, offset))
            check(len(offsets) == a.runs, "%d of %d runs: the loopback is exactly the published offset (%s)" %
                  (len(offsets), a.runs, sorted(set(offsets))))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
