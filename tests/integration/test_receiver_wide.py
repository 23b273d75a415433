#!/usr/bin/env python3
"""The Dante receiver at full width: 64 RX channels subscribed to a 64-channel S32
transmitter, recorded bit-exact.

The lab of test_receiver.py (two network namespaces, each with its own avahi-daemon,
system D-Bus and PipeWire session; both devices on dante.clock.source = tai), with:
  * lab-tx: audio.channels = 64, audio.format = S32;
  * lab-rx: dante.rx.channels = 64, every RX channel N subscribed to channel N of lab-tx in
    the module args; its own format is the default S24 and dante.rx.latency-ns is 10 ms.
Checks:
  * all 64 RX channels receive, in 8 unicast flows of 8 channels (what lab-tx advertises as
    `nchan`, and what Dante transmitters take in one flow): dante.flows = 8 on lab-tx,
    dante.rx.flows = 8 on lab-rx;
  * the flows are asked for in lab-tx's encoding (32 bits, its channels' `enc`), not in
    lab-rx's own S24 (lab-tx would refuse that): pw-record on lab-rx records what pw-cat
    plays into lab-tx's sink bit-exact on all 64 channels, contiguous, none lost. The
    signal is 24-bit: PipeWire's graph carries samples as 32-bit floats, exact to 24 bits,
    so 24-bit audio is what a 32-bit flow can carry bit-exact from one graph to another
    (its low 8 bits must arrive as 0);
  * the source publishes dante.rx.latency-ns = 10 ms and its offset (2 quanta + margin +
    latency), and in dante.rx.realtime what the kernel says of its receive thread
    (dante-rx: real-time where the session may have it).
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (parse_args, main_wrapper, check, log, lab_args, make_lab, thread_policy, SINK, DEVICE,  # noqa: E402
                   EXIT_SKIP)
from netlab import NetLab  # noqa: E402
from test_receiver import (RX_DEVICE, RX_SINK, SOURCE, MARGIN_FRAMES, LATENCY_NS, LATENCY_FRAMES,  # noqa: E402
                           states, record)
import avahi  # noqa: E402

CHANNELS = 64
FLOWS = 8  # 64 channels in flows of 8
FRAMES = 48000


def body():
    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    work = Path(tempfile.mkdtemp(prefix="receiver-wide-"))
    try:
        with NetLab("rcw") as net, avahi.on_both_sides(net, work) as (tx_host, rx_host):
            tx_args = lab_args(**{"dante.interface": net.tx_if, "dante.clock.source": "tai",
                                  "audio.channels": CHANNELS, "audio.format": "S32"})
            subscriptions = [{"rx": c, "tx-channel": "%02d" % c, "tx-device": DEVICE} for c in range(1, CHANNELS + 1)]
            rx_args = lab_args(**{"dante.device-name": RX_DEVICE, "dante.interface": net.rx_if,
                                  "dante.clock.source": "tai", "dante.rx.channels": CHANNELS,
                                  "dante.rx.latency-ns": LATENCY_NS, "dante.rx.subscriptions": subscriptions})
            with make_lab(a, module_args=tx_args, with_pulse=False, cmd_prefix=tx_host.prefix()) as tx_lab, \
                    make_lab(a, module_args=rx_args, with_pulse=False, cmd_prefix=rx_host.prefix()) as rx_lab:
                tx_lab.wait_node(SINK, timeout=10)
                rx_lab.wait_node(SOURCE, timeout=10)
                rx_lab.wait_node(RX_SINK, timeout=10)
                t0 = time.monotonic()
                everything = {c: "receiving" for c in range(1, CHANNELS + 1)}
                rx_lab.wait_for(lambda: states(rx_lab) == everything, 40, "all %d RX channels to receive" % CHANNELS)
                check(True, "all %d RX channels receive, %.1f s after start" % (CHANNELS, time.monotonic() - t0))
                tx_lab.wait_for(lambda: str(tx_lab.node_props(SINK).get("dante.flows")) == str(FLOWS), 5,
                                "%s to serve %d flows" % (DEVICE, FLOWS))
                policy = thread_policy(rx_lab, "dante-rx")
                realtime = str(rx_lab.node_props(SOURCE).get("dante.rx.realtime")).lower()
                log("    the receive thread dante-rx: kernel policy %s, dante.rx.realtime %s" % (policy, realtime))
                check(policy is not None and (policy in (1, 2)) == (realtime == "true"),
                      "dante.rx.realtime (%s) says what the kernel says of the receive thread (policy %s)" %
                      (realtime, policy))
                rx_flows = str(rx_lab.node_props(SOURCE).get("dante.rx.flows"))
                check(rx_flows == str(FLOWS),
                      "%d channels in %d flows of 8: dante.flows = %d on %s, dante.rx.flows = %s on %s" %
                      (CHANNELS, FLOWS, FLOWS, DEVICE, rx_flows, RX_DEVICE))

                after, sink_after = record("64 channels in S32 flows", rx_lab, tx_lab, work,
                                           channels=CHANNELS, bits=24, frames=FRAMES)
                quantum = round(int(sink_after.get("dante.tx.lead-ns", 0)) * 48000 / 1e9) - MARGIN_FRAMES
                offset = int(after.get("dante.rx.offset-frames", -1))
                check(offset == 2 * quantum + MARGIN_FRAMES + LATENCY_FRAMES and
                      str(after.get("dante.rx.latency-ns")) == str(LATENCY_NS),
                      "published offset %d frames = 2 x quantum %d + margin %d + latency %d (dante.rx.latency-ns %s)" %
                      (offset, quantum, MARGIN_FRAMES, LATENCY_FRAMES, after.get("dante.rx.latency-ns")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
