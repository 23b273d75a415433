#!/usr/bin/env python3
"""mDNS through a system bus that forked after listening, and never through an avahi-daemon
of another network namespace.

Two network namespaces joined by a veth pair, each with its own avahi-daemon and system
D-Bus in its own mount namespace (avahi.py). The transmitter's bus is started as sysvinit,
OpenRC and many containers do: `dbus-daemon --system --fork`, so the process that called
listen() on the bus socket has exited (SO_PEERCRED on that socket names a dead pid).
  * Our PipeWire session in the transmitter's mount + network namespace publishes
    (dante.mdns.state = published) and the receiver's avahi-browse resolves
    `_netaudio-arc._udp` lab-tx to the transmitter's address; also when avahi-daemon's
    /proc/<pid> cannot be read (an empty directory mounted over it), where only the
    daemon's interface index -> name table tells.
  * The same session in the transmitter's network namespace but the receiver's mount
    namespace (so the receiver's bus and avahi-daemon, of another network namespace) does
    not publish: dante.mdns.state = unavailable, dante.mdns.last-error says why (the
    daemon's namespace seen through its pid; with its /proc/<pid> unreadable, the
    interface the daemon does not have), and the receiver's avahi-daemon announces none of
    the device's names, local or remote.
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import make_lab, parse_args, main_wrapper, check, log, lab_args, DEVICE, EXIT_SKIP  # noqa: E402
from netlab import NetLab  # noqa: E402
import avahi  # noqa: E402

ARC_PORT = 4440


def body():
    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    work = Path(tempfile.mkdtemp(prefix="mdns-netns-"))
    try:
        with NetLab("mns") as net, \
                avahi.on_both_sides(net, work, fork_bus=True) as (tx_host, rx_host):
            bus_pid = int(tx_host.dbus_pid_file.read_text().strip())
            check(Path("/proc/%d" % bus_pid).exists() and bus_pid != tx_host.pid,
                  "the transmitter's system bus forked (daemon pid %d, not a child we waited for)" % bus_pid)

            def arc_services(name=DEVICE):
                return [e for e in rx_host.browse("_netaudio-arc._udp", timeout=5) if e["name"] == name]

            # The pid the bus gives for org.freedesktop.Avahi may name nothing we can read (the
            # bus in another pid namespace, as in many containers; avahi-daemon another user's
            # process): then only the interface table decides. Made so here by an empty
            # directory bind-mounted over /proc/<avahi-daemon's pid> in a private mount
            # namespace of the session.
            empty = work / "empty"
            empty.mkdir()

            def hide_pid(pid):
                return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" "/proc/$2" && shift 2 && exec "$@"', "hide-pid", str(empty), str(pid)]
            tx_ns = tx_host.prefix()
            # the receiver's bus and avahi-daemon, in the transmitter's network namespace
            rx_bus = ["nsenter", "-t", str(rx_host.pid), "-m", "--net=/run/netns/%s" % net.tx]

            def published(prefix, name, what):
                # the Avahi path is what this test is about (the built-in responder needs no bus)
                args = lab_args(**{"dante.interface": net.tx_if, "dante.device-name": name, "dante.mdns": "avahi"})
                sink = "dante_sink." + name
                with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=prefix) as lab:
                    lab.wait_node(sink, timeout=10)
                    props = lambda: lab.node_props(sink)  # noqa: E731
                    try:
                        lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 15,
                                     "dante.mdns.state = published")
                    finally:
                        p = props()
                        log("    dante.mdns.state = %s, last-error: %s" % (p.get("dante.mdns.state"),
                                                                         p.get("dante.mdns.last-error")))
                    check(True, "%s: the sink publishes (%s services)" % (what, props().get("dante.mdns.services")))
                    found = []
                    deadline = time.monotonic() + 20
                    while not found and time.monotonic() < deadline:
                        found = arc_services(name)
                    check(found and found[0]["address"] == net.tx_addr and found[0]["port"] == ARC_PORT,
                          "the receiver resolves _netaudio-arc._udp %s to %s:%d" % (name, net.tx_addr, ARC_PORT))

            def refused(prefix, name, what, reason):
                # the Avahi path is what this test is about (the built-in responder needs no bus)
                args = lab_args(**{"dante.interface": net.tx_if, "dante.device-name": name, "dante.mdns": "avahi"})
                sink = "dante_sink." + name
                with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=prefix) as lab:
                    lab.wait_node(sink, timeout=10)
                    props = lambda: lab.node_props(sink)  # noqa: E731
                    lab.wait_for(lambda: "another network namespace" in props().get("dante.mdns.last-error", ""), 15,
                                 "dante.mdns.last-error naming another network namespace")
                    p = props()
                    log("    dante.mdns.state = %s, services %s, last-error: %s" % (
                        p.get("dante.mdns.state"), p.get("dante.mdns.services"), p.get("dante.mdns.last-error")))
                    check(p.get("dante.mdns.state") == "unavailable" and p.get("dante.mdns.services") in ("0", 0),
                          "%s: the sink does not publish (dante.mdns.state = unavailable)" % what)
                    check(reason in p.get("dante.mdns.last-error", ""),
                          "the reason: %s" % reason)
                    time.sleep(3)  # what would have been announced by now
                    check(props().get("dante.mdns.state") == "unavailable", "and it stays unavailable")
                    check(not arc_services(name), "the receiver's avahi-daemon announces no %s" % name)
                    check("another network namespace" in lab.log_text(), "the refusal is in PipeWire's log")

            # Each session under a name of its own: the receiver's cache may still hold the
            # records of the one before.
            published(tx_ns, DEVICE, "through the forked system bus of its own namespace")
            published(tx_ns + hide_pid(tx_host.pid), "lab-tx-hidden",
                      "through that bus, avahi-daemon's /proc/<pid> unreadable")
            refused(rx_bus, "lab-foreign", "through the receiver's bus and avahi-daemon",
                    "avahi-daemon (pid %d) is in net:" % rx_host.pid)
            tx_index = int(net.run_in(net.tx, ["cat", "/sys/class/net/%s/ifindex" % net.tx_if],
                                      capture_output=True, text=True, check=True).stdout)
            refused(rx_bus + hide_pid(rx_host.pid), "lab-foreign-hidden",
                    "through the receiver's bus, avahi-daemon's /proc/<pid> unreadable (only the interface table tells)",
                    "interface index %d is '%s' here, the avahi-daemon has no such interface" % (tx_index, net.tx_if))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
