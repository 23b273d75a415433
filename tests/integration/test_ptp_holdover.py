#!/usr/bin/env python3
"""dante-ptp through a leader's silence, its return, and a step of the leader's time.

A SwitchLab with a ptp-test-leader (v2, +100 ppm, so holdover must keep a non-unit rate)
and `dante-ptp --slave-only --interval-ms 100`. T(m) is known from the leader's anchors.
  1. lock (<= 10 s), settle 5 s.
  2. `pause` for 10 s: state becomes holdover within 8 s; the published rate stays the
     last locked one (within 0.01 ppm) and the estimate keeps running: its drift against
     T over the pause (error at the end minus error before) is reported and must stay
     within 20 us + 25 ppm * pause (a fall-back to rate 1 would be 100 ppm).
  3. `resume`: locked again within 10 s, with a newer generation than before the pause;
     the media time never jumps (estimate of one sample vs the next, at the same instant)
     by more than the error the earlier estimate had at that instant + 20 us; after re-lock, the
     error p99 over 3 s is <= 50 us.
  4. `step 5000000` (+5 ms): detected (generation increments, the engine leaves "locked"
     or steps), locked again within 10 s, error p99 over 3 s afterwards <= 50 us.
The 3 s windows after a re-lock say that it tracks again (a lost lock is off by far more);
how closely a settled follower tracks is ptp_follow's claim (p99 <= 20 us over 10 s).
"""
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import build_dir, parse_args, main_wrapper, check, log  # noqa: E402
from netlab import SwitchLab  # noqa: E402
import ptp_lab  # noqa: E402

PPM = 100.0
PAUSE_S = 10
STEP_NS = 5_000_000
# p99 bound after a re-lock (3 s windows): see the docstring.
RELOCKED_P99_NS = 50_000


def err(leader, s):
    return ptp_lab.DantePtp.estimate(s, s["mono_ns"]) - leader.true_ptp(s["mono_ns"])


def p99_abs(leader, samples):
    return ptp_lab.percentile([abs(e) for e in ptp_lab.errors_against(leader, samples)], 99)


def max_jump(samples):
    """Largest discontinuity between consecutive samples: the earlier line evaluated where
    the later one starts (its anchor). A change of slope (holdover entry holds the servo's
    frequency estimate, not the last kicked rate) is no jump; a step of the timeline is."""
    worst = 0
    for a, b in zip(samples, samples[1:]):
        m = b["monotonic_ns"]
        worst = max(worst, abs(ptp_lab.DantePtp.estimate(b, m) - ptp_lab.DantePtp.estimate(a, m)))
    return worst


def worst_excess_jump(leader, samples):
    """For each move of the timeline between consecutive samples (the earlier line and the
    later one, both evaluated where the later one starts), by how much it exceeds the
    earlier line's error against T at that instant. Returns (worst excess, its jump, its error)."""
    worst = (float("-inf"), 0, 0)
    for a, b in zip(samples, samples[1:]):
        m = b["monotonic_ns"]
        before = ptp_lab.DantePtp.estimate(a, m)
        jump = abs(ptp_lab.DantePtp.estimate(b, m) - before)
        error = abs(before - leader.true_ptp(m))
        worst = max(worst, (jump - error, jump, error))
    return worst


