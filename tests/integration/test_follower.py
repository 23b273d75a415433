#!/usr/bin/env python3
"""When another node drives the graph, the Dante sink follows it and still places audio
by the media clock.

A null-audio-sink with a higher priority.driver shares a node.group with the Dante sink,
so it drives the graph while pw-cat plays to the Dante sink. Checks: pw-profiler reports
the other node as the driver and the Dante node as its follower; the ring tap's records
are follower records (wake_ns == 0), contiguous, and each one's position leads the media
clock at the driver's cycle start by the lead (one quantum + 1 ms) within a few samples;
no discontinuity after the first anchor; the audio arrives (resampled by the adapter to
track the media clock, so not compared bit for bit).
"""
import sys
from fractions import Fraction
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   make_wav, read_tap, tap_runs, start_profiler, finish_profiler)

GROUP = "dante-follow-test"
MASTER = "lab-master"
MARGIN_SAMPLES = 48  # 1 ms at 48 kHz
PLAYED_FRAMES = 4 * 48000
TOL_SAMPLES = 16  # the resampler hands over a few frames more or less per cycle while it steers

MASTER_CONF = """context.objects = [
  { factory = adapter
    args = { factory.name = support.null-audio-sink node.name = "%s" media.class = Audio/Sink
             node.group = "%s" node.driver = true priority.driver = 30000 priority.session = 1
             audio.channels = 2 audio.rate = 48000 audio.position = [ FL FR ] } }
]
""" % (MASTER, GROUP)


def body():
    a = parse_args(__doc__)
    args = lab_args(**{"dante.debug.ring-tap": "@LABDIR@/tap.bin", "node.group": GROUP})
    with make_lab(a, module_args=args, extra_conf=MASTER_CONF) as lab:
        lab.wait_node(SINK, timeout=10)
        lab.wait_node(MASTER, timeout=10)
        wav = lab.work / "signal.wav"
        make_wav(wav, frames=PLAYED_FRAMES, pad_after=8192)
        player = lab.spawn(["timeout", "30", "pw-cat", "--playback", "--target", SINK, str(wav)], name="pw-cat")
        prof = start_profiler(lab, seconds=2.0)
        drivers, followers, _ = finish_profiler(prof)
        player.wait(timeout=40)
        ids = {n["info"]["props"].get("node.name"): n["id"] for n in lab.nodes()}
        log("pw-profiler: drivers %s, followers %s; ids %s" % (drivers, followers, ids))
        check(ids[MASTER] in drivers and ids[SINK] not in drivers,
              "the null sink drives the graph, not the Dante sink (drivers %s)" % drivers)
        check(any(f == ids[SINK] for f, _ in followers), "the Dante sink is a follower (%s)" % followers)

        props = lab.node_props(SINK)
        recs = read_tap(lab.tmp / "tap.bin")
        # One record per cycle of the other driver's quantum (1024 on 0.3.65, 2048 seen on
        # 1.4): the played frames, in cycles, less a tenth for start and end.
        quantum = max(set(r.frames for r in recs), key=[r.frames for r in recs].count) if recs else 0
        expected = PLAYED_FRAMES // quantum if quantum else 0
        check(quantum > 0 and len(recs) >= expected * 9 // 10,
              "the tap recorded the playback: %d records of mostly %d frames, >= 90%% of the %d cycles "
              "that %d played frames take" % (len(recs), quantum, expected, PLAYED_FRAMES))
        check(all(r.wake_ns == 0 for r in recs), "every record was written as a follower (wake_ns == 0)")
        runs = tap_runs(recs)
        check(len(runs) == 1, "positions are contiguous: one run (%d runs)" % len(runs))
        check(str(props.get("dante.tx.discontinuities")) == "0",
              "no discontinuity after the first anchor (dante.tx.discontinuities = %s)" % props.get("dante.tx.discontinuities"))

        media_ns = int(props["dante.clock.media-ns"])
        mono_ns = int(props["dante.clock.monotonic-ns"])
        rate = Fraction(str(props["dante.clock.rate"]))
        hz = int(props["dante.rate"])
        errors = []
        for r in recs[len(recs) // 4:]:  # after the loop has pulled in
            media_at = media_ns + (r.nsec - mono_ns) * rate
            errors.append(r.position - int(media_at * hz // 10**9) - (quantum + MARGIN_SAMPLES))
        log("    quantum %d; position - media_sample(nsec) - lead: min %+d max %+d samples" %
            (quantum, min(errors), max(errors)))
        check(max(abs(e) for e in errors) <= TOL_SAMPLES,
              "each follower record leads the media clock by one quantum + 1 ms within %d samples" % TOL_SAMPLES)
        loud = sum(1 for r in recs for v in r.samples[0] if v)
        check(loud > 3 * 48000, "the audio reached the rings (%d non-silent frames on channel 1)" % loud)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
