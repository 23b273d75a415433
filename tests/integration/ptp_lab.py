"""PTP lab helpers shared by the PTP tests and bench/ptp_accuracy.py (stdlib only).

Leader:     ptp-test-leader in a SwitchLab host; keeps every anchor it prints, so
            true_ptp(m) is the leader's exact PTP time at CLOCK_MONOTONIC instant m.
DantePtp:   the dante-ptp tool (branch ptp-shell); keeps its JSON samples. Its estimate
            at m is media_ns + (m - monotonic_ns) * rate.
Ptp4l:      linuxptp's ptp4l, ALWAYS with free_running 1 (see FREE_RUNNING_NOTE) and
            software timestamps; keeps its "master offset" values.
ClockGuard: proves afterwards that nobody adjusted the machine's clocks.
"""
import ctypes
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

PTP4L = "/usr/sbin/ptp4l"

# Why ptp4l may run as a follower here: in linuxptp 3.1.1 (clock.c, clock_create) free_running
# sets the clock id to CLOCK_INVALID instead of CLOCK_REALTIME, so the clockadj_init /
# sysclk_set_leap(0) / clockadj_set_freq calls of start-up are skipped; clock_synchronize()
# returns through clock_no_adjust() (which only estimates and prints) before any servo or
# clockadj call; the leap-second and TAI-offset updates in clock_utc_correct() only run for
# clkid == CLOCK_REALTIME. ClockGuard checks it on every run regardless.
FREE_RUNNING_NOTE = "ptp4l runs with free_running 1: it measures, never adjusts a clock"


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def mono_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def find_binary(build, name):
    """The built program `name` somewhere under the build tree, or None."""
    for path in sorted(Path(build).rglob(name)):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def require_binaries(build, *names):
    """The built programs `names` (find_binary), in order; the test fails, naming them, if
    one is missing."""
    from pwlab import check
    paths = [find_binary(build, name) for name in names]
    check(all(paths), "%s %s built" % (" and ".join(names), "is" if len(names) == 1 else "are"))
    return paths


def stop_process(proc, grace=3):
    """SIGTERM, then SIGKILL after `grace` seconds; a process already gone is left alone."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mac_identity(lab, host):
    """The PTPv2 clock identity (EUI-64 from the MAC, ff:fe inserted) of a SwitchLab host."""
    out = subprocess.run(["ip", "-n", lab.ns[host], "-j", "link", "show", "dev", lab.ifname[host]],
                         capture_output=True, text=True, check=True).stdout
    mac = json.loads(out)[0]["address"].split(":")
    return ":".join(mac[:3] + ["ff", "fe"] + mac[3:])


class _LineReader:
    """Reads a process's stdout lines in a thread, handing each to on_line."""

    def __init__(self, proc, on_line):
        self.proc = proc
        self.lines = []
        self.cond = threading.Condition()
        self._on_line = on_line
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        for line in self.proc.stdout:
            t = mono_ns()
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self._on_line(line.rstrip("\n"), t)
                self.cond.notify_all()

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._thread.is_alive()):
                    return pred()
                self.cond.wait(min(left, 0.2))
            return True


class Leader:
    def __init__(self, lab, host, binary, version, ppm=0.0, offset_ns=0, priority1=None, domain=None,
                 log_sync_interval=-3, stderr_path=None):
        cmd = [str(binary), "--interface", lab.ifname[host], "--version", str(version), "--ppm", repr(float(ppm)),
               "--offset-ns", str(int(offset_ns)), "--log-sync-interval", str(log_sync_interval)]
        if priority1 is not None:
            cmd += ["--priority1", str(priority1)]
        if domain is not None:
            cmd += ["--domain", str(domain)]
        self.anchors = []  # dicts with mono_ns, ptp_ns, ppm, paused (+ clock_id)
        self.stats = None
        self._err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
        self.proc = lab.popen_in(host, cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                 text=True, bufsize=1)
        self.reader = _LineReader(self.proc, self._on_line)
        if not self.reader.wait_for(lambda: self.anchors, 5):
            raise RuntimeError("ptp-test-leader did not start (exit %s)" % self.proc.poll())
        self.clock_id = self.anchors[0]["clock_id"]

    def _on_line(self, line, _t):
        try:
            msg = json.loads(line)
        except ValueError:
            return
        if msg.get("event") == "anchor":
            self.anchors.append(msg)
        elif msg.get("event") == "stats":
            self.stats = msg

    def command(self, text, timeout=3):
        """Sends one command; returns the anchor it produced."""
        n = len(self.anchors)
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        if not self.reader.wait_for(lambda: len(self.anchors) > n, timeout):
            raise RuntimeError("ptp-test-leader did not answer %r" % text)
        return self.anchors[-1]

    def true_ptp(self, m):
        """The leader's PTP time at monotonic m (the anchor in force at m)."""
        with self.reader.cond:
            anchor = self.anchors[0]
            for a in self.anchors:
                if a["mono_ns"] <= m:
                    anchor = a
        dm = m - anchor["mono_ns"]
        return anchor["ptp_ns"] + dm + round(dm * anchor["ppm"] * 1e-6)

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def same_clock_id(a, b):
    norm = lambda s: re.sub(r"[^0-9a-f]", "", str(s).lower())  # noqa: E731
    return norm(a) == norm(b)


