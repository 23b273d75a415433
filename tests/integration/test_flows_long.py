#!/usr/bin/env python3
"""One Dante flow for a long time: --minutes N (default 10) of a played signal.

Same two-namespace set-up as test_flows_lifecycle.py. dante-rx subscribes to channels
1,2 (S24, fpp 32) and records N minutes + 20 s while pw-cat plays an N-minute
2-channel S24 white-noise file made with sox (plus 0.25 s of silence: pw-cat drops a
partial last quantum). The sink's ring tap (dante.debug.ring-tap) records what the graph wrote at which position.
Checks:
  * no packet lost, duplicated, reordered or malformed over the whole window;
  * the transmitter is bit-exact: every frame the graph wrote into the ring inside the
    window arrived with exactly those samples at exactly that timestamp (wire vs tap);
  * the played signal arrived bit-exact and in order: walking the received stream against
    the played file, every non-silent stretch is the next part of the signal. Gaps where
    the source (pw-cat, graph) delivered nothing in time show up as silence inserted or
    signal skipped; they are counted and reported, and fail the test only with --strict
    (they are upstream of the transmitter when the wire-vs-tap check passes);
  * the flow was never re-bootstrapped and no packet failed to send.
Reports the arrival lateness (CLOCK_TAI arrival - media time of the packet's timestamp)
p50 / p99 / p99.9 / max, and the transmitter's own send-lateness histogram.
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, built_program,  # noqa: E402
                   make_lab, parse_args, main_wrapper, check, log, lab_args, SINK, read_tap, tap_runs,
                   S24X2_FRAME, wav_s24x2, wire_vs_tap)
from netlab import NetLab  # noqa: E402
from test_flows_lifecycle import rx_cmd, read_stats, rx_failed  # noqa: E402

FRAME_BYTES = S24X2_FRAME


def walk_signal(received, played, at):
    """Walk the received stream (from byte `at`) against the played signal.
    Returns (glitches, corrupt): glitches = [(signal frame, silent frames inserted, signal
    frames skipped)], corrupt = signal frame where the stream stopped matching anything."""
    F = FRAME_BYTES
    R, P = len(received) // F, len(played) // F
    r, p = at // F, 0
    zero = b"\0" * F
    glitches = []
    while p < P:
        n = min(4800, P - p, R - r)
        if n <= 0:
            return glitches, p  # the window ended before the signal
        if received[r * F:(r + n) * F] == played[p * F:(p + n) * F]:
            r, p = r + n, p + n
            continue
        while received[r * F:(r + 1) * F] == played[p * F:(p + 1) * F]:
            r, p = r + 1, p + 1
        z = 0
        while r + z < R and received[(r + z) * F:(r + z + 1) * F] == zero:
            z += 1
        probe = received[(r + z) * F:(r + z + 64) * F]
        q = played.find(probe, p * F, (p + 10 * 48000) * F) if len(probe) == 64 * F else -1
        while q >= 0 and q % F:
            q = played.find(probe, q + 1, (p + 10 * 48000) * F)
        if q < 0:
            return glitches, p  # nothing recognisable follows (or silence to the window's end)
        glitches.append((p, z, q // F - p))
        r, p = r + z, q // F
    return glitches, None


def body():
    a = parse_args(__doc__, extra=lambda ap: (ap.add_argument("--minutes", type=float, default=10.0),
                                              ap.add_argument("--strict", action="store_true")))
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    seconds = int(round(a.minutes * 60))
    check(seconds >= 5, "--minutes gives at least 5 s")
    w = Path(tempfile.mkdtemp(prefix="flows-long-"))
    try:
        sig_wav = w / "signal.wav"
        subprocess.run(["sox", "-n", "-r", "48000", "-b", "24", "-e", "signed-integer", "-c", "2", "-t", "wavpcm", str(sig_wav),
                        "synth", str(seconds), "whitenoise", "vol", "0.9", "pad", "0", "0.25"],
                       check=True, timeout=120)
        played = wav_s24x2(sig_wav)[:seconds * 48000 * FRAME_BYTES]
        log("signal: %d s of 2-channel S24 white noise (sox)" % seconds)
        with NetLab("long") as net:
            with make_lab(a, module_args=lab_args(**{"dante.interface": net.tx_if, "dante.debug.ring-tap": "@LABDIR@/tap.bin",
                                                  "dante.clock.source": "tai"}),
                          netns=net.tx) as lab:
                lab.wait_node(SINK, timeout=10)
                rx = lab.spawn(rx_cmd(net, dante_rx, "1,2", seconds + 20, w / "rx.wav", w / "rx.json"),
                               name="dante-rx")
                lab.wait_for(lambda: str(lab.node_props(SINK).get("dante.flows")) == "1", 5, "the flow")
                t0 = time.monotonic()
                play = lab.run(["timeout", str(seconds + 60), "pw-cat", "--playback", "--target", SINK,
                                str(sig_wav)], timeout=seconds + 90, check=False)
                check(play.returncode == 0, "pw-cat played %d s (took %.1f s)" % (seconds, time.monotonic() - t0))
                rc = rx.wait(timeout=60)
                check(rc == 0, "dante-rx finished (%s)" % rx_failed(lab, rx))
                tx = lab.node_props(SINK)
                shutil.copy(lab.tmp / "tap.bin", w / "tap.bin")
        stats = read_stats(w / "rx.json")
        log("dante-rx stats: %s" % json.dumps(stats))
        log("transmitter: packets %s, underruns %s, send errors %s, rebootstraps %s, late histogram "
            "(<100us,<250us,<500us,<1ms,<2ms,<5ms,>=5ms) %s, realtime %s" % (
                tx.get("dante.tx.packets"), tx.get("dante.tx.underruns"), tx.get("dante.tx.send-errors"),
                tx.get("dante.tx.rebootstraps"), tx.get("dante.tx.late-histogram"), tx.get("dante.tx.realtime")))
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0 and stats["malformed"] == 0,
              "%d packets over %d s: none lost, duplicated, reordered or malformed" % (stats["packets"], seconds + 20))
        received = wav_s24x2(w / "rx.wav")
        recs = read_tap(w / "tap.bin")
        (w / "tap.bin").unlink()
        runs = tap_runs(recs)
        log("ring tap: %d graph cycles, %d contiguous runs of positions" % (len(recs), len(runs)))
        compared, differing, first_bad = wire_vs_tap(recs, received, stats["first_timestamp"], stats["frames"])
        check(compared > seconds * 48000 and differing == 0,
              "transmitter bit-exact: all %d frames the graph wrote in the window arrived with those samples at "
              "that timestamp (%d differ%s)" % (compared, differing,
                                                 "" if first_bad is None else ", first at %d" % first_bad))
        at = received.find(played[:64 * FRAME_BYTES])
        while at >= 0 and at % FRAME_BYTES:
            at = received.find(played[:64 * FRAME_BYTES], at + 1)
        check(at >= 0, "the start of the signal arrived, frame-aligned")
        glitches, corrupt = walk_signal(received, played, at)
        check(corrupt is None, "every received stretch is the played signal, in order, to its end%s" % (
            "" if corrupt is None else " (lost track at signal frame %d = %.3f s)" % (corrupt, corrupt / 48000)))
        for g in glitches:
            log("    source gap at %.3f s of the signal: %d frames of silence inserted, %d signal frames skipped" %
                (g[0] / 48000, g[1], g[2]))
        summary = "%d source gaps (%d silent frames inserted, %d signal frames skipped)" % (
            len(glitches), sum(g[1] for g in glitches), sum(g[2] for g in glitches))
        if glitches and not a.strict:
            log("  WARN: the played signal was not contiguous: %s; the transmitter sent what the ring held" % summary)
        else:
            check(not glitches, "the played signal arrived contiguous: %s" % summary)
        check(str(tx.get("dante.tx.rebootstraps")) == "0" and str(tx.get("dante.tx.send-errors")) == "0",
              "the transmitter never re-bootstrapped nor failed a send")
        late = stats["lateness_us"]
        log("RESULT arrival lateness over %d s (us): p50 %.1f p99 %.1f p99.9 %.1f max %.1f" %
            (seconds + 20, late["p50"], late["p99"], late["p999"], late["max"]))
    finally:
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
