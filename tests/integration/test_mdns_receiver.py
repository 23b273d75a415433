#!/usr/bin/env python3
"""The built-in mDNS responder (dante.mdns = builtin) resolves the way an independent Dante
receiver needs it (issue #11), next to an avahi-daemon on the same host and without one.

Two network namespaces joined by a veth pair (netlab.NetLab); our PipeWire session with the
Dante sink in the transmitter's (dante.interface = its veth), dante_mdns_receiver.py in the
receiver's: a QM query for SRV+TXT of the instance, the address ONLY from the Additional
section, else one QM A query and 3 s (what the receiver does; avahi-daemon answers with the
A record in Answer and then stays silent on the A query: RFC 6762 §6's one-second rule).
Checks, for `01@lab-tx._netaudio-chan._udp.local` and for a multicast bundle
`1@lab-tx._netaudio-bund._udp.local` (created over ARC 0x2201 as test_multicast_mdns.py):
  * part 1, with an avahi-daemon in the transmitter's namespace too (and one in the
    receiver's, for avahi-browse): 20 of 20 tries resolved from the Additional section,
    each within 1 s, address = the transmitter's, port 4455; coexistence: `avahi-browse
    -rpt` on the receiver still sees the transmitter avahi's own service (published with
    avahi-publish) at its host name, and our channel instances; avahi-resolve finds the
    transmitter avahi's host name; no collision on either side;
  * part 2, no avahi-daemon in the transmitter's namespace at all: the same 20 of 20;
    then the receiver's host announces an SRV record of its own for `02@lab-tx`: the sink
    reports a collision (dante.mdns.state, collisions, last-error), keeps its name, and
    01@lab-tx still resolves;
  * part 3 (for the record, not a pass condition): dante.mdns = avahi on the same lab, a
    few tries, printed: how the receiver fares behind avahi-daemon.
`--tries N` changes the count (default 20).
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import make_lab, parse_args, main_wrapper, check, log, lab_args, SINK, DEVICE, EXIT_SKIP  # noqa: E402
from netlab import NetLab  # noqa: E402
from test_multicast_mdns import arc, wait_advertised  # noqa: E402
import avahi  # noqa: E402

HERE = Path(__file__).resolve().parent
CHANNEL = "01@%s._netaudio-chan._udp.local" % DEVICE
BUNDLE = "1@%s._netaudio-bund._udp.local" % DEVICE
WITHIN_S = 1.0


def resolve(net, instance, tries, interval=0.5):
    r = subprocess.run(["ip", "netns", "exec", net.rx, sys.executable, str(HERE / "dante_mdns_receiver.py"),
                        "--local", net.rx_addr, "--instance", instance, "--tries", str(tries),
                        "--interval", str(interval)],
                       capture_output=True, text=True, timeout=tries * (interval + 7) + 30)
    check(r.returncode == 0, "the receiver ran (%s)" % r.stderr.strip()[-500:])
    return json.loads(r.stdout)["tries"]


def summary(tries):
    times = sorted(t["elapsed_s"] for t in tries)
    paths = {}
    for t in tries:
        paths[t["path"]] = paths.get(t["path"], 0) + 1
    return "%d/%d resolved, paths %s, time min %.1f ms median %.1f ms max %.1f ms" % (
        sum(1 for t in tries if t["ok"]), len(tries), paths, times[0] * 1e3, times[len(times) // 2] * 1e3,
        times[-1] * 1e3)


def check_receiver(net, instance, n):
    tries = resolve(net, instance, n)
    log("    %s: %s" % (instance, summary(tries)))
    ok = [t for t in tries if t["ok"] and t["path"] == "additional" and t["elapsed_s"] <= WITHIN_S]
    check(len(ok) == n, "%s: %d of %d tries resolved from the Additional section within %.0f s" %
          (instance, len(ok), n, WITHIN_S))
    check(all(t["address"] == net.tx_addr and t["port"] == 4455 for t in tries),
          "%s -> %s port 4455 every time" % (instance, net.tx_addr))
    return tries


def start_sink(a, net, prefix, backend):
    args = lab_args(**{"dante.interface": net.tx_if, "dante.mdns": backend})
    if prefix:
        return make_lab(a, module_args=args, with_pulse=False, cmd_prefix=prefix)
    return make_lab(a, module_args=args, with_pulse=False, netns=net.tx)


def wait_published(lab):
    lab.wait_node(SINK, timeout=10)
    lab.wait_mdns_published()


def make_bundle(net):
    r = arc(net, [["create", 1, [1]]])
    check(r["create"] == [1], "ARC 0x2201 created multicast flow 1 = [1] (%s)" % r["create"])


CLAIM = r"""
import socket, struct, sys
def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"
target = name("squatter.local")
rdata = struct.pack(">HHH", 0, 0, 9999) + target
p = struct.pack(">HHHHHH", 0, 0x8400, 0, 1, 0, 0)
p += name(sys.argv[2]) + struct.pack(">HHIH", 33, 0x8001, 120, len(rdata)) + rdata
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.sendto(p, ("224.0.0.251", 5353))
"""


def claim(net, instance):
    """The receiver's host announces an SRV record of its own for one of our instances."""
    r = subprocess.run(["ip", "netns", "exec", net.rx, sys.executable, "-c", CLAIM, net.rx_addr, instance],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 0, "another host announced %s (%s)" % (instance, r.stderr.strip()[-300:]))


