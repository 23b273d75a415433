#!/usr/bin/env python3
"""ptp-test-leader against an independent implementation: linuxptp's ptp4l follows it.

Two hosts on a SwitchLab bridge: the leader (PTPv2, --ppm 0, so its time is CLOCK_TAI)
and ptp4l -s with software timestamps and free_running 1 (it never adjusts a clock: see
ptp_lab.FREE_RUNNING_NOTE; ClockGuard verifies that nothing changed). ptp4l compares the
leader's time with CLOCK_REALTIME and adds the UTC offset it believes in, so its offsets
sit at a constant (ptp_lab.expected_ptp4l_offset_ns: 37 s when the kernel's TAI offset is
0, as on a machine without NTP; 0 when the kernel knows 37 s). Checks:
  * ptp4l selects the leader and reports offsets; after 4 s of settling the deviation of
    90 % of the offsets from that constant stay within 50 us, the median within 10 us;
  * the path delay ptp4l measures through the leader's Delay_Resp is positive and < 1 ms;
  * the frequency ptp4l estimates against the leader is within 20 ppm of 0;
  * the leader got kernel TX timestamps for its Syncs (no fallback);
  * the kernel clock (freq/tick/status/tai, REALTIME - MONOTONIC) is unchanged.
"""
import shutil
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
    leader_bin, = ptp_lab.require_binaries(build, "ptp-test-leader")
    if not Path(ptp_lab.PTP4L).exists() or shutil.which("ip") is None:
        log("SKIP: needs %s and ip" % ptp_lab.PTP4L)
        return 77
    guard = ptp_lab.ClockGuard()
    with tempfile.TemporaryDirectory(prefix="ptp4l-") as wd, SwitchLab(hosts=["leader", "f"], tag="p4l") as lab:
        leader = ptp_lab.Leader(lab, "leader", leader_bin, 2, ppm=0, stderr_path=Path(wd) / "leader.err")
        ptp4l = ptp_lab.Ptp4l(lab, "f", slave_only=True, workdir=wd)
        try:
            got = ptp4l.wait_offsets(16, 35)
            log(ptp4l.log_tail(8))
            check(got, "ptp4l reported 16 offsets within 35 s (has %d)" % len(ptp4l.offsets))
            expected = ptp_lab.expected_ptp4l_offset_ns(False)
            settle = ptp4l.offsets[0][0] + 4_000_000_000
            kept = [o for o in ptp4l.offsets if o[0] >= settle]
            dev = [o[1] - expected for o in kept]
            med = ptp_lab.percentile(dev, 50)
            log("ptp4l offsets - %d ns over %d samples: median %.0f ns, max |.| %d ns; path delay median %.0f ns; "
                "freq median %.0f ppb; kernel tai %d"
                % (expected, len(dev), med, max(abs(d) for d in dev), ptp_lab.percentile([o[4] for o in kept], 50),
                   ptp_lab.percentile([o[3] for o in kept], 50), ptp_lab.kernel_timex()["tai"]))
            check(len(kept) >= 8, "8+ offsets after settling")
            # Free-running ptp4l prints raw single-exchange offsets: one delayed software
            # timestamp in a Sync or Delay_Req shows up whole (seen: one of 12 at 81 us).
            # The leader is judged by the bulk: 90 % within 50 us, and the median below.
            within = sum(1 for d in dev if abs(d) <= 50_000)
            check(within >= 0.9 * len(dev), "%d of %d offsets within 50 us of %d ns (>= 90 %%)"
                  % (within, len(dev), expected))
            check(abs(med) <= 10_000, "median offset within 10 us of %d ns" % expected)
            check(all(0 < o[4] < 1_000_000 for o in kept), "path delays in (0, 1 ms)")
            check(abs(ptp_lab.percentile([o[3] for o in kept], 50)) <= 20_000, "ptp4l's frequency estimate within 20 ppm")
        finally:
            ptp4l.stop()
            leader.quit()
        check(leader.stats is not None and leader.stats["tx_timestamps_missing"] == 0 and leader.stats["syncs"] > 100,
              "leader sent Syncs with kernel TX timestamps (%s)" % leader.stats)
        check(leader.stats["delay_resps"] > 5, "leader answered ptp4l's Delay_Reqs")
    problems = guard.verify()
    check(not problems, "kernel clock untouched by ptp4l (%s)" % (problems or ptp_lab.FREE_RUNNING_NOTE))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
