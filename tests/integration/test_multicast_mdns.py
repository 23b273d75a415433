#!/usr/bin/env python3
"""A multicast TX flow is advertised over DNS-SD the way Dante receivers look for it, and
dante-rx --device, finding it there, joins the group and receives bit-exact without asking
the transmitter for anything (`b.N` and `_netaudio-bund._udp` in
docs/protocol.md#mdns-and-dns-sd).

Two network namespaces joined by a veth pair, each with its own avahi-daemon and system
D-Bus (avahi.py), as test_dante_rx_device.py. Our PipeWire session with the Dante sink runs
in the transmitter's (dante.interface = its veth); the receiver's runs the controller (ARC
requests, mcast_client.py's) and dante-rx. Checks, on the receiver's avahi-daemon:
  * at first: no `_netaudio-bund._udp` instance, no `b.` TXT on the channels;
  * ARC 0x2201 creates flow 1 = [channel 1] and flow 2 = [channels 2, 1]; then, without
    anything else: `1@lab-tx` and `2@lab-tx` appear with TXT id, a.0 = the derived group
    of each flow (multicast_group.hpp, written out again here), p.0 = 4321, nchan = slots,
    enc = en = 24, fpp = 32, latency_ns = 4000000; `01@lab-tx` carries b.1=1 and b.2=2
    (a channel in two flows points at both), `02@lab-tx` carries b.2=1;
  * dante-rx --device lab-tx --channels 1,2 picks the multicast path: the one bundle
    carrying both channels (2), its group; the sink's flow-control port answers no request
    meanwhile (dante.flow-control.requests unchanged, dante.flows stays 2); the played
    2-channel S24 signal arrives bit-exact, contiguous, no loss, at the graph position it
    was written at (ring tap), as in test_dante_rx_device.py;
  * with --prefer-unicast dante-rx asks for a unicast flow instead, and receives;
  * ARC 0x2202 deletes both flows: the bundle instances and every `b.` TXT disappear, and
    dante-rx --device falls back to a unicast flow;
  * through all of it a browser on the receiver never sees a channel instance go away: a
    flow change updates the TXT in place (no goodbye), unlike a rename.
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
from pwlab import (build_dir, built_program,  # noqa: E402
                   make_lab, parse_args, main_wrapper, check, log, lab_args, SINK, DEVICE,  # noqa: E402
                   EXIT_SKIP, make_wav, read_tap, CheckFailed)
from netlab import NetLab  # noqa: E402
from test_dante_rx import read_wav_s24, flows, check_played_signal  # noqa: E402
from test_multicast_flow import expected_group  # noqa: E402
import avahi  # noqa: E402
from mcast_client import arc_steps  # noqa: E402

FRAMES = 3 * 48000
SECONDS = 8
RESOLVE_TIMEOUT = 10.0

def arc(net, steps):
    """ARC requests from the receiver's namespace (mcast_client.arc_steps)."""
    try:
        return arc_steps(net.rx, net.tx_addr, steps)
    except RuntimeError as e:
        raise CheckFailed(str(e))


def advertised(host):
    """The device's bundle and channel instances as the receiver's avahi-daemon sees them:
    ({bundle instance: txt list}, {channel instance: txt list})."""
    bund = {e["name"]: e for e in host.browse("_netaudio-bund._udp", timeout=5)
            if e["name"].endswith("@" + DEVICE)}
    chan = {e["name"]: e for e in host.browse("_netaudio-chan._udp", timeout=5)
            if e["name"].endswith("@" + DEVICE)}
    return bund, chan


def pointers(entry):
    return sorted(t for t in entry["txt"] if t.startswith("b."))


def wait_advertised(host, want, what, timeout=15):
    """Polls the receiver's view until want(bund, chan) holds; returns the last view."""
    deadline = time.monotonic() + timeout
    while True:
        bund, chan = advertised(host)
        if want(bund, chan):
            return bund, chan
        if time.monotonic() > deadline:
            log("    bundles: %s" % json.dumps({k: v["txt"] for k, v in bund.items()}))
            log("    channels: %s" % json.dumps({k: pointers(v) for k, v in chan.items()}))
            check(False, what)
        time.sleep(0.5)


def channel_events(path):
    """The device's channel events in `avahi-browse -p` output: [("+" or "-", instance)]."""
    events = []
    for line in path.read_text(errors="replace").splitlines():
        f = line.split(";")
        if len(f) > 3 and f[0] in "+-" and avahi.unescape(f[3]).endswith("@" + DEVICE):
            events.append((f[0], avahi.unescape(f[3])))
    return events


