"""Private network namespaces for tests: every packet a test sends stays inside them.

NetLab() creates a transmitter namespace and a receiver namespace joined by a veth pair,
with 10.77.<n>.1/24 and 10.77.<n>.2/24 and a multicast route, named uniquely per run so
that CI and a developer can run at once. Everything is deleted on exit, also on failure.
"""
import os
import subprocess


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10, check=check)


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
                _ip("-n", ns, "addr", "add", "%s/%d" % (addr, self.prefix), "dev", ifname)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "link", "set", ifname, "up")
                _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname)
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
