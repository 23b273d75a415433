#!/usr/bin/env python3
"""Audio played to the Dante sink lands bit-exact in the TX ring, at the
published lead ahead of the media clock, with the Dante node driving the graph.

Steps: write a 2 s, 2-channel, 48 kHz S24 WAV with a deterministic signal
(+ 8192 silent frames: pw-cat 0.3.65 drops the last partial quantum);
`timeout 20 pw-cat --playback --target dante_sink.lab-tx file.wav`; while it
plays, pw-profiler must report the Dante node as the (only) graph driver and
pw-cat as its follower. Then read the module's ring tap
(dante.debug.ring-tap) and check:
  * records never overlap or go backwards; within a run they are contiguous
    (pos[k+1] == pos[k] + frames[k]) and the whole WAV lies inside one run;
  * the concatenated samples contain the WAV's samples exactly (s << 8), in
    order, contiguously, on every channel, with only silence before and after;
  * every driving record (wake_ns != 0) has
    position - media_sample(nsec) == dante.tx.lead-ns in samples (+-2), where
    media_ns(m) = media-ns + (m - monotonic-ns) * rate and
    media_sample = media_ns * dante.rate / 1e9 (props read after playback).
"""
import array
import math
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.dont_write_bytecode = True   # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (CheckFailed, make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   make_wav, read_tap, tap_runs, start_profiler, finish_profiler)

RATE = 48000
CHANNELS = 2
FRAMES = 2 * RATE
TOL_SAMPLES = 2


def first_nonzero(a):
    for i, v in enumerate(a):
        if v:
            return i
    return -1


