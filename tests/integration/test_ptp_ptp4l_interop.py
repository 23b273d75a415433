#!/usr/bin/env python3
"""PTPv2 interoperability of dante-ptp with linuxptp's ptp4l, both ways.

ptp4l always runs with free_running 1 and software timestamps (it never adjusts a clock;
see ptp_lab.FREE_RUNNING_NOTE; ClockGuard verifies the kernel clock is unchanged).
  1. ptp4l as master on host m: it serves CLOCK_REALTIME (its software timestamps) under
     the ARB timescale (free_running ptp4l announces no PTP timescale). `dante-ptp
     --version 2 --slave-only` on f locks within 15 s with master_id = ptp4l's identity
     (EUI-64 of m's MAC), and its estimate tracks CLOCK_REALTIME: |estimate(m) -
     REALTIME(m)| p99 <= 50 us over 5 s from 3 s after lock (ptp4l sends 8 Syncs/s here, Announce every 2 s).
  2. dante-ptp as leader on host m (alone, so it becomes master); `ptp4l -s` on f follows
     it: its "master offset" minus the expected constant (REALTIME - dante-ptp's
     estimate, plus the 37 s UTC offset ptp4l adds when the PTP timescale is flagged) stays
     within 50 us after settling (one delayed exchange may reach 500 us), median within 20 us.
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


def body():
    a = parse_args(__doc__)
    build = build_dir(a)
    ptp_bin, = ptp_lab.require_binaries(build, "dante-ptp")
    if not Path(ptp_lab.PTP4L).exists():
        log("SKIP: needs %s" % ptp_lab.PTP4L)
        return 77
    guard = ptp_lab.ClockGuard()
    with tempfile.TemporaryDirectory(prefix="ptp-p4l-") as wd, SwitchLab(hosts=["m", "f"], tag="pi") as lab:
        # 1. ptp4l leads.
        master = ptp_lab.Ptp4l(lab, "m", slave_only=False, workdir=wd, priority1=100)
        f = ptp_lab.DantePtp(lab, "f", ptp_bin, version=2, interval_ms=100, slave_only=True,
                             stderr_path=Path(wd) / "follow.err")
        try:
            lock = f.wait_state("locked", 15)
            if lock is None:
                log(master.log_tail())
            check(lock is not None, "dante-ptp locks to ptp4l within 15 s")
            log("locked to ptp4l %.1f s after start" % ((lock["mono_ns"] - f.start_mono) / 1e9))
            f.collect(3)  # settling after lock is test_ptp_follow's subject, not this one's
            window = f.collect(5)
        finally:
            f.stop()
            master.stop()
        ident = ptp_lab.mac_identity(lab, "m")
        check(all(ptp_lab.same_clock_id(s["master_id"], ident) for s in window), "master_id is ptp4l's %s" % ident)
        rt_off = ptp_lab.realtime_minus_monotonic()
        errs = [abs(ptp_lab.DantePtp.estimate(s, s["mono_ns"]) - (s["mono_ns"] + rt_off))
                for s in window if s["state"] == "locked"]
        p50, p99 = ptp_lab.percentile(errs, 50), ptp_lab.percentile(errs, 99)
        log("dante-ptp vs ptp4l's CLOCK_REALTIME: p50 %.1f us p99 %.1f us over %d samples"
            % (p50 / 1e3, p99 / 1e3, len(errs)))
        check(len(errs) >= 40 and p99 <= 50_000, "estimate tracks ptp4l's time: p99 %.1f us <= 50 us" % (p99 / 1e3))

        # 2. dante-ptp leads, ptp4l -s follows.
        lead = ptp_lab.DantePtp(lab, "m", ptp_bin, version=2, interval_ms=100, stderr_path=Path(wd) / "lead.err")
        follower = None
        try:
            check(lead.wait_state("master", 15) is not None, "dante-ptp alone becomes master")
            follower = ptp_lab.Ptp4l(lab, "f", slave_only=True, workdir=wd)
            got = follower.wait_offsets(20, 36)
            log(follower.log_tail(6))
            check(got, "ptp4l follows dante-ptp and reports offsets (%d)" % len(follower.offsets))
        finally:
            if follower:
                follower.stop()
            lead_samples = list(lead.samples)
            lead.stop()
        rt_off = ptp_lab.realtime_minus_monotonic()
        settle = follower.offsets[0][0] + 4_000_000_000
        devs = []
        for t, off, _state, _freq, _delay in follower.offsets:
            if t < settle:
                continue
            ref = max((x for x in lead_samples if x["mono_ns"] <= t), key=lambda x: x["mono_ns"])
            raw = (t + rt_off) - ptp_lab.DantePtp.estimate(ref, t)  # REALTIME - leader time, at t
            dev = off - raw
            # ptp4l adds its UTC offset (37 s by default) when the leader flags the PTP timescale.
            devs.append(min((dev - k * 37_000_000_000 for k in (0, 1)), key=abs))
        med = ptp_lab.percentile(devs, 50)
        # Each ptp4l line is one exchange: on a loaded machine a few of them are delayed
        # (80-140 us seen in CI, under 10 us idle). A broken leader is off by milliseconds on
        # every line, so: the median within 20 us, three lines in four within 50 us, and none
        # beyond 500 us.
        mags = [abs(d) for d in devs]
        worst = max(mags, default=0)
        near = sum(1 for m in mags if m <= 50_000)
        log("ptp4l offsets against dante-ptp leader, minus the expected constant: median %.1f us, max |.| %.1f us, "
            "%d of %d within 50 us" % (med / 1e3, worst / 1e3, near, len(devs)))
        check(len(devs) >= 8 and near * 4 >= len(devs) * 3 and worst <= 500_000 and abs(med) <= 20_000,
              "ptp4l's offsets to dante-ptp are small (median %.1f us, %d of %d within 50 us, "
              "max %.1f us <= 500 us)" % (med / 1e3, near, len(devs), worst / 1e3))
    problems = guard.verify()
    check(not problems, "kernel clock untouched (%s)" % (problems or ptp_lab.FREE_RUNNING_NOTE))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
