#!/usr/bin/env python3
"""PTP follower accuracy: dante-ptp against a leader whose timescale is known exactly,
with linuxptp's ptp4l following the same leader in the same run.

A SwitchLab (tests/integration/netlab.py) with four hosts: ptp-test-leader (PTPv2 by
default, Sync 8/s), two `dante-ptp --slave-only --interval-ms 100`, one per servo
(`--servo linreg`, the default, and `--servo pi`), side by side on the same packets'
timing, and `ptp4l -s` (software
timestamps, free_running 1: it never adjusts a clock; the kernel clock is checked
unchanged at the end). For each leader rate R (ppm) and load (idle; "loaded" = two
busy-loop processes, one per core, started after lock):
  * time to lock: dante-ptp start -> first "locked" sample;
  * each dante-ptp's error: estimate(m) - T(m) at each 100 ms sample (estimate = media_ns +
    (m - monotonic_ns) * rate, T from the leader's anchor), p50/p99/max |.| over --seconds;
  * ptp4l: its "master offset" (one per second with freq_est_interval 0) minus the exact
    expected value REALTIME(t) - T(t) + UTC offset, t = when the line was read (at +-100 ppm
    a 1 ms read latency is 0.1 us). With free_running these are RAW single-exchange offset
    errors, not a servo's output: they show the measurement noise of the same packets,
    which is what a servo filters. The ratio dante-ptp/ptp4l is given for orientation.
  * holdover (idle runs): leader paused for --pause s: the estimate's drift against T from
    the last locked sample before the pause to the last sample of the pause.

Run from the repo: python3 bench/ptp_accuracy.py --build build [--seconds 60] [--pause 30]
Prints a Markdown table; --json FILE keeps the raw numbers.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.dont_write_bytecode = True
from netlab import SwitchLab  # noqa: E402
import ptp_lab  # noqa: E402


def stats(values):
    a = [abs(v) for v in values]
    return {"n": len(a), "p50": ptp_lab.percentile(a, 50), "p99": ptp_lab.percentile(a, 99), "max": max(a, default=0)}


def busy_loops(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop_all(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=5)


SERVOS = ("linreg", "pi")


def drift(leader, before, last):
    e0 = ptp_lab.DantePtp.estimate(before, before["mono_ns"]) - leader.true_ptp(before["mono_ns"])
    e1 = ptp_lab.DantePtp.estimate(last, last["mono_ns"]) - leader.true_ptp(last["mono_ns"])
    return e1 - e0


def run(lab, bins, version, ppm, load, seconds, pause, wd):
    leader = ptp_lab.Leader(lab, "leader", bins["leader"], version, ppm=ppm)
    loads = []
    # ptp4l speaks PTPv2 only: with a v1 leader (Dante's default) the two servos are alone.
    p4l = ptp_lab.Ptp4l(lab, "p4l", slave_only=True, workdir=wd) if version == 2 else None
    followers = {servo: ptp_lab.DantePtp(lab, servo, bins["dante-ptp"], version=version, interval_ms=100,
                                         slave_only=True, servo=servo,
                                         stderr_path=Path(wd) / ("dante-ptp-%s.err" % servo))
                 for servo in SERVOS}
    out = {"version": version, "ppm": ppm, "load": load}
    try:
        for servo, f in followers.items():
            lock = f.wait_state("locked", 30)
            out[servo] = {"lock_s": (lock["mono_ns"] - f.start_mono) / 1e9 if lock else None}
        if any(out[servo]["lock_s"] is None for servo in SERVOS):
            return out
        if p4l:
            p4l.wait_offsets(6, 20)  # ptp4l needs its own few seconds (BMC, first estimates)
        if load == "loaded":
            loads = busy_loops(2)
            time.sleep(1)
        n_p4l = len(p4l.offsets) if p4l else 0
        starts = {servo: len(f.samples) for servo, f in followers.items()}
        time.sleep(seconds)
        for servo, f in followers.items():
            window = f.samples[starts[servo]:]
            errors = ptp_lab.errors_against(leader, window)
            out[servo].update(stats(errors))
            out[servo]["not_locked"] = sum(1 for s in window if s["state"] != "locked")
            out[servo]["mean"] = sum(errors) / len(errors) if errors else None
        rt = ptp_lab.realtime_minus_monotonic()
        utc = ptp_lab.expected_ptp4l_offset_ns(False)
        p4l_err = [off - ((t + rt) - leader.true_ptp(t) + utc) for t, off, _s, _f, _d in p4l.offsets[n_p4l:]] \
            if p4l else []
        out["ptp4l"] = stats(p4l_err)
        out["ptp4l_mean"] = sum(p4l_err) / len(p4l_err) if p4l_err else None
        stop_all(loads)
        loads = []
        if pause and load == "idle":
            before = {servo: f.samples[-1] for servo, f in followers.items()}
            leader.command("pause")
            time.sleep(pause)
            for servo, f in followers.items():
                last = f.samples[-1]
                out[servo]["holdover"] = {"pause_s": (last["mono_ns"] - before[servo]["mono_ns"]) / 1e9,
                                          "drift_ns": drift(leader, before[servo], last), "state": last["state"],
                                          "rate_ppm": (last["rate"] - 1) * 1e6}
    finally:
        stop_all(loads)
        for f in followers.values():
            f.stop()
        if p4l:
            p4l.stop()
        leader.quit()
    return out


def us(ns):
    return "%.1f" % (ns / 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--version", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--pause", type=int, default=30)
    ap.add_argument("--ppm", default="0,100,-100")
    ap.add_argument("--loads", default="idle,loaded")
    ap.add_argument("--json")
    a = ap.parse_args()
    bins = {"leader": ptp_lab.find_binary(a.build, "ptp-test-leader"),
            "dante-ptp": ptp_lab.find_binary(a.build, "dante-ptp")}
    if None in bins.values():
        sys.exit("build ptp-test-leader and dante-ptp first (%s)" % bins)
    guard = ptp_lab.ClockGuard()
    results = []
    with tempfile.TemporaryDirectory(prefix="ptp-bench-") as wd, \
            SwitchLab(hosts=["leader", "p4l"] + list(SERVOS), tag="pb") as lab:
        for load in a.loads.split(","):
            for ppm in [float(x) for x in a.ppm.split(",")]:
                r = run(lab, bins, a.version, ppm, load, a.seconds, a.pause, wd)
                results.append(r)
                print(json.dumps(r), flush=True)
    problems = guard.verify()
    print("kernel clock check: %s" % (problems or "unchanged (%s)" % ptp_lab.FREE_RUNNING_NOTE))
    print()
    print("| v | R ppm | load | lock s linreg / pi | linreg p50 / p99 / max us (n) | pi p50 / p99 / max us (n) "
          "| ptp4l raw offset p50 / p99 / max us (n) | p99 linreg/pi | p99 linreg/ptp4l | signed mean us "
          "linreg / pi / ptp4l | holdover drift linreg / pi |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lin, pi, p = r.get("linreg", {}), r.get("pi", {}), r.get("ptp4l")
        if "p99" not in lin or "p99" not in pi:
            print("| %d | %+g | %s | no lock (%s / %s) | | | | | | | |" % (
                r["version"], r["ppm"], r["load"], lin.get("lock_s"), pi.get("lock_s")))
            continue

        def row(d):
            if not d["n"]:
                return "- (v1: no ptp4l)"
            return "%s / %s / %s (%d)" % (us(d["p50"]), us(d["p99"]), us(d["max"]), d["n"])

        def hold(d):
            h = d.get("holdover")
            return "%+.1f us (%+.2f ppm held)" % (h["drift_ns"] / 1e3, h["rate_ppm"]) if h else "-"
        print("| %d | %+g | %s | %.2f / %.2f | %s | %s | %s | %.2f | %.2f | %+.1f / %+.1f / %+.1f | %s / %s |"
              % (r["version"], r["ppm"], r["load"], lin["lock_s"], pi["lock_s"], row(lin), row(pi), row(p),
                 lin["p99"] / pi["p99"] if pi["p99"] else float("nan"),
                 lin["p99"] / p["p99"] if p["n"] else float("nan"),
                 (lin["mean"] or 0) / 1e3, (pi["mean"] or 0) / 1e3, (r["ptp4l_mean"] or 0) / 1e3,
                 hold(lin), hold(pi)))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
