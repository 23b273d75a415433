"""avahi-daemon with a private system D-Bus inside a network namespace (stdlib only).

avahi-daemon needs a system bus, and both keep their sockets and pid files at fixed paths
under /run. So each host gets its own mount namespace too (docs/testing.md, "avahi-daemon
per namespace"): tmpfs over /run/dbus and /run/avahi-daemon, a dbus-daemon --system,
then avahi-daemon in the foreground, allowed on the namespace's one interface.
`fork_bus=True` starts the bus as sysvinit/OpenRC do (it forks after listening).

    with AvahiHost(net.tx, net.tx_if, workdir, "tx") as tx_avahi:
        tx_avahi.prefix()   # ["nsenter", "-t", PID, "-m", "-n"]: run a client on that host
        tx_avahi.browse("_netaudio-chan._udp")

Only the processes started here are signalled, by their process group (the shell that
becomes avahi-daemon leads it; dbus-daemon runs in it as a background job, or, forked,
in a session of its own: then by the pid it printed).
"""
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

SCRIPT = r"""
set -e
mkdir -p /run/dbus /run/avahi-daemon
mount -t tmpfs none /run/dbus
mount -t tmpfs none /run/avahi-daemon
if [ "$3" = fork ]; then
  # As sysvinit/OpenRC start it (system.conf has <fork/>): the daemon listens, then forks,
  # and the process that called listen() exits. --print-pid gives the forked daemon's pid.
  dbus-daemon --system --fork --print-pid > "$1"
else
  dbus-daemon --system --nofork --nopidfile &
  echo $! > "$1"
fi
i=0
while [ ! -S /run/dbus/system_bus_socket ]; do
  i=$((i+1)); [ $i -gt 100 ] && { echo "no system bus socket" >&2; exit 1; }
  sleep 0.05
done
exec avahi-daemon --no-chroot --no-drop-root --no-rlimits -f "$2"
"""


def available():
    """True if avahi-daemon, avahi-browse, dbus-daemon, nsenter and unshare are installed."""
    from shutil import which
    return all(which(p) for p in ("avahi-daemon", "avahi-browse", "dbus-daemon", "nsenter", "unshare"))


@contextlib.contextmanager
def on_both_sides(net, work, fork_bus=False):
    """An AvahiHost in each namespace of a NetLab (tags "tx" and "rx"); yields (tx_host, rx_host).
    fork_bus applies to the transmitter's side."""
    with AvahiHost(net.tx, net.tx_if, work, "tx", fork_bus=fork_bus) as tx_host, \
            AvahiHost(net.rx, net.rx_if, work, "rx") as rx_host:
        yield tx_host, rx_host


