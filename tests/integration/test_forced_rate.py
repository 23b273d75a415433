#!/usr/bin/env python3
"""The graph forced to another rate or quantum while audio plays never corrupts the wire.

Issue #10: with `clock.force-rate 44100` the graph ran at 44100/1024 while the sink kept
timing cycles at 48 kHz and wrote the 1114-1115 resampled frames of each cycle at 1024-
sample steps: overlapping writes, corrupt audio on the wire. The sink now times such
cycles at the graph's rate and refuses their audio (silence on the wire, a log line and
dante.tx.rate-mismatch = the graph's rate) until the graph is back at the Dante rate.

Two network namespaces joined by a veth pair (NetLab); our PipeWire session with the sink
on CLOCK_TAI in one, dante-rx recording the flow in the other. pw-cat plays a known
2-channel S24 signal; meanwhile `pw-metadata -n settings 0 clock.force-rate 44100` for a
while, back to 0, then `clock.force-quantum 256` for a while, back to 0. Checks:
  * while forced to 44100: dante.tx.rate-mismatch = 44100, refused cycles counted, the log
    says so; afterwards dante.tx.rate-mismatch = 0 and the sink writes again;
  * the ring tap: every cycle's frames start at or after the end of the previous cycle's
    (no write ever overlaps another), each cycle wrote exactly one 48 kHz quantum (the
    graph's own or 256), the 256-sample quantum ran, and the quantum changes left
    positions contiguous, except for a gap of silence where PipeWire restarted the driver
    for the change (1.x does; dante.tx.starts counts the starts);
  * the first stretch (before any forcing) is the played signal, bit-exact and contiguous;
  * the wire equals the rings exactly: every received sample is what the tap says was
    written at its timestamp (S32 >> 8), and silence where nothing was written; no loss.
"""
import json
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, built_program,  # noqa: E402
                   make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   make_wav, read_tap, tap_runs)
from netlab import NetLab  # noqa: E402
from test_dante_rx import read_wav_s24  # noqa: E402

RATE = 48000
FRAMES = 9 * RATE          # the signal: longer than the whole sequence below
SECONDS = 14               # dante-rx records this long


def metadata(lab, key, value):
    lab.run(["pw-metadata", "-n", "settings", "0", key, str(value)], timeout=10)
    log("    pw-metadata -n settings 0 %s %s" % (key, value))


def prop(lab, key):
    return str(lab.node_props(SINK).get(key))