class DantePtp:
    """dante-ptp's one-JSON-line-per-interval output, kept with the instant it was read."""

    def __init__(self, lab, host, binary, version=2, interval_ms=100, slave_only=False, domain=None,
                 priority1=None, seconds=None, stderr_path=None, servo=None):
        cmd = [str(binary), "--interface", lab.ifname[host], "--version", str(version),
               "--interval-ms", str(interval_ms)]
        if servo is not None:
            cmd += ["--servo", servo]
        if slave_only:
            cmd.append("--slave-only")
        if domain is not None:
            cmd += ["--domain", str(domain)]
        if priority1 is not None:
            cmd += ["--priority1", str(priority1)]
        if seconds is not None:
            cmd += ["--seconds", str(seconds)]
        self.cmd = cmd
        self.samples = []
        self.bad_lines = []
        self._err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
        self.start_mono = mono_ns()
        self.proc = lab.popen_in(host, cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err,
                                 text=True, bufsize=1)
        self.reader = _LineReader(self.proc, self._on_line)

    def _on_line(self, line, _t):
        try:
            s = json.loads(line)
            for key in ("mono_ns", "media_ns", "monotonic_ns", "rate", "state"):
                s[key]
            self.samples.append(s)
        except (ValueError, KeyError, TypeError):
            self.bad_lines.append(line)

    @staticmethod
    def estimate(sample, m):
        # Integer base plus a rounded float delta: a float of ~1.8e18 ns would lose 256 ns.
        return sample["media_ns"] + round((m - sample["monotonic_ns"]) * sample["rate"])

    def wait_state(self, state, timeout, port_state=None):
        """The first sample (after now) in `state` (and in `port_state` if given), or None.
        The clock's state and the port's are published separately (the clock as it changes,
        the port's status once the event is handled), so one sample can fall between the
        two: wait for both rather than expect them in the same first sample."""
        n0 = len(self.samples)
        found = []

        def pred():
            for s in self.samples[n0:]:
                if s["state"] == state and (port_state is None or s["port_state"] == port_state):
                    found.append(s)
                    return True
            return False
        return found[0] if self.reader.wait_for(pred, timeout) else None

    def collect(self, seconds):
        n0 = len(self.samples)
        time.sleep(seconds)
        return self.samples[n0:]

    def stop(self):
        stop_process(self.proc)


def errors_against(leader, samples):
    """Estimate minus true PTP time at each sample's own instant (ns), locked samples only."""
    return [DantePtp.estimate(s, s["mono_ns"]) - leader.true_ptp(s["mono_ns"])
            for s in samples if s["state"] == "locked"]


OFFSET_RE = re.compile(r"master offset\s+(-?\d+) s(\d) freq\s+([-+]?\d+) path delay\s+(-?\d+)")