def analyze_tap(recs, sig, props, props0=None):
    """All tap checks (raises CheckFailed)."""
    log("tap: %d records" % len(recs))
    check(len(recs) > 0, "tap has records")
    check(all(r.channels == CHANNELS for r in recs), "every record has %d channels" % CHANNELS)
    sizes = sorted({r.frames for r in recs})
    log("    record sizes (frames): %s" % sizes[:10])

    fails = []
    bad = [(k, recs[k], recs[k + 1]) for k in range(len(recs) - 1)
           if recs[k + 1].position < recs[k].position + recs[k].frames]
    msg = "records never overlap or go backwards (%d violations%s)" % (
        len(bad), (": first #%d %r -> #%d %r" % (bad[0][0], bad[0][1], bad[0][0] + 1, bad[0][2])) if bad else "")
    if bad:
        log("  FAILED: " + msg)
        fails.append(msg)
        dups = [k + 1 for k, a_, b_ in bad if (a_.position, a_.nsec, a_.wake_ns, a_.frames) ==
                (b_.position, b_.nsec, b_.wake_ns, b_.frames) and a_.samples == b_.samples]
        if len(dups) == len(bad):
            log("    (all %d are exact duplicates of the previous record, at indices %s; "
                "ignoring the duplicates for the remaining checks)" % (len(dups), dups[:10]))
            recs = [r for k, r in enumerate(recs) if k not in set(dups)]
        else:
            raise CheckFailed(msg)
    else:
        log("  ok: " + msg)
    runs = tap_runs(recs)
    log("    %d contiguous run(s): %s" % (len(runs), ", ".join(
        "[%d..%d) %d recs" % (r[0].position, r[-1].position + r[-1].frames, len(r)) for r in runs)))

    run = None
    try:
        # which run holds the audio?
        audio_runs = [i for i, run in enumerate(runs)
                      if any(any(r.samples[c][j] for j in range(r.frames)) for r in run for c in range(CHANNELS))]
        check(len(audio_runs) == 1, "all non-silent samples lie in one contiguous run (runs with audio: %s)" % audio_runs)
        run = runs[audio_runs[0]]
        cat_s = []
        for c in range(CHANNELS):
            x = array.array("i")
            for r in run:
                x.extend(r.samples[c])
            cat_s.append(x)
        starts = [first_nonzero(x) for x in cat_s]
        check(len(set(starts)) == 1, "audio starts at the same frame on every channel (%s)" % starts)
        s = starts[0]
        run_pos = run[0].position
        log("    audio starts at media sample %d (frame %d of the run; %d silent frames before)" %
            (run_pos + s, s, s))
        total = len(cat_s[0])
        check(s + FRAMES <= total, "the run holds all %d WAV frames after the start (run has %d frames)" %
              (FRAMES, total - s))
        for c in range(CHANNELS):
            exp = array.array("i", (v << 8 for v in sig[c]))
            got = cat_s[c][s:s + FRAMES]
            if got != exp:
                mism = [i for i in range(FRAMES) if got[i] != exp[i]]
                i = mism[0]
                hint = ""
                probe = exp[i:i + 8].tobytes()
                where = cat_s[c].tobytes().find(probe)
                if where >= 0 and where % 4 == 0:
                    hint = "; expected samples from WAV frame %d found at run frame %d (shift %+d)" % (
                        i, where // 4, where // 4 - (s + i))
                check(False, "channel %d: %d of %d samples differ; first at WAV frame %d: got %d (0x%08x) "
                      "expected %d (0x%08x)%s" % (c, len(mism), FRAMES, i, got[i], got[i] & 0xffffffff,
                                                  exp[i], exp[i] & 0xffffffff, hint))
            check(True, "channel %d: all %d WAV samples present exactly (s<<8), in order, contiguous" % (c, FRAMES))
            after = cat_s[c][s + FRAMES:]
            check(not any(after), "channel %d: only silence after the WAV (%d frames)" % (c, len(after)))
            check(not any(cat_s[c][:s]), "channel %d: only silence before the WAV (%d frames)" % (c, s))
        check(total - s - FRAMES > 0, "at least one silent frame follows the WAV in the run (%d)" % (total - s - FRAMES))

    except CheckFailed as e:
        log("  FAILED: %s" % e)
        fails.append(str(e))

    try:
        # timing: position vs media clock at the cycle deadline
        media0 = int(str(props["dante.clock.media-ns"]))
        mono0 = int(str(props["dante.clock.monotonic-ns"]))
        crate = Fraction(str(props["dante.clock.rate"]))
        srate = int(str(props["dante.rate"]))
        lead_ns = int(str(props["dante.tx.lead-ns"]))
        check(lead_ns > 0, "dante.tx.lead-ns while playing is > 0 (%d)" % lead_ns)
        if props0 and str(props0.get("dante.clock.generation")) != str(props.get("dante.clock.generation")):
            log("  note: dante.clock.generation changed during the test: %s -> %s" %
                (props0.get("dante.clock.generation"), props.get("dante.clock.generation")))
        lead_samples = Fraction(lead_ns * srate, 1_000_000_000)
        log("    mapping: media-ns=%d monotonic-ns=%d rate=%s dante.rate=%d lead-ns=%d (= %.3f samples)" %
            (media0, mono0, props["dante.clock.rate"], srate, lead_ns, float(lead_samples)))
        driving = [r for r in recs if r.wake_ns]
        not_driving_audio = [r for r in (run or recs) if not r.wake_ns]
        check(not not_driving_audio, "every record of the audio run was written while driving (wake_ns != 0; %d are 0)" %
              len(not_driving_audio))
        errs = []
        for r in driving:
            media_ns = media0 + (r.nsec - mono0) * crate
            media_sample = math.floor(media_ns * srate / 1_000_000_000)
            errs.append((float(r.position - media_sample - lead_samples), r))
        worst = max(errs, key=lambda e: abs(e[0]))
        log("    position - media_sample(nsec) - lead: min %+.2f max %+.2f samples over %d driving records" %
            (min(e[0] for e in errs), max(e[0] for e in errs), len(errs)))
        lat = [r.wake_ns - r.nsec for r in driving]
        log("    wake_ns - nsec: min %d us, max %d us" % (min(lat) // 1000, max(lat) // 1000))
        check(abs(worst[0]) <= TOL_SAMPLES,
              "every driving record's position leads the media clock at nsec by dante.tx.lead-ns within "
              "+-%d samples (worst %+.2f at %r)" % (TOL_SAMPLES, worst[0], worst[1]))
    except CheckFailed as e:
        log("  FAILED: %s" % e)
        fails.append(str(e))
    if fails:
        raise CheckFailed("%d tap check(s) failed: %s" % (len(fails), " || ".join(fails)))


def body():
    a = parse_args(__doc__)
    args = lab_args(**{"dante.debug.ring-tap": "@LABDIR@/tap.bin"})
    with make_lab(a, module_args=args) as lab:
        tap = lab.tmp / "tap.bin"
        node = lab.wait_node(SINK, timeout=10)
        dante_id = node["id"]
        log("dante node %s has id %d; tap file %s" % (SINK, dante_id, tap))
        props0 = lab.node_props(SINK)

        wav = lab.work / "signal.wav"
        # + 8192 frames of silence: pw-cat 0.3.65 drops a file's last partial quantum
        sig = make_wav(wav, rate=RATE, channels=CHANNELS, frames=FRAMES, kind="random", bits=24,
                       pad_after=8192)
        log("wrote %s: %d frames x %d ch S24 (+8192 silent), first samples %s / %s" %
            (wav, FRAMES, CHANNELS, sig[0][:3], sig[1][:3]))

        # pw-profiler (the data pw-top shows) runs across pw-cat's start
        prof = start_profiler(lab, seconds=2.0)
        time.sleep(0.4)
        t0 = time.monotonic()
        cat = lab.spawn(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav)],
                        name="pw-cat")

        # wait until pw-cat's stream node exists and is running
        def cat_running():
            for n in lab.nodes():
                p = n["info"]["props"]
                if p.get("application.name") == "pw-cat" or p.get("node.name") == "pw-cat":
                    return n if n["info"].get("state") == "running" else None
            return None
        try:
            lab.wait_for(cat_running, 3, "pw-cat stream node running")
        except Exception as e:
            check(False, "pw-cat stream is running within 3 s (%s); pw-cat log: %s" %
                  (e, Path(cat.lab_log).read_text(errors="replace")[-1500:]))
        props_run = lab.node_props(SINK)   # lead-ns depends on the running quantum: read it now
        state = (lab.find_node(SINK) or {}).get("info", {}).get("state")
        check(state == "running", "dante node is running while pw-cat plays (state %r)" % state)
        drivers, followers, raw = finish_profiler(prof)
        log("pw-profiler saw: drivers %s, followers %s" % (drivers, followers))
        check(drivers == [dante_id],
              "the Dante node (id %d) is the only graph driver during playback (drivers seen: %s)" %
              (dante_id, drivers))
        check(any(name == "pw-cat" for _, name in followers),
              "pw-cat is a follower of it (followers seen: %s)" % followers)

        try:
            rc = cat.wait(timeout=25)
        except Exception:
            rc = None
        elapsed = time.monotonic() - t0
        check(rc == 0, "pw-cat finished with rc 0 (rc %r after %.1f s; 124 = timed out)" % (rc, elapsed))
        time.sleep(0.5)   # let trailing cycles reach the tap
        props = dict(lab.node_props(SINK))
        log("    dante.tx.lead-ns: %r while playing, %r after" % (props_run.get("dante.tx.lead-ns"),
                                                              props.get("dante.tx.lead-ns")))
        props["dante.tx.lead-ns"] = props_run.get("dante.tx.lead-ns")
        check(tap.exists(), "ring tap file %s exists" % tap)
        recs = read_tap(tap)
        log("tap file: %d bytes" % tap.stat().st_size)
        analyze_tap(recs, sig, props, props0)
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
