#!/usr/bin/env python3
"""The Dante sink publishes a sane, live media clock in its node properties.

Checks: dante.clock.* / dante.tx.* / dante.* props are present; state is one of
locked|holdover|master|free-running|unsynchronized; rate within 1 +- 1e-3;
source is "tai". Over ~3 s of updates: delta(media-ns)/delta(monotonic-ns) is
within 100 ppm of 1; each (media-ns, monotonic-ns) pair has
media-ns - monotonic-ns == CLOCK_TAI - CLOCK_MONOTONIC (measured here) within
1 ms; monotonic-ns is recent (within 2 s of now).
"""
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.dont_write_bytecode = True   # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_wrapper, check, log, lab_args, SINK)  # noqa: E402
import ptp_lab  # noqa: E402

STATES = {"locked", "holdover", "master", "free-running", "unsynchronized"}
REQUIRED = ["dante.clock.media-ns", "dante.clock.monotonic-ns", "dante.clock.rate",
            "dante.clock.generation", "dante.clock.state", "dante.clock.source",
            "dante.tx.lead-ns", "dante.tx.latency-ns", "dante.rate", "dante.device-name",
            "dante.flows"]


def as_int(v):
    return int(str(v).strip())


def tai_minus_mono():
    """CLOCK_TAI - CLOCK_MONOTONIC in ns, measured with the tightest bracket of 5 tries."""
    return ptp_lab.clock_minus_monotonic(time.CLOCK_TAI, tries=5)


def body():
    a = parse_args(__doc__)
    with make_lab(a, module_args=lab_args(**{"dante.clock.source": "tai"}), with_pulse=False) as lab:
        lab.wait_node(SINK, timeout=10)
        deadline = time.monotonic() + 5
        while True:
            props = lab.node_props(SINK)
            missing = [k for k in REQUIRED if k not in props]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if missing:
            log("node props: %s" % {k: v for k, v in props.items()})
        check(not missing, "all required props present on %s (missing: %s)" % (SINK, missing))
        for k in REQUIRED:
            log("    %s = %r" % (k, props[k]))
        check(str(props["dante.clock.state"]) in STATES,
              "dante.clock.state %r is one of %s" % (props["dante.clock.state"], sorted(STATES)))
        rate = Fraction(str(props["dante.clock.rate"]))
        check(abs(rate - 1) <= Fraction(1, 1000), "dante.clock.rate %s within 1 +- 1e-3" % props["dante.clock.rate"])
        check(str(props["dante.clock.source"]) == "tai", "dante.clock.source is tai (got %r)" % props["dante.clock.source"])
        check(str(props["dante.device-name"]) == "lab-tx", "dante.device-name is lab-tx")
        check(as_int(props["dante.rate"]) == 48000, "dante.rate is 48000 (got %r)" % props["dante.rate"])
        lead = as_int(props["dante.tx.lead-ns"])
        lat = as_int(props["dante.tx.latency-ns"])
        # lead depends on the running quantum; 0 is allowed while the sink is idle
        check(0 <= lead < 1_000_000_000, "dante.tx.lead-ns %d is >= 0 and < 1 s" % lead)
        check(0 < lat < 1_000_000_000, "dante.tx.latency-ns %d is positive and < 1 s" % lat)

        # collect distinct updates over ~3.5 s
        samples = []        # (media, mono, gen, offset_py, now_mono)
        t_end = time.monotonic() + 3.5
        while time.monotonic() < t_end or len(samples) < 2:
            p = lab.node_props(SINK)
            off = tai_minus_mono()
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            media, mono = as_int(p["dante.clock.media-ns"]), as_int(p["dante.clock.monotonic-ns"])
            if not samples or samples[-1][1] != mono:
                samples.append((media, mono, str(p["dante.clock.generation"]), off, now,
                                str(p["dante.clock.state"])))
                log("    update: media-ns=%d monotonic-ns=%d gen=%s state=%s age=%.3fs" %
                    (media, mono, samples[-1][2], samples[-1][5], (now - mono) / 1e9))
            if time.monotonic() > t_end + 5:
                break
            time.sleep(0.25)
        check(len(samples) >= 2, "props were refreshed during the %.1f s window (%d distinct updates)" %
              (3.5, len(samples)))
        for media, mono, gen, off, now, _ in samples:
            age = now - mono
            check(-1_000_000 <= age <= 2_000_000_000,
                  "monotonic-ns %d is recent: %.3f s before now" % (mono, age / 1e9))
            diff = (media - mono) - off
            check(abs(diff) <= 1_000_000,
                  "media-ns - monotonic-ns matches CLOCK_TAI - CLOCK_MONOTONIC within 1 ms (diff %+d ns)" % diff)
        first, last = samples[0], samples[-1]
        dmono = last[1] - first[1]
        dmedia = last[0] - first[0]
        check(dmono >= 2_000_000_000, "updates span %.3f s of monotonic time (>= 2 s)" % (dmono / 1e9))
        ratio = Fraction(dmedia, dmono)
        ppm = float((ratio - 1) * 1_000_000)
        check(abs(ppm) <= 100, "delta media / delta monotonic = 1 %+.3f ppm (within 100 ppm)" % ppm)
        gens = {s[2] for s in samples}
        if len(gens) > 1:
            log("  note: dante.clock.generation changed during the window: %s" % sorted(gens))
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
