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
  * the address renumbered (a new one added, ours removed) while another socket holds our
    ARC port there: the move fails, dante.net.problem says why and the log says it once,
    and it is retried; once the port is free the device moves there without a reload: dante.net.in-use follows, no problem; ARC answers the name query on the new
    address, dante-rx gets a flow from it and receives every packet, the multicast flow a
    controller made moved with it (listed, sending), and the in-process PTP engine sends on
    it without errors (it rebinds, keeping its state);
  * the address removed with none left: the control plane and flows stop, and
    dante.net.problem says they wait for one; added again: the device is back on it, its
    multicast flow too;
  * the interface deleted: absent, the node is still there and pipewire is alive; the
    interface created again (a USB NIC plugged back): the device is back on it, ARC
    answers and a flow runs.
"""
import json
import sys
import subprocess
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_with_client, check, log, lab_args, build_dir,  # noqa: E402
                   built_program, SINK, DEVICE)
from netlab import NetLab, _host_up  # noqa: E402
from mcast_client import arc_steps  # noqa: E402

WAIT_S = 5
BLOCK_S = 3
# Holds UDP addr:port (argv 1, 2) for argv[3] seconds, bound before the address exists.
BLOCKER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
s.bind((sys.argv[1], int(sys.argv[2])))
print("bound", flush=True)
time.sleep(float(sys.argv[3]))
"""


def client_main(argv):
    """Runs in the receiver namespace: one ARC device-name query to argv[0], 1 s per try."""
    from test_control_plane import Arc
    status, data = Arc(argv[0], timeout=1.0).request(0x1002, retries=3)
    print(json.dumps({"status": status, "name": Arc.cstr(data, 10) if data is not None else None}))


def ip(ns, *args):
    subprocess.run(["ip", "-n", ns] + list(args), check=True, capture_output=True, text=True, timeout=10)