def run_rx(lab, host, dante_rx, name, extra=(), seconds=1):
    out = lab.work / (name + ".json")
    r = subprocess.run(host.prefix() + [str(dante_rx), "--device", DEVICE, "--channels", "1,2",
                                        "--seconds", str(seconds), "--wav", str(lab.work / (name + ".wav")),
                                        "--stats", str(out)] + list(extra),
                       capture_output=True, text=True, timeout=RESOLVE_TIMEOUT + seconds + 20)
    log("    " + r.stderr.strip().replace("\n", "\n    "))
    check(r.returncode == 0, "dante-rx %s received (rc %d)" % (" ".join(extra) or "--device", r.returncode))
    return json.loads(out.read_text())


def body():
    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    work = Path(tempfile.mkdtemp(prefix="mcmdns-lab-"))
    try:
        with NetLab("mcd") as net, \
                avahi.on_both_sides(net, work) as (tx_host, rx_host):
            args = lab_args(**{"dante.interface": net.tx_if, "dante.debug.ring-tap": "@LABDIR@/tap.bin"})
            with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=tx_host.prefix()) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_mdns_published()
                props = lambda: lab.node_props(SINK)  # noqa: E731

                # ---- before: channels only
                bund, chan = wait_advertised(rx_host, lambda b, c: len(c) == 2, "both channels are advertised")
                check(not bund, "no bundle advertised before any multicast flow (%s)" % sorted(bund))
                check(all(not pointers(e) for e in chan.values()), "no b.N TXT on the channels")

                # A browser that stays on from here to the end: it must never see a channel go.
                watch_log = work / "chan-watch.txt"
                with open(watch_log, "wb") as f:
                    watch = subprocess.Popen(rx_host.prefix() + ["stdbuf", "-oL", "avahi-browse", "-p", "--no-db-lookup",
                                                                 "_netaudio-chan._udp"],
                                             stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                deadline = time.monotonic() + 10
                while len(channel_events(watch_log)) < 2 and watch.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                check(len(channel_events(watch_log)) >= 2, "a browser on the receiver watches both channels (%s)" %
                      watch_log.read_text(errors="replace")[-500:])

                # ---- two multicast flows: 1 = [1], 2 = [2, 1]
                t0 = time.monotonic()
                r = arc(net, [["create", 1, [1]], ["create", 2, [2, 1]]])
                check(r["create"] == [1, 1], "ARC 0x2201 created flows 1 and 2 (%s)" % r["create"])
                listed = {f["number"]: f for f in r["flows"]}
                check(sorted(listed) == [1, 2] and listed[2]["channels"] == [2, 1],
                      "0x2200 lists flow 1 [1] and flow 2 [2, 1]")
                bund, chan = wait_advertised(
                    rx_host, lambda b, c: len(b) == 2 and pointers(c.get("01@" + DEVICE, {"txt": []})) and
                    pointers(c.get("02@" + DEVICE, {"txt": []})), "the bundles and b.N pointers appear")
                log("    advertised %.1f s after the requests" % (time.monotonic() - t0))
                for n, slots in ((1, 1), (2, 2)):
                    name = "%d@%s" % (n, DEVICE)
                    e = bund.get(name)
                    check(e is not None, "%s._netaudio-bund._udp is advertised" % name)
                    want = ["id=%d" % n, "a.0=%s" % expected_group(net.tx_addr, n), "p.0=4321", "nchan=%d" % slots,
                            "enc=24", "en=24", "fpp=32", "latency_ns=4000000"]
                    log("    %s: %s" % (name, " ".join(e["txt"])))
                    check(sorted(e["txt"]) == sorted(want), "%s TXT is exactly %s" % (name, want))
                    check(e["address"] == net.tx_addr, "%s resolves to the device's address %s" % (name, e["address"]))
                    check(listed[n]["address"] == expected_group(net.tx_addr, n) and listed[n]["port"] == 4321,
                          "flow %d's group in 0x2200 is the advertised one" % n)
                check(pointers(chan["01@" + DEVICE]) == ["b.1=1", "b.2=2"],
                      "01@%s: b.1=1 b.2=2 (%s)" % (DEVICE, pointers(chan["01@" + DEVICE])))
                check(pointers(chan["02@" + DEVICE]) == ["b.2=1"],
                      "02@%s: b.2=1 (%s)" % (DEVICE, pointers(chan["02@" + DEVICE])))

                # ---- dante-rx --device: the multicast path, no request to the transmitter
                requests_before = props().get("dante.flow-control.requests")
                wav_in = lab.work / "signal.wav"
                sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
                wav_out, stats_out = lab.work / "rx.wav", lab.work / "rx.json"
                rx = lab.spawn(rx_host.prefix() + [str(dante_rx), "--device", DEVICE, "--channels", "1,2",
                                                   "--seconds", str(SECONDS),
                                                   "--wav", str(wav_out), "--stats", str(stats_out)],
                               name="dante-rx")
                lab.wait_for(lambda: "joining it on" in lab._read(rx.lab_log) or rx.poll() is not None,
                             RESOLVE_TIMEOUT + 5, "dante-rx to find the bundle")
                time.sleep(0.5)  # the join
                play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                               timeout=30, check=False)
                check(play.returncode == 0, "pw-cat played the signal (rc %s)" % play.returncode)
                during = flows(lab)
                rc = rx.wait(timeout=SECONDS + 15)
                log("    " + lab._read(rx.lab_log).strip().replace("\n", "\n    "))
                check(rc == 0, "dante-rx finished cleanly (rc %s)" % rc)
                requests_after = props().get("dante.flow-control.requests")
                check(during == "2", "while dante-rx received the sink ran its 2 multicast flows only (%s)" % during)
                check(requests_before is not None and requests_after == requests_before,
                      "the flow-control port answered no request (requests %s -> %s)" %
                      (requests_before, requests_after))
                recs = read_tap(lab.tmp / "tap.bin")
                stats = json.loads(stats_out.read_text())
                received = read_wav_s24(wav_out)

                # ---- --prefer-unicast: a flow of our own
                uni = run_rx(lab, rx_host, dante_rx, "unicast", ["--prefer-unicast"])
                check(uni["transport"] == "unicast" and uni["packets"] > 0 and uni["lost"] == 0 and
                      uni["stop_acknowledged"],
                      "--prefer-unicast: a unicast flow (%s, %d packets, lost %d)" %
                      (uni["transport"], uni["packets"], uni["lost"]))

                # ---- delete both: bundles and pointers go
                t0 = time.monotonic()
                r = arc(net, [["delete", 1], ["delete", 2]])
                check(r["delete"] == [1, 1] and r["flows"] == [], "ARC 0x2202 deleted both flows")
                bund, chan = wait_advertised(
                    rx_host, lambda b, c: not b and len(c) == 2 and all(not pointers(e) for e in c.values()),
                    "the bundles and every b.N pointer disappear")
                log("    withdrawn %.1f s after the requests" % (time.monotonic() - t0))
                watch.terminate()
                try:
                    watch.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    watch.wait(timeout=5)
                ours = channel_events(watch_log)
                check(len([e for e in ours if e[0] == "+"]) >= 2,
                      "the watching browser saw both channels (%d events)" % len(ours))
                gone = [name for sign, name in ours if sign == "-"]
                check(not gone, "no channel instance was withdrawn while flows came and went (%s)" % gone)
                check(True, "no bundle and no b.N TXT left; both channels still advertised (%s)" % sorted(chan))
                after = run_rx(lab, rx_host, dante_rx, "after")
                check(after["transport"] == "unicast" and after["packets"] > 0,
                      "after the delete dante-rx --device falls back to a unicast flow (%s)" % after["transport"])
                check("b.N" in after["device"].get("no_bundle", ""), "and says why: %s" %
                      after["device"].get("no_bundle"))

        dev = stats.get("device") or {}
        b = dev.get("bundle") or {}
        log("    resolved bundle: %s" % json.dumps(b))
        group = expected_group(net.tx_addr, 2)
        check(stats.get("transport") == "multicast", "dante-rx took the multicast path (%s)" % stats.get("transport"))
        check(b.get("instance") == "2@" + DEVICE and stats.get("bundle") == 2,
              "through bundle 2, the one carrying both channels")
        check(stats.get("group") == group + ":4321" and b.get("group") == group and b.get("port") == 4321,
              "joined %s:4321 (%s)" % (group, stats.get("group")))
        check(b.get("slots") == [2, 1] and stats.get("wire_slots") == 2, "channel 1 from slot 2, channel 2 from slot 1")
        check(stats["handle"] == {"index": 0, "cookie": 0} and stats["keepalives_sent"] == 0 and
              not stats["stop_acknowledged"], "no flow handle, no keepalive, no stop: nothing was asked")
        check(stats["source"].startswith(net.tx_addr + ":"), "packets came from the device (%s)" % stats["source"])
        check(stats["format"] == "S24" and stats["fpp"] == 32, "S24, fpp 32 as the bundle says")
        check(stats["packets"] > 0, "packets arrived (%d)" % stats["packets"])
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0 and stats["malformed"] == 0,
              "no loss, duplicate, reordering (lost %d, dup %d, reorder %d, malformed %d)" %
              (stats["lost"], stats["duplicated"], stats["reordered"], stats["malformed"]))
        check_played_signal(received, sig, stats["first_timestamp"], recs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