def body():
    a = parse_args(__doc__)
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    with NetLab("fr") as net:
        args = lab_args(**{"dante.interface": net.tx_if, "dante.debug.ring-tap": "@LABDIR@/tap.bin",
                           "dante.clock.source": "tai"})
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            wav_in = lab.work / "signal.wav"
            sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
            wav_out, stats_out = lab.work / "rx.wav", lab.work / "rx.json"
            rx = lab.spawn(["ip", "netns", "exec", net.rx, str(dante_rx), "--address", net.tx_addr,
                            "--channels", "1,2", "--seconds", str(SECONDS), "--format", "S24",
                            "--wav", str(wav_out), "--stats", str(stats_out)], name="dante-rx")
            lab.wait_for(lambda: prop(lab, "dante.flows") == "1", 5, "the sink to report one active flow")
            play = lab.spawn(["timeout", "30", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                             name="pw-cat")
            time.sleep(1.5)

            metadata(lab, "clock.force-rate", 44100)
            lab.wait_for(lambda: prop(lab, "dante.tx.rate-mismatch") == "44100", 5,
                         "dante.tx.rate-mismatch = 44100")
            check(True, "forced to 44100 Hz: dante.tx.rate-mismatch = 44100")
            time.sleep(1.5)
            refused = int(prop(lab, "dante.tx.rate-mismatch-cycles"))
            check(refused > 0, "cycles at 44100 Hz were refused (%d)" % refused)
            metadata(lab, "clock.force-rate", 0)
            lab.wait_for(lambda: prop(lab, "dante.tx.rate-mismatch") == "0", 5,
                         "dante.tx.rate-mismatch back to 0")
            check(True, "back at 48000 Hz: dante.tx.rate-mismatch = 0")
            time.sleep(1.0)

            metadata(lab, "clock.force-quantum", 256)
            time.sleep(1.5)
            metadata(lab, "clock.force-quantum", 0)
            time.sleep(1.0)

            rc = rx.wait(timeout=SECONDS + 15)
            check(rc == 0, "dante-rx finished cleanly (rc %s): %s" % (rc, lab._read(rx.lab_log)[-600:]))
            lab._kill(play)
            starts = int(prop(lab, "dante.tx.starts"))
            pwlog = lab.log_text()
            recs = read_tap(lab.tmp / "tap.bin")
            stats = json.loads(stats_out.read_text())
            received = read_wav_s24(wav_out)

        check("the graph runs at 44100 Hz" in pwlog, "the log said the graph ran at 44100 Hz")
        check("the graph is back at 48000 Hz" in pwlog, "the log said the graph was back at 48000 Hz")
        log("dante-rx stats: %s" % json.dumps({k: stats[k] for k in ("packets", "lost", "duplicated",
                                                                      "reordered", "first_timestamp")}))
        check(stats["packets"] > 0 and stats["lost"] == 0 and stats["duplicated"] == 0 and
              stats["reordered"] == 0, "packets arrived, no loss, duplicate or reordering")

        # --- the rings: no write overlaps another, each cycle one 48 kHz quantum
        check(len(recs) > 100, "the tap recorded the playback (%d cycles)" % len(recs))
        overlaps = [(p, r) for p, r in zip(recs, recs[1:]) if r.position < p.position + p.frames]
        check(not overlaps, "no cycle's write overlaps the previous one's (%d overlaps, first %s)" %
              (len(overlaps), overlaps[:1]))
        sizes = sorted(set(r.frames for r in recs))
        log("    cycle sizes written: %s; %d runs of contiguous positions" % (sizes, len(tap_runs(recs))))
        default_quantum = recs[0].frames  # the graph's own before forcing (pw-cat's latency: 2048 here)
        check(set(sizes) <= {256, default_quantum},
              "every cycle wrote one quantum at 48 kHz (256 or %d frames): %s" % (default_quantum, sizes))
        check(256 in sizes, "the forced 256-sample quantum ran")
        changes = [(p, r) for p, r in zip(recs, recs[1:]) if p.frames != r.frames]
        # PipeWire 1.x pauses and restarts the driver for a forced quantum: the first cycle
        # after a start carries no audio (the followers start with it), and a restart later
        # than the lead allows anchors afresh. So a gap of silence at such a change, only as
        # often as the node restarted (dante.tx.starts counts the first start too); the
        # wire check below proves the gap is silence. 0.3.65 changes without a restart.
        gaps = [(p, r) for p, r in changes if r.position != p.position + p.frames]
        restarts = starts - 1
        log("    %d quantum changes, %d with a gap; the node was restarted %d times" % (len(changes), len(gaps), restarts))
        check(changes and len(gaps) <= restarts and all(r.position > p.position + p.frames for p, r in gaps),
              "the quantum changes kept positions contiguous, but for a gap where the driver restarted "
              "(%d changes, %d restarts, gaps: %s)" %
              (len(changes), restarts,
               ["%d frames at %d, then %d at %+d, %.3f ms later" %
                (p.frames, p.position, r.frames, r.position - p.position - p.frames, (r.nsec - p.nsec) / 1e6)
                for p, r in gaps]))

        # --- the first stretch of audio, before any forcing, is the signal itself
        first = next((run for run in tap_runs(recs) if any(r.samples[0][j] for r in run for j in range(r.frames))), [])
        ch0 = [s for r in first for s in r.samples[0]]
        ch1 = [s for r in first for s in r.samples[1]]
        start = next((i for i, s in enumerate(ch0) if s != 0), None)
        check(start is not None, "the first stretch holds audio")
        n = min(len(ch0) - start, RATE)
        check(n > RATE // 2 and ch0[start:start + n] == [s << 8 for s in sig[0][:n]] and
              ch1[start:start + n] == [s << 8 for s in sig[1][:n]],
              "the first %d frames written are the played signal, bit-exact and contiguous" % n)

        # --- the wire is exactly what was written, silence elsewhere
        base = stats["first_timestamp"]
        frames = len(received[0])
        expected = [[0] * frames, [0] * frames]
        for r in recs:
            for ch in (0, 1):
                for j in range(r.frames):
                    i = r.position + j - base
                    if 0 <= i < frames:
                        expected[ch][i] = r.samples[ch][j] >> 8
        written = sum(1 for r in recs for j in range(r.frames) if 0 <= r.position + j - base < frames)
        check(written > 3 * RATE, "the recording covers the writes (%d frames written in it)" % written)
        bad = [i for i in range(frames) if received[0][i] != expected[0][i] or received[1][i] != expected[1][i]]
        check(not bad, "all %d received frames equal the rings' content at their timestamp "
              "(silence where nothing was written); %d differ, first at %s" % (frames, len(bad), bad[:3]))
        silent = sum(1 for i in range(frames) if expected[0][i] == 0)
        log("    received %d frames: %d written, %d silent" % (frames, written, silent))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
