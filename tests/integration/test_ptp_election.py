#!/usr/bin/env python3
"""dante-ptp picks the best leader, and leads when nobody else does.

A SwitchLab with hosts a, b (leaders), f (follower), g (second follower):
  1. v2: ptp-test-leader on a with priority1 100 and on b with priority1 120 (same
     clock class): `dante-ptp --slave-only` on f locks to a (master_id = a's identity)
     and, 5 s after lock, its error against a's timescale has p99 <= 50 us over 3 s.
  2. v1: the same with a "preferred" leader (priority1 < 128 sets gmPreferred) on b and an
     ordinary one on a: f follows b.
  3. No leader: `dante-ptp --version 2` on a ends up master (state and port_state) and
     names itself as master_id; `dante-ptp --version 2 --slave-only` on g locks to it
     within 15 s with master_id = a's identity; the two estimates agree (p99 of the
     difference at g's sample instants <= 50 us over 3 s).

The bounds tell the leaders apart (the other one is 450+ us away: it runs 50 ppm off),
not how well a follower tracks: ptp_follow judges that. 50 us leaves room for software
timestamps on a loaded 2-core CI machine (a v1 p99 of 20.4 us was seen there; idle, 2-11 us).
"""
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import build_dir, parse_args, main_wrapper, check, log  # noqa: E402
from netlab import SwitchLab  # noqa: E402
import ptp_lab  # noqa: E402


# Seconds after lock before accuracy windows start.
SETTLE_S = 5
# p99 bound on |error| (ns): see the docstring.
BOUND_NS = 50_000

def follows(lab, leader_bin, ptp_bin, version, prio_a, prio_b, wd):
    la = ptp_lab.Leader(lab, "a", leader_bin, version, ppm=0, priority1=prio_a)
    lb = ptp_lab.Leader(lab, "b", leader_bin, version, ppm=50, priority1=prio_b)  # told apart by rate too
    f = ptp_lab.DantePtp(lab, "f", ptp_bin, version=version, interval_ms=100, slave_only=True,
                         stderr_path=Path(wd) / ("election-v%d.err" % version))
    try:
        lock = f.wait_state("locked", 12)
        check(lock is not None, "v%d: follower locked within 12 s" % version)
        # Accuracy is judged once settled: the servo's first seconds after lock carry the
        # transient of its initial frequency estimate (bench/RESULTS.md §6).
        f.collect(SETTLE_S)
        window = f.collect(3)
    finally:
        f.stop()
        la.quit()
        lb.quit()
    best = la if prio_a < prio_b else lb
    other = lb if best is la else la
    ids = sorted(set(s["master_id"] for s in window))
    log("v%d: leaders a %s (priority1 %d), b %s (priority1 %d); follower's master_id %s"
        % (version, la.clock_id, prio_a, lb.clock_id, prio_b, ids))
    check(len(ids) == 1 and ptp_lab.same_clock_id(ids[0], best.clock_id),
          "v%d: follows the better leader %s" % (version, best.clock_id))
    p99 = ptp_lab.percentile([abs(e) for e in ptp_lab.errors_against(best, window)], 99)
    p99_other = ptp_lab.percentile([abs(e) for e in ptp_lab.errors_against(other, window)], 99)
    check(p99 <= BOUND_NS, "v%d: error p99 against the better leader %.1f us <= %d us (against the other: %.0f us)"
          % (version, p99 / 1e3, BOUND_NS // 1000, p99_other / 1e3))


def body():
    a = parse_args(__doc__)
    build = build_dir(a)
    leader_bin, ptp_bin = ptp_lab.require_binaries(build, "ptp-test-leader", "dante-ptp")
    with tempfile.TemporaryDirectory(prefix="ptp-elect-") as wd, \
            SwitchLab(hosts=["a", "b", "f", "g"], tag="pe") as lab:
        follows(lab, leader_bin, ptp_bin, 2, 100, 120, wd)
        follows(lab, leader_bin, ptp_bin, 1, 200, 100, wd)

        # 3. dante-ptp leads when alone, and a slave-only dante-ptp follows it.
        lead = ptp_lab.DantePtp(lab, "a", ptp_bin, version=2, interval_ms=100, stderr_path=Path(wd) / "lead.err")
        master = lead.wait_state("master", 15, port_state="master")
        check(master is not None, "dante-ptp alone becomes master, clock and port, within 15 s (after %.1f s)"
              % (((master["mono_ns"] - lead.start_mono) / 1e9) if master else -1))
        log("alone: master after %.1f s, port_state %s, master_id %s"
            % ((master["mono_ns"] - lead.start_mono) / 1e9, master["port_state"], master["master_id"]))
        own = ptp_lab.mac_identity(lab, "a")
        check(ptp_lab.same_clock_id(master["master_id"], own), "it names itself (%s) as master" % own)
        g = ptp_lab.DantePtp(lab, "g", ptp_bin, version=2, interval_ms=100, slave_only=True,
                             stderr_path=Path(wd) / "follow.err")
        lock = g.wait_state("locked", 15)
        g.collect(SETTLE_S)
        check(lock is not None, "a slave-only dante-ptp locks to it within 15 s")
        window = g.collect(3)
        g.stop()
        leader_samples = list(lead.samples)
        lead.stop()
        check(all(ptp_lab.same_clock_id(s["master_id"], own) for s in window), "the follower's master_id is %s" % own)
        diffs = []
        for s in window:
            ref = max((x for x in leader_samples if x["mono_ns"] <= s["mono_ns"]), key=lambda x: x["mono_ns"],
                      default=None)
            if ref is not None and s["state"] == "locked":
                m = s["mono_ns"]
                diffs.append(abs(ptp_lab.DantePtp.estimate(s, m) - ptp_lab.DantePtp.estimate(ref, m)))
        p99 = ptp_lab.percentile(diffs, 99)
        log("follower vs dante-ptp leader: |difference| p50 %.1f us p99 %.1f us over %d samples"
            % (ptp_lab.percentile(diffs, 50) / 1e3, p99 / 1e3, len(diffs)))
        check(len(diffs) >= 20 and p99 <= BOUND_NS, "follower agrees with the dante-ptp leader: p99 %.1f us <= %d us"
              % (p99 / 1e3, BOUND_NS // 1000))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
