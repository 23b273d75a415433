#!/usr/bin/env python3
"""A boot-time drop-in: the sink loads before its interface exists, and the device comes up
on it once it does, without a reload.

A NetLab's namespaces, but the sink names an interface that is not there yet
(dante.clock.source = tai: the in-process PTP engine needs its interface at load, and a
boot-time PTP setup uses the pipewire-dante-ptp service, which waits by itself):
  * at load: the node is there, dante.net.link = absent, dante.net.in-use empty, and
    dante.net.problem says the device waits for an address; pipewire answers;
  * the interface created without an address, then given one: the device starts on it
    within a few seconds; ARC answers the name query there and dante-rx gets a flow with
    no packet lost.
"""
import os
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import make_lab, parse_args, main_with_client, check, log, lab_args, build_dir, built_program, SINK  # noqa: E402
from netlab import NetLab  # noqa: E402
from test_net_changes import client_main, ip, reachable_checker  # noqa: E402

WAIT_S = 5


def body():
    a = parse_args(__doc__)
    with NetLab("late") as net:
        late_if, late_peer = "vl%d" % os.getpid(), "vk%d" % os.getpid()
        args = lab_args(**{"dante.interface": late_if, "dante.clock.source": "tai"})
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            props = lambda: lab.node_props(SINK)  # noqa: E731
            p = props()
            log("  at load: link %r, in-use %r, problem %r" % (p.get("dante.net.link"), p.get("dante.net.in-use"),
                                                             p.get("dante.net.problem")))
            check(p.get("dante.net.link") == "absent" and p.get("dante.net.in-use", "") == "",
                  "at load: the interface is absent and nothing is bound")
            check("no IPv4 address on %s" % late_if in str(p.get("dante.net.problem")),
                  "at load: dante.net.problem says the device waits for an address")

            ip(net.tx, "link", "add", late_if, "type", "veth", "peer", "name", late_peer, "netns", net.rx)
            ip(net.tx, "link", "set", late_if, "up")
            lab.wait_for(lambda: props().get("dante.net.link") in ("no-carrier", "up"), WAIT_S, "the interface seen")
            check(props().get("dante.net.in-use", "") == "", "no address yet: still nothing bound")
            n = net.tx_addr.split(".", 3)[2]
            addr, peer = "10.75.%s.1" % n, "10.75.%s.2" % n
            ip(net.rx, "link", "set", late_peer, "up")
            ip(net.rx, "address", "add", peer + "/24", "dev", late_peer)
            ip(net.tx, "address", "add", addr + "/24", "dev", late_if)
            lab.wait_for(lambda: props().get("dante.net.in-use") == addr + "/24" and
                         props().get("dante.net.problem") == "", WAIT_S, "the device on %s" % addr)
            check(True, "the device started on %s once it had the address" % addr)
            reachable = reachable_checker(lab, net.rx, built_program(build_dir(a), "tools/dante-rx/dante-rx"),
                                          Path(__file__).resolve())
            reachable(addr, "came up late")
    log("done")


if __name__ == "__main__":
    sys.exit(main_with_client(body, client_main))
