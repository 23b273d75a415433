#!/usr/bin/env python3
"""netaudio, the open-source Dante controller (github chris-ritsen/network-audio-controller),
driving the sink from another host of the lab.

Skips (exit 77) unless the sources are on this machine: NETAUDIO_SRC = a netaudio source tree
(with packages/netaudio/src/netaudio), TYPER_SRC = a typer source tree (with typer/), and
Debian's /usr/bin/python3 has python3-zeroconf, -ifaddr, -sqlitedict, -rich, -yaml, -nacl,
-click, -typing-extensions. Neither source is part of this repository: the test copies them to
its temp dir, rewrites the nested-quote f-strings Python 3.11 cannot parse (netaudio targets
3.12) and gives netaudio the package metadata it asks importlib for.

Two network namespaces joined by a veth pair, an avahi-daemon of its own in each (lab-rx's
receiver finds lab-tx through it); our PipeWire session runs in the transmitter's namespace. netaudio runs in the receiver's
namespace only (its python-zeroconf mDNS never leaves the lab), with HOME in the temp dir:
  * `device list` finds lab-tx with the interface's MAC, manufacturer pipewire-dante, model
    "PipeWire Dante Transmitter", 48000 Hz, 2 TX channels, and no well-formed request of it
    counts as malformed on our side;
  * `channel list` shows lab-tx's TX channels 01 and 02;
  * a second device of ours, lab-rx (2 RX channels), in netaudio's namespace: `subscription
    add --tx 01@lab-tx --rx 01@lab-rx` (and 02) makes lab-rx receive both, `subscription
    list` shows them with status 9, "Subscription connected (unicast)" in netaudio's labels
    file (NETAUDIO_LABELS_PATH, from its source tree), `subscription remove` ends them
    (lab-tx's flow ends);
  * netaudio's `flow create lab-tx --slot 17 --channels 1,2` makes a multicast flow (the
    node's dante.flows = 1), `flow list` shows it (channels 1, 2, 48000 Hz) and `flow
    delete` removes it (all under `netaudio device flow`).
  * `device config latency 2` sets 2 ms: the node's dante.tx.latency-ns follows;
  * `device name lab-na` renames the device: node.description becomes
    "Dante Transmitter (lab-na)" in pw-dump.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

SYSTEM_PYTHON = "/usr/bin/python3"
MODULES = ("zeroconf", "ifaddr", "sqlitedict", "rich", "yaml", "nacl", "click", "typing_extensions")


def fix_fstring_line(line):
    """Inside the {...} of f"..." strings, turn double quotes into single ones (PEP 701
    nesting, which Python 3.11 rejects)."""
    out, i, n = [], 0, len(line)
    while i < n:
        if line.startswith('f"', i) and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            out.append('f"')
            i += 2
            depth = 0
            while i < n:
                c = line[i]
                if depth == 0 and c == '"':
                    out.append(c)
                    i += 1
                    break
                if c == "{":
                    depth += 1
                elif c == "}" and depth:
                    depth -= 1
                elif c == '"' and depth:
                    c = "'"
                out.append(c)
                i += 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def prepare_python_tree(netaudio_src, typer_src, dest):
    """netaudio + typer + package metadata under dest; returns the PYTHONPATH."""
    shutil.copytree(Path(netaudio_src) / "packages" / "netaudio" / "src" / "netaudio", dest / "netaudio")
    shutil.copytree(Path(typer_src) / "typer", dest / "typer")
    meta = dest / "netaudio-0.0.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: netaudio\nVersion: 0.0.0\n")
    fixed = 0
    for path in (dest / "netaudio").rglob("*.py"):
        text = path.read_text()
        for _ in range(50):
            try:
                compile(text, str(path), "exec")
                break
            except SyntaxError as e:
                lines = text.split("\n")
                new = fix_fstring_line(lines[e.lineno - 1])
                if new == lines[e.lineno - 1]:
                    raise RuntimeError("cannot make %s:%d parse on this Python: %s" % (path, e.lineno, e))
                lines[e.lineno - 1] = new
                text = "\n".join(lines)
                fixed += 1
        path.write_text(text)
    return str(dest), fixed


def body():
    from pwlab import make_lab, parse_args, check, log, lab_args, SINK, EXIT_SKIP, LabError
    from netlab import NetLab
    import avahi

    a = parse_args(__doc__)
    netaudio_src, typer_src = os.environ.get("NETAUDIO_SRC"), os.environ.get("TYPER_SRC")
    if not netaudio_src or not (Path(netaudio_src) / "packages/netaudio/src/netaudio").is_dir():
        log("SKIP: netaudio's source is not here (set NETAUDIO_SRC to a chris-ritsen/network-audio-controller tree)")
        return EXIT_SKIP
    if not typer_src or not (Path(typer_src) / "typer").is_dir():
        log("SKIP: typer's source is not here (set TYPER_SRC to a tiangolo/typer tree)")
        return EXIT_SKIP
    missing = subprocess.run([SYSTEM_PYTHON, "-c", "import " + ", ".join(MODULES)], capture_output=True, text=True)
    if missing.returncode != 0:
        log("SKIP: %s lacks netaudio's dependencies (python3-zeroconf python3-ifaddr python3-sqlitedict "
            "python3-rich python3-yaml python3-nacl python3-click python3-typing-extensions): %s" %
            (SYSTEM_PYTHON, missing.stderr.strip().splitlines()[-1:]))
        return EXIT_SKIP
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP

    work = Path(tempfile.mkdtemp(prefix="netaudio-lab-"))
    try:
        pythonpath, fixed = prepare_python_tree(netaudio_src, typer_src, work / "py")
        log("    netaudio copied to %s (%d f-string lines rewritten for this Python)" % (pythonpath, fixed))
        home = work / "home"
        home.mkdir()
        labels = Path(netaudio_src) / "tests" / "fixtures" / "provenance" / "labels.json"
        with NetLab("na") as net, avahi.on_both_sides(net, work) as (tx_host, rx_host):

            def netaudio(*args, timeout=90):
                env = ["env", "HOME=%s" % home, "PYTHONPATH=%s" % pythonpath, "NO_COLOR=1", "COLUMNS=250",
                       "XDG_CONFIG_HOME=%s" % (home / ".config"), "XDG_CACHE_HOME=%s" % (home / ".cache")]
                if labels.is_file():  # netaudio names subscription states only from this file
                    env.append("NETAUDIO_LABELS_PATH=%s" % labels)
                cmd = ["ip", "netns", "exec", net.rx] + env + [SYSTEM_PYTHON, "-m", "netaudio", "--no-color"] + list(args)
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                log("    $ netaudio %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout[-3000:],
                                                       ("      stderr: " + r.stderr[-1500:]) if r.stderr else ""))
                return r

            def netaudio_flow(*args):
                return netaudio("device", "flow", *args)

            def props():
                return lab.node_props(SINK)

            args = lab_args(**{"dante.interface": net.tx_if, "dante.state-file": "@LABDIR@/state.json"})
            with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=tx_host.prefix()) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 15, "dante.mdns.state = published")
                tx_mac = subprocess.run(["ip", "netns", "exec", net.tx, "cat", "/sys/class/net/%s/address" % net.tx_if],
                                        capture_output=True, text=True, check=True).stdout.strip()
                malformed = int(props()["dante.control.malformed"])

                devices = {}
                for attempt in range(3):  # mDNS may need a second browse right after start-up
                    r = netaudio("-o", "json", "device", "list")
                    if r.returncode == 0 and r.stdout.strip():
                        try:
                            devices = json.loads(r.stdout)
                        except ValueError:
                            devices = {}
                    if any((d or {}).get("name") == "lab-tx" for d in devices.values()):
                        break
                found = [d for d in devices.values() if (d or {}).get("name") == "lab-tx"]
                check(len(found) == 1, "netaudio device list finds lab-tx")
                d = found[0]
                mac = str(d.get("mac_address") or "").lower().replace(":", "").replace("-", "")
                check(mac.startswith(tx_mac.replace(":", "")),
                      "netaudio shows the interface's MAC %s (mac_address %s)" % (tx_mac, d.get("mac_address")))
                check(d.get("manufacturer") == "pipewire-dante", "manufacturer pipewire-dante (%s)" % d.get("manufacturer"))
                check(d.get("model") == "PipeWire Dante Transmitter" or d.get("dante_model") == "PipeWire Dante Transmitter",
                      "model PipeWire Dante Transmitter (model %r, model_id %r)" % (d.get("model"), d.get("model_id")))
                check(str(d.get("sample_rate")) == "48000", "sample rate 48000 (%s)" % d.get("sample_rate"))
                # No latency check here: netaudio takes it only from a latency_ns TXT key on the
                # ARC, CMC or DBC services and never looks at _netaudio-chan, where Dante devices
                # (and we) publish it; it shows no latency for any device that way.

                r = netaudio("-o", "json", "channel", "list")
                chans = (json.loads(r.stdout or "{}") if r.returncode == 0 else {})
                tx = next((v.get("tx_channels") or {} for v in chans.values() if (v or {}).get("name") == "lab-tx"), {})
                check(sorted(tx) == ["01", "02"] and [tx[k]["number"] for k in ("01", "02")] == [1, 2],
                      "netaudio channel list: lab-tx's TX channels 01 and 02 (%s)" % tx)

                # A second device of ours, lab-rx, with 2 RX channels, in netaudio's namespace:
                # netaudio subscribes them to lab-tx's channels, lists the subscriptions as
                # connected, and removes them.
                rx_source = "dante_source.lab-rx"
                rx_args = lab_args(**{"dante.device-name": "lab-rx", "dante.interface": net.rx_if,
                                      "dante.rx.channels": 2})
                with make_lab(a, module_args=rx_args, with_pulse=False, cmd_prefix=rx_host.prefix()) as rx_lab:
                    rx_lab.wait_node(rx_source, timeout=10)
                    rx_lab.wait_mdns_published(node_name="dante_sink.lab-rx")

                    def rx_states():
                        return str(rx_lab.node_props(rx_source).get("dante.rx.channel-states", ""))

                    for channel in ("01", "02"):
                        r = netaudio("subscription", "add", "--tx", channel + "@lab-tx", "--rx", channel + "@lab-rx")
                        check(r.returncode == 0, "netaudio subscription add --tx %s@lab-tx --rx %s@lab-rx exits 0 (%s)"
                              % (channel, channel, (r.stderr or r.stdout).strip()[-300:]))
                    rx_lab.wait_for(lambda: rx_states().count("state = receiving") == 2, 40,
                                    "both of lab-rx's RX channels to receive (%s)" % rx_states())
                    check(True, "lab-rx receives both channels from lab-tx (%s)" % rx_states())
                    r = netaudio("-o", "json", "subscription", "list")
                    subs = []
                    if r.returncode == 0 and r.stdout.strip():
                        try:
                            subs = json.loads(r.stdout)
                        except ValueError:
                            subs = []
                    # netaudio reads 0x3000's status as two u16s: the channel's (0x0101) and the
                    # subscription's (9, "Subscription connected (unicast)" in its labels file).
                    ours = sorted((s.get("rx_channel"), s.get("tx_channel"), s.get("tx_device"),
                                   (s.get("status") or {}).get("code"), (s.get("status") or {}).get("label"))
                                  for s in subs if isinstance(s, dict) and s.get("rx_device") == "lab-rx")
                    want = "Subscription connected (unicast)" if labels.is_file() else "Unknown (9)"
                    check(ours == [("01", "01", "lab-tx", 9, want), ("02", "02", "lab-tx", 9, want)],
                          "netaudio subscription list: lab-rx 01 <- 01@lab-tx, 02 <- 02@lab-tx, status 9 %r (%s)" %
                          (want, ours))
                    for channel in ("01", "02"):
                        r = netaudio("subscription", "remove", "--rx", channel + "@lab-rx")
                        check(r.returncode == 0, "netaudio subscription remove --rx %s@lab-rx exits 0" % channel)
                    rx_lab.wait_for(lambda: "rx =" not in rx_states(), 10, "lab-rx's subscriptions to go")
                    lab.wait_for(lambda: str(props().get("dante.flows")) == "0", 10,
                                 "lab-tx's flow to lab-rx to end (dante.flows %s)" % props().get("dante.flows"))
                    check(True, "after netaudio's remove lab-rx has no subscription and lab-tx no flow")

                # A multicast flow from the controller: created, listed, deleted.
                r = netaudio_flow("create", "lab-tx", "--slot", "17", "--channels", "1,2")
                check(r.returncode == 0, "netaudio flow create lab-tx --slot 17 --channels 1,2 exits 0 (%s)" %
                      (r.stderr or r.stdout).strip()[-500:])
                lab.wait_for(lambda: str(props().get("dante.flows")) == "1", 5,
                             "dante.flows = 1 (now %s)" % props().get("dante.flows"))
                r = netaudio_flow("list", "lab-tx")
                # Columns: Slot, Type, Channels, Sample Rate, Encoding, FPP ("17  multicast  1, 2  48000  24  32").
                rows = [line.replace(",", " ").split() for line in r.stdout.splitlines() if " multicast " in line]
                check(r.returncode == 0 and len(rows) == 1 and rows[0][2:5] == ["1", "2", "48000"],
                      "netaudio flow list: one multicast flow of channels 1, 2 at 48000 Hz (%s)" % rows)
                slot = rows[0][0] if rows else "17"
                r = netaudio_flow("delete", "lab-tx", "--slot", slot)
                check(r.returncode == 0, "netaudio flow delete --slot %s exits 0 (%s)" % (slot, (r.stderr or r.stdout).strip()[-500:]))
                lab.wait_for(lambda: str(props().get("dante.flows")) == "0", 5,
                             "dante.flows = 0 (now %s)" % props().get("dante.flows"))
                check(True, "after netaudio's delete the device has no flow (dante.flows = 0)")

                r = netaudio("-n", "lab-tx", "device", "config", "latency", "2")
                check(r.returncode == 0, "netaudio device config latency 2 exits 0")
                lab.wait_for(lambda: str(props().get("dante.tx.latency-ns")) == "2000000", 5,
                             "dante.tx.latency-ns = 2000000 (now %s)" % props().get("dante.tx.latency-ns"))
                check(True, "the latency netaudio set is advertised (dante.tx.latency-ns = 2000000)")

                r = netaudio("-n", "lab-tx", "device", "name", "lab-na")
                check(r.returncode == 0, "netaudio device name lab-na exits 0")
                lab.wait_for(lambda: props().get("node.description") == "Dante Transmitter (lab-na)", 5,
                             "node.description = Dante Transmitter (lab-na) (now %s)" % props().get("node.description"))
                check(True, "pw-dump: node.description = Dante Transmitter (lab-na) after netaudio's rename")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from pwlab import main_wrapper
    sys.exit(main_wrapper(body))
