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
    lab.wait_for(lambda: lab.node_props(SINK).get("dante.mdns.state") == "published", 15,
                 "dante.mdns.state = published")


def make_bundle(net):
    r = arc(net, [["create", 1, [1]]])
    check(r["create"] == [1], "ARC 0x2201 created multicast flow 1 = [1] (%s)" % r["create"])


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
                avahi.AvahiHost(net.tx, net.tx_if, work, "tx") as tx_host, \
                avahi.AvahiHost(net.rx, net.rx_if, work, "rx") as rx_host:
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
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