def reachable_checker(lab, rx_ns, dante_rx, script):
    """reachable(address, what): checks that the device answers ARC and gives dante-rx a
    flow without loss on `address`, from namespace rx_ns (script: a test whose --client
    runs client_main)."""
    def reachable(address, what):
        r = subprocess.run(["ip", "netns", "exec", rx_ns, sys.executable, str(script), "--client", address],
                           capture_output=True, text=True, timeout=20)
        arc = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {"error": r.stderr[-300:]}
        check(arc.get("name") == DEVICE, "%s: ARC answers on %s (%s)" % (what, address, json.dumps(arc)))
        stats, wav = lab.work / "rx.json", lab.work / "rx.wav"
        stats.unlink(missing_ok=True)
        r = subprocess.run(["ip", "netns", "exec", rx_ns, dante_rx, "--address", address, "--channels", "1,2",
                            "--seconds", "1", "--stats", str(stats), "--wav", str(wav)],
                           capture_output=True, text=True, timeout=30)
        s = json.loads(stats.read_text()) if r.returncode == 0 and stats.exists() else {}
        p = lab.node_props(SINK)
        log("    %s: clock %s (generation %s), dante-rx: %s" % (
            what, p.get("dante.clock.state"), p.get("dante.clock.generation"),
            json.dumps({k: s.get(k) for k in ("packets", "lost", "duplicated", "reordered", "malformed")})))
        check(s.get("packets", 0) > 0 and s.get("lost") == 0 and s.get("source", "").startswith(address),
              "%s: dante-rx received a flow from %s (%s packets, lost %s; rc %d %s)" %
              (what, address, s.get("packets"), s.get("lost"), r.returncode, r.stderr[-300:]))
    return reachable


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

            reachable = reachable_checker(lab, net.rx, built_program(build_dir(a), "tools/dante-rx/dante-rx"),
                                          Path(__file__).resolve())
            reachable(net.tx_addr, "at start")
            # A controller's multicast flow: the device's configuration, which moves with it.
            made = arc_steps(net.rx, net.tx_addr, [["create", 1, [1, 2]]])
            check(made["create"] == [1], "a multicast flow created over ARC (%s)" % json.dumps(made["flows"]))

            def multicast_moved(address, what):
                flows = arc_steps(net.rx, address, [])["flows"]
                check([(f["number"], f["channels"]) for f in flows] == [(1, [1, 2])],
                      "%s: ARC on %s lists the multicast flow 1 = [1, 2] (%s)" % (what, address, json.dumps(flows)))
                before = int(props().get("dante.tx.packets", 0))
                lab.wait_for(lambda: int(props().get("dante.tx.packets", 0)) > before + 100, WAIT_S,
                             "%s: the multicast flow sends" % what)
                check(True, "%s: the multicast flow sends" % what)

            # Another subnet: removing a primary address also removes the secondaries of its
            # subnet (unless promote_secondaries is set), as a DHCP renumbering would not.
            n = net.tx_addr.split(".", 3)[2]
            new_addr, new_peer = "10.76.%s.1" % n, "10.76.%s.2" % n
            ip(net.rx, "address", "add", new_peer + "/24", "dev", net.rx_if)
            # Something else holds our ARC port on the new address for a while (IP_FREEBIND
            # binds before the address exists): the move fails, says why, and is retried.
            arc_port = int(props()["dante.control.arc-port"])
            blocker = subprocess.Popen(["ip", "netns", "exec", net.tx, sys.executable, "-c", BLOCKER, new_addr,
                                        str(arc_port), str(BLOCK_S)], stdout=subprocess.PIPE, text=True)
            check(blocker.stdout.readline().strip() == "bound", "a blocker holds %s:%d" % (new_addr, arc_port))
            ip(net.tx, "address", "add", new_addr + "/24", "dev", net.tx_if)
            ip(net.tx, "address", "del", net.tx_addr + "/24", "dev", net.tx_if)
            t0 = time.monotonic()
            p = expect("the move refused while the port is taken",
                       **{"dante.net.address": new_addr + "/24", "dante.net.in-use": ""})
            problem = str(p.get("dante.net.problem"))
            check(problem.startswith("cannot move the device to %s: ARC" % new_addr),
                  "dante.net.problem says why the move failed: %r" % problem)
            blocker.wait(timeout=BLOCK_S + 5)
            p = expect("renumbered to %s" % new_addr, **{"dante.net.address": new_addr + "/24",
                                                         "dante.net.in-use": new_addr + "/24", "dante.net.problem": ""})
            log("    moved within %.1f s of the renumbering (the port was held %d s); moves %s" %
                (time.monotonic() - t0, BLOCK_S, p.get("dante.net.moves")))
            failures = lab.log_text("pipewire").count("cannot move the device to %s" % new_addr)
            check(failures == 1, "the failed move logged once, not once per retry (%d lines)" % failures)
            check(int(p.get("dante.net.moves", 0)) >= 1, "dante.net.moves counts the move")
            reachable(new_addr, "renumbered")
            multicast_moved(new_addr, "renumbered")
            # PTP on the new address: it keeps sending, and no send fails any more.
            p1 = props()
            time.sleep(3)
            p2 = props()
            sent = int(p2.get("dante.ptp.sent", 0)) - int(p1.get("dante.ptp.sent", 0))
            errors = int(p2.get("dante.ptp.send-errors", 0)) - int(p1.get("dante.ptp.send-errors", 0))
            log("    PTP over 3 s after the move: sent %d, send errors %d, state %s" %
                (sent, errors, p2.get("dante.clock.state")))
            check(sent >= 3 and errors == 0, "the PTP engine sends on the new address (%d sent, %d errors)" % (sent, errors))

            ip(net.tx, "address", "del", new_addr + "/24", "dev", net.tx_if)
            p = expect("no address left", **{"dante.net.address": "", "dante.net.in-use": ""})
            check("wait for one" in str(p.get("dante.net.problem")) and str(p.get("dante.flows")) == "0",
                  "no address: the problem says the device waits (%r), no flow" % p.get("dante.net.problem"))
            ip(net.tx, "address", "add", new_addr + "/24", "dev", net.tx_if)
            expect("the address back", **{"dante.net.in-use": new_addr + "/24", "dante.net.problem": ""})
            reachable(new_addr, "the address back")
            multicast_moved(new_addr, "the address back")

            ip(net.tx, "link", "del", net.tx_if)
            p = expect("the interface deleted", **{"dante.net.link": "absent", "dante.net.address": "",
                                                   "dante.net.in-use": ""})
            check(lab.procs["pipewire"].poll() is None, "pipewire is alive")

            # Plugged back: the same name, a new index, the lab's first address.
            ip(net.tx, "link", "add", net.tx_if, "type", "veth", "peer", "name", net.rx_if, "netns", net.rx)
            _host_up(net.tx, net.tx_if, net.tx_addr, net.prefix)
            _host_up(net.rx, net.rx_if, net.rx_addr, net.prefix)
            expect("the interface back", **{"dante.net.link": "up", "dante.net.in-use": net.tx_addr + "/24",
                                            "dante.net.problem": ""})
            reachable(net.tx_addr, "the interface back")
    log("done")


if __name__ == "__main__":
    sys.exit(main_with_client(body, client_main))
