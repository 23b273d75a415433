"""Private network namespaces for tests: every packet a test sends stays inside them.

NetLab() creates a transmitter namespace and a receiver namespace joined by a veth pair,
with 10.77.<n>.1/24 and 10.77.<n>.2/24 and a multicast route, named uniquely per run so
that CI and a developer can run at once. Everything is deleted on exit, also on failure.
"""
import os
import subprocess


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10, check=check)


def _host_up(ns, ifname, addr, prefix):
    """Address and bring up a host's interface (and its lo) in namespace `ns`, with the
    multicast route on that interface: PTP, mDNS and multicast flows leave through it."""
    _ip("-n", ns, "addr", "add", "%s/%d" % (addr, prefix), "dev", ifname)
    _ip("-n", ns, "link", "set", "lo", "up")
    _ip("-n", ns, "link", "set", ifname, "up")
    _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname)


class NetLab:
    def __init__(self, tag="lab"):
        n = os.getpid() % 200 + 20
        self.tx = "dtx-%s-%d" % (tag, os.getpid())
        self.rx = "drx-%s-%d" % (tag, os.getpid())
        self.tx_if = "vt%d" % os.getpid()
        self.rx_if = "vr%d" % os.getpid()
        self.tx_addr = "10.77.%d.1" % n
        self.rx_addr = "10.77.%d.2" % n
        self.prefix = 24

    def __enter__(self):
        try:
            _ip("netns", "add", self.tx)
            _ip("netns", "add", self.rx)
            _ip("link", "add", self.tx_if, "type", "veth", "peer", "name", self.rx_if)
            _ip("link", "set", self.tx_if, "netns", self.tx)
            _ip("link", "set", self.rx_if, "netns", self.rx)
            for ns, ifname, addr in ((self.tx, self.tx_if, self.tx_addr), (self.rx, self.rx_if, self.rx_addr)):
                _host_up(ns, ifname, addr, self.prefix)
        except BaseException:
            self.close()
            raise
        return self

    def run_in(self, ns, cmd, **kw):
        return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), **kw)

    def close(self):
        for ns in (self.tx, self.rx):
            _ip("netns", "del", ns, check=False)

    def __exit__(self, *exc):
        self.close()
        return False


class SwitchLab:
    """Several hosts on one switch: a namespace per host, each with one veth into a bridge
    that lives in a namespace of its own (the switch). Host k (1-based, in the order given)
    gets 10.78.<n>.<k>/24 and a multicast route; the bridge floods multicast (no snooping),
    as a small unmanaged switch does.

        with SwitchLab(hosts=["leader", "tx1", "tx2", "rx"], tag="ptp") as lab:
            lab.ifname["rx"], lab.addr["rx"], lab.ns["rx"]
            proc = lab.popen_in("leader", [...], stdout=subprocess.PIPE)

    Names carry the pid, so runs never collide. On exit (also on failure, and on SIGTERM
    from a test runner's timeout) the processes started through popen_in are stopped and
    every namespace deleted, which removes the veths and the bridge with them.
    """

    def __init__(self, hosts, tag="sw"):
        if len(set(hosts)) != len(hosts) or not 1 <= len(hosts) <= 250:
            raise ValueError("hosts must be 1..250 distinct names")
        pid = os.getpid()
        self.hosts = list(hosts)
        self.n = pid % 200 + 20
        self.prefix = 24
        self.switch = "dsw-%s-%d" % (tag, pid)
        self.ns = {}
        self.ifname = {}
        self.addr = {}
        for k, host in enumerate(self.hosts, start=1):
            self.ns[host] = "dh-%s-%s-%d" % (tag, host, pid)
            self.ifname[host] = "h%dp%d" % (k, pid)  # <= 15 characters for any pid
            self.addr[host] = "10.78.%d.%d" % (self.n, k)
        self._procs = []
        self._old_sigterm = None

    def __enter__(self):
        self._catch_sigterm()
        try:
            for name in [self.switch] + [self.ns[h] for h in self.hosts]:
                _ip("netns", "add", name)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0",
                "forward_delay", "0", "stp_state", "0")
            _ip("-n", self.switch, "link", "set", "lo", "up")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for k, host in enumerate(self.hosts, start=1):
                ns, ifname = self.ns[host], self.ifname[host]
                port = "p%d" % k
                # Created inside the switch namespace with the peer placed straight into the
                # host's: no name ever appears in the machine's own namespace.
                _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
                _ip("-n", self.switch, "link", "set", port, "master", "br0")
                _ip("-n", self.switch, "link", "set", port, "up")
                _host_up(ns, ifname, self.addr[host], self.prefix)
        except BaseException:
            self.close()
            raise
        return self

    def _catch_sigterm(self):
        import signal
        import threading
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the caller already turns SIGTERM into an exception (pwlab.main_wrapper)

        def on_term(signum, frame):
            raise SystemExit("terminated (SIGTERM)")
        self._old_sigterm = signal.signal(signal.SIGTERM, on_term)

    def prefix_for(self, host):
        return ["ip", "netns", "exec", self.ns[host]]

    def run_in(self, host, cmd, **kw):
        return subprocess.run(self.prefix_for(host) + list(cmd), **kw)

    def popen_in(self, host, cmd, **kw):
        """Starts cmd in the host's namespace; the lab stops it on exit if it still runs."""
        proc = subprocess.Popen(self.prefix_for(host) + list(cmd), **kw)
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc, timeout=3):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def close(self):
        for proc in self._procs:
            try:
                self.stop(proc)
            except Exception:
                pass
        for name in [self.ns[h] for h in self.hosts] + [self.switch]:
            _ip("netns", "del", name, check=False)
        if self._old_sigterm is not None:
            import signal
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    def __exit__(self, *exc):
        self.close()
        return False