def body():
    a = parse_args(__doc__, extra=lambda p: p.add_argument("--tries", type=int, default=20))
    if not avahi.available() or not shutil.which("avahi-publish") or not shutil.which("avahi-resolve"):
        log("SKIP: avahi-daemon/avahi-browse/avahi-publish/avahi-resolve/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    n = a.tries
    work = Path(tempfile.mkdtemp(prefix="mdnsrx-lab-"))
    try:
        # ---- part 1: next to the host's avahi-daemon
        with NetLab("mrx") as net, \
                avahi.on_both_sides(net, work) as (tx_host, rx_host):
            web = subprocess.Popen(tx_host.prefix() + ["avahi-publish", "-s", "tx-host-web", "_http._tcp", "80"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            try:
                with start_sink(a, net, tx_host.prefix(), "builtin") as lab:
                    wait_published(lab)
                    props = lab.node_props(SINK)
                    check(props.get("dante.mdns.backend") == "builtin", "the built-in responder answers "
                          "(dante.mdns.backend = %s)" % props.get("dante.mdns.backend"))
                    make_bundle(net)
                    wait_advertised(rx_host, lambda b, c: "1@" + DEVICE in b, "the bundle is advertised")
                    log("  part 1: with avahi-daemon in the transmitter's namespace")
                    check_receiver(net, CHANNEL, n)
                    check_receiver(net, BUNDLE, n)

                    web_seen = [e for e in rx_host.browse("_http._tcp", timeout=5) if e["name"] == "tx-host-web"]
                    check(web_seen and web_seen[0]["address"] == net.tx_addr and
                          web_seen[0]["host"] == tx_host.host_name + ".local",
                          "the transmitter avahi's own service is still seen and resolved (%s)" % web_seen)
                    chans = {e["name"]: e for e in rx_host.browse("_netaudio-chan._udp", timeout=5)
                             if e["name"].endswith("@" + DEVICE)}
                    check(sorted(chans) == ["01@" + DEVICE, "02@" + DEVICE] and
                          all(e["address"] == net.tx_addr and e["port"] == 4455 for e in chans.values()),
                          "avahi-browse -rpt on the receiver resolves our channels (%s)" % sorted(chans))
                    r = subprocess.run(rx_host.prefix() + ["timeout", "10", "avahi-resolve", "-4", "-n",
                                                          tx_host.host_name + ".local"],
                                       capture_output=True, text=True, timeout=20)
                    check(net.tx_addr in r.stdout, "the transmitter avahi's host name still resolves (%s)" %
                          r.stdout.strip())
                    props = lab.node_props(SINK)
                    check(str(props.get("dante.mdns.collisions")) == "0" and props.get("dante.mdns.state") == "published",
                          "no collision reported by the sink (%s, %s)" %
                          (props.get("dante.mdns.state"), props.get("dante.mdns.collisions")))
                    for host in (tx_host, rx_host):
                        text = host.log_text().lower()
                        check("collision" not in text and "conflict" not in text,
                              "no collision in avahi-daemon's log (%s)" % host.tag)
                    log("    sink: queries %s, answers %s, rate-limited %s" %
                        (props.get("dante.mdns.queries"), props.get("dante.mdns.answers"),
                         props.get("dante.mdns.rate-limited")))

                # ---- part 3 (for the record): the same lab with dante.mdns = avahi
                with start_sink(a, net, tx_host.prefix(), "avahi") as lab:
                    wait_published(lab)
                    make_bundle(net)
                    time.sleep(2)
                    log("  part 3 (for the record): dante.mdns = avahi, the same receiver")
                    for inst in (CHANNEL,):
                        tries = resolve(net, inst, 4, interval=0.3)
                        log("    avahi: %s: %s" % (inst, summary(tries)))
            finally:
                web.terminate()
                web.wait(timeout=5)

        # ---- part 2: no avahi-daemon in the transmitter's namespace
        with NetLab("mrn") as net, avahi.AvahiHost(net.rx, net.rx_if, work, "rx2") as rx_host:
            with start_sink(a, net, None, "builtin") as lab:
                wait_published(lab)
                make_bundle(net)
                wait_advertised(rx_host, lambda b, c: "1@" + DEVICE in b, "the bundle is advertised")
                log("  part 2: no avahi-daemon in the transmitter's namespace")
                check_receiver(net, CHANNEL, n)
                check_receiver(net, BUNDLE, n)

                # Another host claims one of our names: a collision, reported, never a rename.
                claim(net, "02@%s._netaudio-chan._udp.local" % DEVICE)
                lab.wait_for(lambda: lab.node_props(SINK).get("dante.mdns.state") == "collision", 10,
                             "dante.mdns.state = collision")
                p = lab.node_props(SINK)
                log("    %s" % p.get("dante.mdns.last-error"))
                check(str(p.get("dante.mdns.collisions")) == "1" and "02@" + DEVICE in p.get("dante.mdns.last-error", ""),
                      "another host answering for 02@%s is reported as a collision (%s)" %
                      (DEVICE, p.get("dante.mdns.collisions")))
                check(p.get("dante.device-name", DEVICE) == DEVICE, "the device keeps its name")
                tries = resolve(net, CHANNEL, 3)
                check(all(t["ok"] and t["path"] == "additional" for t in tries),
                      "the other instances still resolve (%s)" % summary(tries))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