class AvahiHost:
    def __init__(self, netns, ifname, workdir, tag, host_name=None, fork_bus=False):
        self.netns = netns
        self.fork_bus = fork_bus  # dbus-daemon --fork (sysvinit style) instead of --nofork
        self.ifname = ifname
        self.workdir = Path(workdir)
        self.tag = tag
        self.host_name = host_name or "avahi-%s-%d" % (tag, os.getpid())
        self.proc = None
        self.log = self.workdir / ("avahi-%s.log" % tag)
        self.conf = self.workdir / ("avahi-%s.conf" % tag)
        self.dbus_pid_file = self.workdir / ("dbus-%s.pid" % tag)

    def start(self, timeout=10.0):
        self.conf.write_text(
            "[server]\n"
            "host-name=%s\n"
            "use-ipv4=yes\nuse-ipv6=no\n"
            "allow-interfaces=%s\n"
            "enable-dbus=yes\n"
            "ratelimit-interval-usec=0\n"
            "[wide-area]\nenable-wide-area=no\n"
            "[publish]\npublish-workstation=no\npublish-hinfo=no\n"
            "[reflector]\nenable-reflector=no\n" % (self.host_name, self.ifname))
        logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, "unshare", "-m", "--propagation", "private",
                 "sh", "-c", SCRIPT, "avahi-host", str(self.dbus_pid_file), str(self.conf),
                 "fork" if self.fork_bus else "nofork"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("avahi-daemon (%s) exited: %s" % (self.tag, self.log_text()[-1500:]))
            if "Server startup complete" in self.log_text():
                return self
            time.sleep(0.1)
        raise RuntimeError("avahi-daemon (%s) did not start in %.0fs: %s" % (self.tag, timeout, self.log_text()[-1500:]))

    @property
    def pid(self):
        return self.proc.pid

    def prefix(self):
        """Command prefix that runs a program in this host's mount and network namespace."""
        return ["nsenter", "-t", str(self.proc.pid), "-m", "-n"]

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def browse(self, service_type, timeout=10):
        """`avahi-browse -rtp TYPE` on this host; returns the resolved entries as dicts:
        name, type, host, address, port, txt (list of strings, as avahi-browse prints them)."""
        r = subprocess.run(self.prefix() + ["timeout", str(timeout), "avahi-browse", "-rtp", "--no-db-lookup",
                                            service_type],
                           capture_output=True, text=True, timeout=timeout + 5)
        out = []
        for line in r.stdout.splitlines():
            if not line.startswith("="):
                continue
            f = line.split(";", 9)
            if len(f) < 10:
                continue
            out.append({"iface": f[1], "proto": f[2], "name": unescape(f[3]), "type": f[4],
                        "host": f[6], "address": f[7], "port": int(f[8]), "txt": parse_txt(f[9])})
        return out

    def restart_daemon(self, timeout=10.0):
        """Stop this host's avahi-daemon (SIGTERM: it says goodbye) and start a new one in the
        same mount + network namespace, on the same private system bus (which stays up).
        Returns the seconds the new daemon took to report "Server startup complete"."""
        via = int(self.dbus_pid_file.read_text().strip())   # the bus lives on in that namespace
        # the daemon alone: the first one's process group holds the bus too
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.restarts = getattr(self, "restarts", 0) + 1
        self.log = self.workdir / ("avahi-%s-%d.log" % (self.tag, self.restarts))
        logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(
                ["nsenter", "-t", str(via), "-m", "-n", "avahi-daemon", "--no-chroot", "--no-drop-root",
                 "--no-rlimits", "-f", str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logf.close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("avahi-daemon (%s) exited: %s" % (self.tag, self.log_text()[-1500:]))
            if "Server startup complete" in self.log_text():
                return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError("avahi-daemon (%s) did not restart in %.0fs" % (self.tag, timeout))

    def _signal_group(self, sig, wait):
        try:
            os.killpg(self.proc.pid, sig)   # our own process group (start_new_session)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=wait)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc is None:
            return
        dbus_pid = None
        try:
            dbus_pid = int(self.dbus_pid_file.read_text().strip())
        except (OSError, ValueError):
            pass
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self._signal_group(sig, wait):
                break
        # dbus-daemon was started in the same group; make sure it is gone (only that PID,
        # and only if it is still a dbus-daemon).
        if dbus_pid:
            try:
                if "dbus-daemon" in Path("/proc/%d/cmdline" % dbus_pid).read_text(errors="replace"):
                    os.kill(dbus_pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def unescape(name):
    """avahi-browse -p escapes '.', '\\' and non-printables as \\DDD (decimal)."""
    out = bytearray()
    i = 0
    b = name.encode()
    while i < len(b):
        if b[i:i + 1] == b"\\" and i + 3 < len(b) + 0 and b[i + 1:i + 4].isdigit():
            out.append(int(b[i + 1:i + 4]))
            i += 4
        elif b[i:i + 1] == b"\\" and i + 1 < len(b):
            out.append(b[i + 1])
            i += 2
        else:
            out.append(b[i])
            i += 1
    return out.decode(errors="replace")


def parse_txt(field):
    """avahi-browse -p prints TXT as "a=1" "b=2" ... (double-quoted, space-separated)."""
    items = []
    i = 0
    while i < len(field):
        if field[i] == '"':
            j = i + 1
            buf = ""
            while j < len(field) and field[j] != '"':
                if field[j] == "\\" and j + 1 < len(field):
                    buf += field[j + 1]
                    j += 2
                    continue
                buf += field[j]
                j += 1
            items.append(buf)
            i = j + 1
        else:
            i += 1
    return items