def body():
    a = parse_args(__doc__)
    build = build_dir(a)
    leader_bin, ptp_bin = ptp_lab.require_binaries(build, "ptp-test-leader", "dante-ptp")
    with tempfile.TemporaryDirectory(prefix="ptp-hold-") as wd, SwitchLab(hosts=["leader", "f"], tag="ph") as lab:
        leader = ptp_lab.Leader(lab, "leader", leader_bin, 2, ppm=PPM, stderr_path=Path(wd) / "leader.err")
        f = ptp_lab.DantePtp(lab, "f", ptp_bin, version=2, interval_ms=100, slave_only=True,
                             stderr_path=Path(wd) / "dante-ptp.err")
        check(f.wait_state("locked", 10) is not None, "locked within 10 s")
        f.collect(5)

        # 2. holdover
        before = f.samples[-1]
        check(before["state"] == "locked", "locked just before the pause")
        err_before = err(leader, before)
        n_pause = len(f.samples)
        t_pause = ptp_lab.mono_ns()  # (pause and resume keep the anchor: T does not change)
        pause_anchor = leader.command("pause")
        check(pause_anchor["paused"], "leader paused")
        hold = f.wait_state("holdover", 8)
        check(hold is not None, "holdover within 8 s of the pause (after %.1f s)"
              % ((hold["mono_ns"] - t_pause) / 1e9 if hold else -1))
        log("holdover entered %.2f s after the pause" % ((hold["mono_ns"] - t_pause) / 1e9))
        time.sleep(max(0.0, PAUSE_S - (ptp_lab.mono_ns() - t_pause) / 1e9))
        during = [s for s in f.samples[n_pause:] if s["state"] == "holdover"]
        last = f.samples[-1]
        check(last["state"] == "holdover", "still in holdover at the end of the pause (%s)" % last["state"])
        # Holdover runs at one rate, the servo's frequency estimate (its integral term, not
        # the last sample's proportional kick), which must be the leader's rate within the
        # estimate's noise: a fall-back to rate 1 would be 100 ppm off here.
        rates = [s["rate"] for s in during]
        spread_ppm = (max(rates) - min(rates)) * 1e6
        check(spread_ppm <= 0.01, "holdover runs at one rate (spread %.4f ppm)" % spread_ppm)
        held_error_ppm = (rates[-1] - (1 + PPM * 1e-6)) * 1e6
        check(abs(held_error_ppm) <= 10, "the held rate is the leader's within 10 ppm (%+.2f ppm; leader %+g ppm)"
              % (held_error_ppm, PPM))
        err_end = err(leader, last)
        pause_s = (last["mono_ns"] - before["mono_ns"]) / 1e9
        drift = err_end - err_before
        # Bounded by the held rate's error allowed above (10 ppm) plus the error at the pause.
        bound = 20_000 + 10e-6 * pause_s * 1e9
        log("holdover drift over %.1f s: %+.1f us (error %+.1f -> %+.1f us; bound %.0f us)"
            % (pause_s, drift / 1e3, err_before / 1e3, err_end / 1e3, bound / 1e3))
        check(abs(drift) <= bound, "holdover drift %.1f us <= %.0f us" % (drift / 1e3, bound / 1e3))
        jumps_in_hold = max_jump(f.samples[n_pause:])
        check(jumps_in_hold <= 1_000, "no media-time jump during holdover (max %d ns)" % jumps_in_hold)

        # 3. resume and re-lock
        n_resume = len(f.samples)
        t_resume = ptp_lab.mono_ns()
        leader.command("resume")
        relock = f.wait_state("locked", 10)
        check(relock is not None, "locked again within 10 s of resume")
        log("re-locked %.2f s after resume, generation %d -> %d"
            % ((relock["mono_ns"] - t_resume) / 1e9, before["generation"], relock["generation"]))
        check(relock["generation"] > before["generation"], "re-lock has a newer generation")
        f.collect(5)  # settle: the servo's transient right after re-lock (bench/RESULTS.md §6)
        after = f.collect(3)
        # The held line keeps drifting between the resume and the re-lock (4-5 s at the held
        # rate's error), so each move of the timeline is judged against the error the line
        # had at that instant: a re-lock may correct its error, never add to it.
        excess, jump, at_err = worst_excess_jump(leader, f.samples[n_resume - 1:])
        check(excess <= 20_000, "largest media-time jump across re-lock %.1f us <= the error it corrects %.1f us "
              "+ 20 us (held error at the pause's end %.1f us)" % (jump / 1e3, at_err / 1e3, abs(err_end) / 1e3))
        p99 = p99_abs(leader, after)
        check(all(s["state"] == "locked" for s in after) and p99 <= RELOCKED_P99_NS,
              "locked after resume, error p99 %.1f us <= %d us" % (p99 / 1e3, RELOCKED_P99_NS // 1000))

        # 4. a step of the leader's time
        gen_before_step = f.samples[-1]["generation"]
        n_step = len(f.samples)
        step_anchor = leader.command("step %d" % STEP_NS)  # re-anchors at the step
        deadline = time.monotonic() + 10
        relocked = None
        while time.monotonic() < deadline and relocked is None:
            time.sleep(0.1)
            seen = f.samples[n_step:]
            changed = [s for s in seen if s["generation"] > gen_before_step]
            if changed:
                ok = [s for s in seen[seen.index(changed[0]):] if s["state"] == "locked"
                      and abs(err(leader, s)) <= 20_000]
                relocked = ok[0] if ok else None
        states = sorted(set(s["state"] for s in f.samples[n_step:]))
        check(relocked is not None, "step of %d ns detected (generation moved) and re-locked within 10 s (states %s)"
              % (STEP_NS, states))
        log("step: re-locked with error <= 20 us %.2f s after it; generation %d -> %d; states seen %s"
            % ((relocked["mono_ns"] - step_anchor["mono_ns"]) / 1e9, gen_before_step, relocked["generation"], states))
        # Judged once settled, as after the re-lock above: the seconds right after a step
        # carry the re-acquisition's transient (seen: p99 46 us in the first 3 s).
        f.collect(5)
        after = f.collect(3)
        p99 = p99_abs(leader, after)
        check(all(s["state"] == "locked" for s in after) and p99 <= RELOCKED_P99_NS,
              "locked after the step, error p99 %.1f us <= %d us" % (p99 / 1e3, RELOCKED_P99_NS // 1000))
        f.stop()
        leader.quit()


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