class Ptp4l:
    """ptp4l over UDPv4 with software timestamps and free_running 1, as slave (-s) or master."""

    def __init__(self, lab, host, slave_only, workdir, domain=0, priority1=128, log_sync_interval=-3):
        conf = Path(workdir) / ("ptp4l-%s.conf" % host)
        lines = ["[global]",
                 "free_running 1",  # never adjust any clock: see FREE_RUNNING_NOTE
                 "time_stamping software",
                 "network_transport UDPv4",
                 "delay_mechanism E2E",
                 "domainNumber %d" % domain,
                 "priority1 %d" % priority1,
                 "logSyncInterval %d" % log_sync_interval,
                 "freq_est_interval 0",  # one "master offset" line per second
                 "summary_interval -7",  # no summaries: every estimate printed
                 "tx_timestamp_timeout 50",
                 "uds_address %s" % (Path(workdir) / ("ptp4l-%s.sock" % host)),
                 "slaveOnly %d" % (1 if slave_only else 0)]
        conf.write_text("\n".join(lines) + "\n")
        self.offsets = []  # (mono read time, offset ns, servo state, freq ppb, path delay ns)
        self.states = []
        cmd = [PTP4L, "-f", str(conf), "-i", lab.ifname[host], "-m", "-q"]
        self.proc = lab.popen_in(host, cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.reader = _LineReader(self.proc, self._on_line)

    def _on_line(self, line, t):
        m = OFFSET_RE.search(line)
        if m:
            self.offsets.append((t, int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))))
        elif "UNCALIBRATED" in line or "SLAVE" in line or "MASTER" in line:
            self.states.append(line)

    def wait_offsets(self, n, timeout):
        return self.reader.wait_for(lambda: len(self.offsets) >= n, timeout)

    def log_tail(self, n=15):
        return "\n".join(self.reader.lines[-n:])

    def stop(self):
        stop_process(self.proc)


class _Timex(ctypes.Structure):
    # struct timex (x86-64/aarch64 LP64 layout): we only read, modes = 0.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("pad", ctypes.c_int * 11)]


def kernel_timex():
    """The kernel's clock discipline state, read-only (adjtimex with modes 0)."""
    tx = _Timex()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.adjtimex(ctypes.byref(tx)) < 0:
        raise OSError(ctypes.get_errno(), "adjtimex")
    return {"freq": tx.freq, "tick": tx.tick, "status": tx.status, "tai": tx.tai, "offset": tx.offset}


def clock_minus_monotonic(clock, tries=7):
    """`clock` - CLOCK_MONOTONIC in ns, read between two monotonic readings: the tightest
    bracket of `tries`, so a preemption between the reads does not count."""
    best = None
    for _ in range(tries):
        m1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        c = time.clock_gettime_ns(clock)
        m2 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if best is None or m2 - m1 < best[0]:
            best = (m2 - m1, c - (m1 + m2) // 2)
    return best[1]


def realtime_minus_monotonic():
    return clock_minus_monotonic(time.CLOCK_REALTIME)


class ClockGuard:
    """Snapshots the kernel clock discipline and CLOCK_REALTIME - CLOCK_MONOTONIC; verify()
    says what changed. A step of REALTIME or a frequency/tick/status change made while ptp4l
    ran would show here. (A system NTP daemon could change freq too; none runs in the lab.)"""

    def __init__(self):
        self.before = kernel_timex()
        self.rt_before = realtime_minus_monotonic()

    def verify(self, max_drift_ns=2_000_000):
        after = kernel_timex()
        rt_after = realtime_minus_monotonic()
        problems = []
        for key in ("freq", "tick", "status", "tai"):
            if after[key] != self.before[key]:
                problems.append("%s %s -> %s" % (key, self.before[key], after[key]))
        if abs(rt_after - self.rt_before) > max_drift_ns:
            problems.append("CLOCK_REALTIME moved %d ns against CLOCK_MONOTONIC" % (rt_after - self.rt_before))
        return problems


def expected_ptp4l_offset_ns(leader_utc_offset_valid_tai):
    """ptp4l's constant offset against a leader serving CLOCK_TAI (ppm 0), in ns.

    ptp4l compares CLOCK_REALTIME with the leader's PTP (TAI) time and, as the leader flags
    the PTP timescale, adds the UTC offset it believes in: the announced currentUtcOffset
    when flagged valid, else its own default (37 s). CLOCK_TAI = CLOCK_REALTIME + kernel tai.
    So offset = utc_offset_used - kernel_tai seconds (0 when the kernel knows 37 s;
    +37 s when the kernel was never told the offset, as on a machine without NTP)."""
    tai = kernel_timex()["tai"]
    used = tai if (leader_utc_offset_valid_tai and tai > 0) else 37
    return (used - tai) * 1_000_000_000
