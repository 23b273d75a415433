#!/usr/bin/env python3
"""The device follows its interface: link, carrier and address changes reach the node's
properties and the log, and nothing falls over when the interface goes away.

A NetLab (two namespaces joined by a veth pair); the sink on the transmitter's end. Each
change is made with `ip` inside the namespace and must show within a few seconds (the
properties refresh about once a second):
  * at start: dante.net.link = up, dante.net.address = our address/24, no problem;
  * the peer's end down (a pulled cable): no-carrier; back up: up;
  * our end administratively down, then up: down, up; each change logged
    ("<if>: link down (was up)") and counted in dante.net.changes;
  * the address renumbered (a new one added, ours removed): dante.net.address follows and
    dante.net.problem says the device still uses the old one (the services do not move
    yet: a reload does);
  * the interface deleted: absent; the node is still there and pipewire is alive.
"""
import sys
import subprocess
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import make_lab, parse_args, main_wrapper, check, log, lab_args, SINK  # noqa: E402
from netlab import NetLab  # noqa: E402

WAIT_S = 5


def ip(ns, *args):
    subprocess.run(["ip", "-n", ns] + list(args), check=True, capture_output=True, text=True, timeout=10)


def body():
    a = parse_args(__doc__)
    with NetLab("net") as net:
        args = lab_args(**{"dante.interface": net.tx_if})
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            props = lambda: lab.node_props(SINK)  # noqa: E731

            def expect(what, **want):
                def matches():
                    p = props()
                    return all(str(p.get(k, "")) == v for k, v in want.items())
                lab.wait_for(matches, WAIT_S, what)
                p = props()
                log("  %s: link %s, address %s, changes %s" % (what, p.get("dante.net.link"), p.get("dante.net.address"),
                                                             p.get("dante.net.changes")))
                check(True, what)
                return p

            p = expect("at start", **{"dante.net.link": "up", "dante.net.address": net.tx_addr + "/24"})
            check(p.get("dante.net.problem", "") == "" and str(p.get("dante.net.changes")) == "0",
                  "at start: no problem, no change (%r, %s)" % (p.get("dante.net.problem"), p.get("dante.net.changes")))

            ip(net.rx, "link", "set", net.rx_if, "down")
            expect("the peer's end down: no carrier", **{"dante.net.link": "no-carrier"})
            ip(net.rx, "link", "set", net.rx_if, "up")
            expect("the peer's end up again", **{"dante.net.link": "up"})

            ip(net.tx, "link", "set", net.tx_if, "down")
            expect("our end down", **{"dante.net.link": "down"})
            ip(net.tx, "link", "set", net.tx_if, "up")
            p = expect("our end up again", **{"dante.net.link": "up"})
            check(int(p.get("dante.net.changes", "0")) >= 4, "changes counted (%s >= 4)" % p.get("dante.net.changes"))
            text = lab.log_text("pipewire")
            check("%s: link down (was up)" % net.tx_if in text and "link no-carrier (was up)" in text,
                  "the changes are in pipewire's log")

            # Another subnet: removing a primary address also removes the secondaries of its
            # subnet (unless promote_secondaries is set), as a DHCP renumbering would not.
            new_addr = "10.76." + net.tx_addr.split(".", 3)[2] + ".1"
            ip(net.tx, "address", "add", new_addr + "/24", "dev", net.tx_if)
            ip(net.tx, "address", "del", net.tx_addr + "/24", "dev", net.tx_if)
            p = expect("renumbered to %s" % new_addr, **{"dante.net.address": new_addr + "/24"})
            problem = str(p.get("dante.net.problem", ""))
            check(new_addr in problem and net.tx_addr in problem,
                  "dante.net.problem names both addresses: %r" % problem)

            ip(net.tx, "link", "del", net.tx_if)
            p = expect("the interface deleted", **{"dante.net.link": "absent", "dante.net.address": ""})
            check(lab.procs["pipewire"].poll() is None, "pipewire is alive")
    log("done")


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
