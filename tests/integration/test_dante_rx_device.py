#!/usr/bin/env python3
"""dante-rx --device NAME finds the transmitter over mDNS, as a Dante receiver does, and
receives from it bit-exact.

Two network namespaces joined by a veth pair, each with its own avahi-daemon and system
D-Bus in its own mount namespace (avahi.py). Our PipeWire session with the Dante sink
runs in the transmitter's (dante.interface = its veth), and publishes its services
through that host's avahi-daemon. In the receiver's, dante-rx --device lab-tx (through
that host's avahi-daemon) resolves `_netaudio-arc._udp` lab-tx and a
`_netaudio-chan._udp` <channel>@lab-tx, requests a flow of channels 1,2 (no --format:
the TXT `enc` decides) and records while pw-cat plays a known 2-channel S24 signal.
Checks:
  * the resolution: the transmitter's address, ARC port 4440, flow-control port 4455 from
    a channel's SRV record, the receiver's interface, rate and encoding from the TXT;
  * dante-rx's flow goes out of that interface (its local address is the receiver's);
  * no loss, duplicate or reordering; the played samples arrive bit-exact and contiguous,
    stamped with the graph position they were written at (ring tap), as test_dante_rx.py;
  * dante-rx --device no-such-device fails (status 1) within its 10 s timeout, naming the
    device; and with no avahi-daemon reachable it fails at once, saying so;
  * with dante.port-base 14440 (ARC 14440, flow control 14442) dante-rx --device finds the
    flow-control port in the channel SRV record and receives.
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
                   EXIT_SKIP, make_wav, read_tap)
from netlab import NetLab  # noqa: E402
from test_dante_rx import read_wav_s24, flows, check_played_signal  # noqa: E402
import avahi  # noqa: E402

FRAMES = 3 * 48000
SECONDS = 9
RESOLVE_TIMEOUT = 10.0
PORT_BASE = 14440


def body():
    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    work = Path(tempfile.mkdtemp(prefix="rxdev-lab-"))
    try:
        with NetLab("rxd") as net, \
                avahi.on_both_sides(net, work) as (tx_host, rx_host):
            args = lab_args(**{"dante.interface": net.tx_if, "dante.debug.ring-tap": "@LABDIR@/tap.bin"})
            with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=tx_host.prefix()) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_mdns_published()
                check(True, "the sink publishes its services through the tx host's avahi-daemon")

                # ---- not found: the whole timeout, then a clear error
                t0 = time.monotonic()
                r = subprocess.run(rx_host.prefix() + [str(dante_rx), "--device", "no-such-device",
                                                       "--channels", "1,2", "--seconds", "1",
                                                       "--wav", str(work / "x.wav"), "--stats", str(work / "x.json")],
                                   capture_output=True, text=True, timeout=RESOLVE_TIMEOUT + 20)
                took = time.monotonic() - t0
                log("    %s (rc %d, %.1f s)" % (r.stderr.strip(), r.returncode, took))
                check(r.returncode == 1 and "'no-such-device' not found" in r.stderr,
                      "dante-rx --device no-such-device fails with an error naming the device")
                check(RESOLVE_TIMEOUT - 0.5 <= took <= RESOLVE_TIMEOUT + 3,
                      "it gives up after its %.0f s timeout (%.1f s)" % (RESOLVE_TIMEOUT, took))
                check(not (work / "x.json").exists(), "and writes no stats")

                # ---- no avahi-daemon: a system bus that does not exist
                t0 = time.monotonic()
                r = subprocess.run(["ip", "netns", "exec", net.rx, "env",
                                    "DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s" % (work / "no-bus"),
                                    str(dante_rx), "--device", DEVICE, "--channels", "1,2", "--seconds", "1",
                                    "--wav", str(work / "y.wav"), "--stats", str(work / "y.json")],
                                   capture_output=True, text=True, timeout=30)
                took = time.monotonic() - t0
                log("    %s (rc %d, %.1f s)" % (r.stderr.strip(), r.returncode, took))
                check(r.returncode == 1 and "no avahi-daemon reachable" in r.stderr and DEVICE in r.stderr,
                      "without an avahi-daemon dante-rx says so, naming the device")
                check(took < 3, "and fails at once (%.1f s)" % took)

                # ---- found: resolve, subscribe, receive
                wav_in = lab.work / "signal.wav"
                sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
                wav_out, stats_out = lab.work / "rx.wav", lab.work / "rx.json"
                t0 = time.monotonic()
                rx = lab.spawn(rx_host.prefix() + [str(dante_rx), "--device", DEVICE, "--channels", "1,2",
                                                   "--seconds", str(SECONDS),
                                                   "--wav", str(wav_out), "--stats", str(stats_out)],
                               name="dante-rx")
                lab.wait_for(lambda: flows(lab) == "1" or rx.poll() is not None, RESOLVE_TIMEOUT + 5,
                             "the sink to report the receiver's flow")
                check(flows(lab) == "1", "dante-rx --device %s resolved and subscribed in %.1f s (dante.flows = 1)" %
                      (DEVICE, time.monotonic() - t0))
                play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                               timeout=30, check=False)
                check(play.returncode == 0, "pw-cat played the signal (rc %s)" % play.returncode)
                rc = rx.wait(timeout=SECONDS + 15)
                rx_log = lab._read(rx.lab_log)
                log("    " + rx_log.strip().replace("\n", "\n    "))
                check(rc == 0, "dante-rx finished cleanly (rc %s)" % rc)
                lab.wait_for(lambda: flows(lab) == "0", 5, "the flow to be stopped")
                recs = read_tap(lab.tmp / "tap.bin")
                stats = json.loads(stats_out.read_text())
                received = read_wav_s24(wav_out)

            # ---- a device on other ports (dante.port-base): the SRV records say where
            args = lab_args(**{"dante.interface": net.tx_if, "dante.port-base": PORT_BASE})
            with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=tx_host.prefix()) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_mdns_published()
                based_out = lab.work / "based.json"
                r = subprocess.run(rx_host.prefix() + [str(dante_rx), "--device", DEVICE, "--channels", "2",
                                                       "--seconds", "1", "--wav", str(lab.work / "based.wav"),
                                                       "--stats", str(based_out)],
                                   capture_output=True, text=True, timeout=RESOLVE_TIMEOUT + 20)
                log("    " + r.stderr.strip().replace("\n", "\n    "))
                check(r.returncode == 0, "with dante.port-base %d dante-rx --device %s received (rc %d)" %
                      (PORT_BASE, DEVICE, r.returncode))
                based = json.loads(based_out.read_text())
        bdev = based.get("device") or {}
        check(bdev.get("arc_port") == PORT_BASE and bdev.get("flow_control_port") == PORT_BASE + 2 and
              bdev.get("channel_instance", "").endswith("@" + DEVICE),
              "port base %d: ARC port %s, flow-control port %s from %s" % (
                  PORT_BASE, bdev.get("arc_port"), bdev.get("flow_control_port"), bdev.get("channel_instance")))
        check(based["packets"] > 0 and based["lost"] == 0 and based["duplicated"] == 0 and based["reordered"] == 0,
              "port base %d: %d packets, none lost, duplicated or reordered" % (PORT_BASE, based["packets"]))

        dev = stats.get("device") or {}
        log("    resolved: %s" % json.dumps(dev))
        check(dev.get("name") == DEVICE and dev.get("address") == net.tx_addr and dev.get("arc_port") == 4440,
              "_netaudio-arc._udp %s -> %s, ARC port 4440" % (DEVICE, net.tx_addr))
        check(dev.get("flow_control_port") == 4455 and dev.get("channel_instance", "").endswith("@" + DEVICE),
              "flow-control port 4455 from the SRV record of %s" % dev.get("channel_instance"))
        check(dev.get("interface") == net.rx_if, "resolved on the receiver's interface %s" % net.rx_if)
        check(dev.get("rate") == 48000 and dev.get("encoding_bits") == 24 and dev.get("latency_ns") == 4000000,
              "TXT: rate 48000, enc 24, latency_ns 4000000")
        check(stats["format"] == "S24" and stats["rate"] == 48000, "the flow was asked in the advertised S24 / 48 kHz")
        check(stats["source"].startswith(net.tx_addr + ":") and stats["local"].startswith(net.rx_addr + ":"),
              "the flow runs %s -> %s" % (stats["source"], stats["local"]))
        check(stats["packets"] > 0, "packets arrived (%d)" % stats["packets"])
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0 and stats["malformed"] == 0,
              "no loss, duplicate, reordering (lost %d, dup %d, reorder %d, malformed %d)" %
              (stats["lost"], stats["duplicated"], stats["reordered"], stats["malformed"]))
        check_played_signal(received, sig, stats["first_timestamp"], recs)
        late = stats["lateness_us"]
        log("    arrival lateness (us): p50 %.1f p99 %.1f p99.9 %.1f max %.1f" %
            (late["p50"], late["p99"], late["p999"], late["max"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
