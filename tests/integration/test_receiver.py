#!/usr/bin/env python3
"""The Dante receiver in PipeWire: a device with dante.rx.channels has a source node,
"Dante Receiver (<device>)", whose channels a controller subscribes to any transmitter;
pw-record records what that transmitter plays, bit-exact.

Two network namespaces joined by a veth pair, each with its own avahi-daemon and system
D-Bus (avahi.py), each with its own PipeWire session (wireplumber, no pulse) loading our
module: lab-tx (2 TX channels) on one side, lab-rx (2 TX, 2 RX channels) on the other.
Both on dante.clock.source = tai: the namespaces share one kernel clock, so both devices
have the same media clock without a PTP exchange (the PTP engines are tested elsewhere).
lab-rx runs with dante.rx.latency-ns = 10 ms (see LATENCY_NS). A recording that fails while
either side saw a timing fault (late packets, a missed graph cycle) is made once more,
and both attempts are printed; a failure without one, or a second failure, fails the test.
Checks, in order:
  * lab-rx starts first, its RX channel 1 subscribed to 01@lab-tx in the module args: the
    source node is there (Audio/Source, its description), the subscription is not
    receiving (the transmitter does not exist yet: unresolved or being resolved);
  * lab-tx starts: within 20 s lab-rx found it through its avahi-daemon, asked for a flow
    and receives (dante.rx.channel-states, and ARC 0x3000 status 0x01010009 as a
    controller reads it from the other namespace);
  * a controller subscribes RX channel 2 to 02@lab-tx over ARC 0x3010: the next 0x3000
    already shows it, and channel 2 receives too (the device's flow is asked again with
    both channels);
  * pw-record on lab-rx records the source while pw-cat plays a known 2-channel S24 signal
    into lab-tx's sink: every played sample arrives bit-exact and contiguous on both
    channels, none lost; the source is driven by lab-rx's own sink (one node.group) and
    publishes its offset (2 quanta + margin + latency, capture_timeline.hpp);
  * a controller creates a multicast flow on lab-tx carrying both channels (ARC 0x2201) and
    subscribes both RX channels again: once lab-rx's avahi-daemon sees the bundle, they are
    received from its group (`via = multicast`, ARC status 0x0101000A) without a flow
    request, and a second recording is bit-exact too; the flow is deleted (0x2202);
  * lab-tx's PipeWire stops: both channels leave `receiving`; it starts again: within 40 s
    lab-rx found it again, asked again, and both channels receive;
  * the controller removes both subscriptions: the flow ends at the transmitter
    (dante.flows = 0 on lab-tx) and the channels report no subscription.
"""
import array
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (parse_args, main_with_client, check, log, lab_args, make_lab, make_wav,  # noqa: E402
                   SINK, DEVICE, EXIT_SKIP)
from netlab import NetLab  # noqa: E402
from test_dante_rx import find  # noqa: E402
from test_multicast_mdns import wait_advertised, pointers  # noqa: E402
from mcast_client import arc_steps  # noqa: E402
import avahi  # noqa: E402

RX_DEVICE = "lab-rx"
RX_SINK = "dante_sink." + RX_DEVICE
SOURCE = "dante_source." + RX_DEVICE
FRAMES = 3 * 48000
RECEIVING_UNICAST = 0x01010009
RECEIVING_MULTICAST = 0x0101000A
MARGIN_FRAMES = 48      # 1 ms at 48 kHz, the graph's render margin
# lab-rx's dante.rx.latency-ns: 10 ms, not the default (its dante.latency-ns, 4 ms). Its
# packets are received on the device's I/O thread, which is not real-time; on CI's two
# loaded cores it was once late by more than the 4 ms (minus a packet) that the default
# leaves.
LATENCY_NS = 10_000_000
LATENCY_FRAMES = 480


# ---------------------------------------------------------------- the controller (client side)

def client_main(argv):
    """Runs inside the transmitter's namespace, as a controller on that network would."""
    from test_control_plane import Arc
    mode, address = argv[0], argv[1]
    arc = Arc(address)
    if mode == "rx":
        print(json.dumps(arc.rx_channels()))
    elif mode == "subscribe":
        print(json.dumps({"status": arc.subscribe(int(argv[2]), argv[3], argv[4])}))
    elif mode == "unsubscribe":
        # 0x3010 with both name offsets 0: no subscription (as netaudio's remove).
        status, _ = arc.request(0x3010, struct.pack(">BBHHH", 2, 1, int(argv[2]), 0, 0))
        print(json.dumps({"status": status}))


def controller(net, *args):
    r = subprocess.run(["ip", "netns", "exec", net.tx, sys.executable, str(Path(__file__).resolve()),
                        "--client"] + [str(a) for a in args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        log("    controller failed: %s" % r.stderr.strip())
        return None
    return json.loads(r.stdout)


# ---------------------------------------------------------------- helpers

def states(lab):
    """{rx channel: state} from the source's dante.rx.channel-states."""
    text = str(lab.node_props(SOURCE).get("dante.rx.channel-states", ""))
    out = {}
    for entry in text.split("{")[1:]:
        words = entry.replace("}", " ").replace("]", " ").split()
        fields = dict(zip(words[0::3], words[2::3]))
        if "rx" in fields:
            out[int(fields["rx"])] = fields.get("state")
    return out


def read_wav_s32(path, channels):
    """Per-channel samples of a 32-bit PCM WAV, plain or WAVE_FORMAT_EXTENSIBLE (what
    pw-record writes for more than 2 channels, and Python's wave module cannot read)."""
    data = Path(path).read_bytes()
    check(data[:4] == b"RIFF" and data[8:12] == b"WAVE", "pw-record wrote a WAV file")
    fmt, raw, at = None, b"", 12
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if kind == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", data, at + 8)
        elif kind == b"data":
            raw = data[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)
    check(fmt is not None and fmt[0] in (1, 0xFFFE) and fmt[1] == channels and fmt[2] == 48000 and fmt[5] == 32,
          "pw-record wrote a %d-channel 32-bit 48 kHz WAV (%s)" % (channels, fmt))
    samples = array.array("i")
    samples.frombytes(raw[:len(raw) - len(raw) % (4 * channels)])
    if sys.byteorder != "little":
        samples.byteswap()
    return [samples[c::channels].tolist() for c in range(channels)]


def counter(props, key):
    try:
        return int(props.get(key, 0))
    except (TypeError, ValueError):
        return 0


def first_difference(got, want, start):
    """(index into `want`, got sample, wanted sample) of the first difference from `start`."""
    for k, w in enumerate(want):
        g = got[start + k] if start + k < len(got) else None
        if g != w:
            return k, g, w
    return None


def record_once(what, rx_lab, tx_lab, work, channels=2, bits=24, frames=FRAMES):
    """pw-record from the source (its first `channels` channels, which must be subscribed
    to lab-tx's channels 1, 2, ... in order) while pw-cat plays a known signal of `bits`
    into lab-tx's sink. Returns (failures, timing, after, sink_after): what was not
    bit-exact, contiguous and lossless, whether the source saw a timing fault meanwhile
    (late packets, or a jump in its timeline: a missed cycle), and the props after."""
    wav_in = tx_lab.work / "signal.wav"
    sig = make_wav(wav_in, channels=channels, bits=bits, frames=frames, pad_after=8192)
    wav_out = work / ("recorded-%s.wav" % what)  # outlives the lab
    before = rx_lab.node_props(SOURCE)
    tx_before = tx_lab.node_props(SINK)
    aux = ",".join("AUX%d" % c for c in range(channels))
    rec = rx_lab.spawn(["pw-record", "--target", SOURCE, "--format", "s32", "--rate", "48000",
                        "--channels", str(channels), "--channel-map", aux, str(wav_out)], name="pw-record-" + what)
    time.sleep(1.5)
    # Two channels: the WAV's own FL FR; more: AUXn, as the sink names them.
    mapping = [] if channels == 2 else ["--channels", str(channels), "--channel-map", aux]
    play = tx_lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK] + mapping + [str(wav_in)],
                      timeout=30, check=False)
    check(play.returncode == 0, "%s: pw-cat played the signal into %s (rc %s)" % (what, SINK, play.returncode))
    time.sleep(1.5)
    rec.send_signal(signal.SIGINT)
    try:
        rec.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rec.kill()
    after = rx_lab.node_props(SOURCE)
    sink_after = rx_lab.node_props(RX_SINK)
    tx_after = tx_lab.node_props(SINK)

    got = read_wav_s32(wav_out, channels)
    delta = {k: counter(after, "dante.rx." + k) - counter(before, "dante.rx." + k)
             for k in ("lost", "late", "discontinuities", "silent-samples", "no-buffer-cycles")}
    # The transmitting side's graph missing a cycle shows here (not in dante.tx.underruns,
    # which also counts the silence sent while nothing plays).
    delta["tx-discontinuities"] = (counter(tx_after, "dante.tx.discontinuities") -
                                   counter(tx_before, "dante.tx.discontinuities"))
    log("    %s: recorded %d frames; during it: %s" % (what, len(got[0]), delta))
    failures = []
    shift = 32 - bits
    if shift:
        low_bits = sum(1 for ch in got for s in ch if s & ((1 << shift) - 1))
        if low_bits:
            failures.append("%d recorded samples are not %d-bit audio in 32 bits" % (low_bits, bits))
    got = [[s >> shift for s in ch] for ch in got]
    start = find(got[0], sig[0])
    if start < 0:
        head = find(got[0], sig[0][:64])
        where = first_difference(got[0], sig[0], head) if head >= 0 else None
        failures.append("channel 1: the %d played samples are not recorded bit-exact and contiguous (the first "
                        "64 at frame %d; first difference at played frame %s: got %s, want %s)" %
                        (frames, head, *(where or ("-", "-", "-"))))
    else:
        for c in range(1, channels):
            if got[c][start:start + frames] != sig[c]:
                failures.append("channel %d: not bit-exact at channel 1's frames (first difference at played "
                                "frame %s)" % (c + 1, (first_difference(got[c], sig[c], start) or ("-",))[0]))
                break
    if delta["lost"]:
        failures.append("%d packets lost while recording" % delta["lost"])
    timing = any(delta[k] > 0 for k in ("late", "discontinuities", "no-buffer-cycles", "tx-discontinuities"))
    return failures, timing, after, sink_after


def record(what, rx_lab, tx_lab, work, channels=2, bits=24, frames=FRAMES):
    """record_once(), bit-exact on every channel, contiguous, none lost. A run that fails
    while either side also saw a timing fault (late packets, a missed graph cycle on lab-rx,
    a discontinuity on lab-tx: the machine stalled a thread) is said and
    recorded once more; any other failure, or a second one, fails."""
    for attempt in (1, 2):
        failures, timing, after, sink_after = record_once(what, rx_lab, tx_lab, work, channels, bits, frames)
        if not failures:
            check(True, "%s: all %d channels recorded bit-exact (%d bits) and contiguous (%d frames), none lost" %
                  (what, channels, bits, frames))
            return after, sink_after
        log("    %s, attempt %d: %s" % (what, attempt, "; ".join(failures)))
        log("    source: %s" % {k: v for k, v in after.items() if k.startswith("dante.rx.")})
        if not timing or attempt == 2:
            break
        log("    the source saw late packets or a missed cycle meanwhile (a stalled machine): once more")
    check(False, "%s: %s" % (what, "; ".join(failures)))


def body():
    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    work = Path(tempfile.mkdtemp(prefix="receiver-lab-"))
    try:
        with NetLab("rcv") as net, avahi.on_both_sides(net, work) as (tx_host, rx_host):
            rx_args = lab_args(**{"dante.device-name": RX_DEVICE, "dante.interface": net.rx_if,
                                  "dante.clock.source": "tai", "dante.rx.channels": 2,
                                  "dante.rx.latency-ns": LATENCY_NS,
                                  "dante.rx.subscriptions": [{"rx": 1, "tx-channel": "01", "tx-device": DEVICE}]})
            with make_lab(a, module_args=rx_args, with_pulse=False, cmd_prefix=rx_host.prefix()) as rx_lab:
                # ---- the receiver first: its transmitter does not exist yet
                rx_lab.wait_node(SOURCE, timeout=10)
                props = rx_lab.node_props(SOURCE)
                check(props.get("media.class") == "Audio/Source" and
                      props.get("node.description") == "Dante Receiver (%s)" % RX_DEVICE,
                      "the source node %s: Audio/Source, \"%s\"" % (SOURCE, props.get("node.description")))
                rx_lab.wait_node(RX_SINK, timeout=10)
                check(str(props.get("node.group")) == "dante." + RX_DEVICE and
                      str(rx_lab.node_props(RX_SINK).get("node.group")) == "dante." + RX_DEVICE,
                      "the device's sink and source share node.group dante.%s" % RX_DEVICE)
                time.sleep(2)
                first = states(rx_lab)
                log("    before the transmitter exists: %s" % first)
                check(first.get(1) in ("unresolved", "resolving") and 2 not in first,
                      "RX channel 1 waits for %s (%s), channel 2 is not subscribed" % (DEVICE, first.get(1)))

                tx_args = lab_args(**{"dante.interface": net.tx_if, "dante.clock.source": "tai"})
                with make_lab(a, module_args=tx_args, with_pulse=False, cmd_prefix=tx_host.prefix()) as tx_lab:
                    tx_lab.wait_node(SINK, timeout=10)
                    tx_lab.wait_mdns_published()
                    t0 = time.monotonic()
                    rx_lab.wait_for(lambda: states(rx_lab).get(1) == "receiving", 25,
                                    "RX channel 1 to receive from %s" % DEVICE)
                    check(True, "%s appeared: RX channel 1 receives %.1f s later" % (DEVICE, time.monotonic() - t0))
                    tx_lab.wait_for(lambda: str(tx_lab.node_props(SINK).get("dante.flows")) == "1", 5,
                                    "%s to publish its flow" % DEVICE)
                    check(True, "%s serves one flow (dante.flows = 1)" % DEVICE)
                    rx = controller(net, "rx", net.rx_addr) or {}
                    check(rx.get("1", [None] * 4)[1:] == ["01", DEVICE, RECEIVING_UNICAST],
                          "ARC 0x3000 from the controller: channel 1 <- 01@%s, status 0x%08X (%s)" %
                          (DEVICE, RECEIVING_UNICAST, rx.get("1")))

                    # ---- a controller subscribes channel 2
                    sub = controller(net, "subscribe", net.rx_addr, 2, "02", DEVICE) or {}
                    rx = controller(net, "rx", net.rx_addr) or {}
                    check(sub.get("status") == 1 and rx.get("2", [None] * 3)[1:3] == ["02", DEVICE],
                          "0x3010 RX 2 <- 02@%s answered OK, and the next 0x3000 shows it (%s)" % (DEVICE, rx.get("2")))
                    rx_lab.wait_for(lambda: states(rx_lab) == {1: "receiving", 2: "receiving"}, 20,
                                    "both RX channels to receive")
                    check(True, "both RX channels receive from one flow (%s)" %
                          rx_lab.node_props(SOURCE).get("dante.rx.flows"))

                    # ---- record what lab-tx plays, over the unicast flow
                    after, sink_after = record("unicast", rx_lab, tx_lab, work)
                    check(str(after.get("dante.rx.driven-by-sink")).lower() == "true",
                          "the source was driven by %s" % RX_SINK)
                    quantum = round(int(sink_after.get("dante.tx.lead-ns", 0)) * 48000 / 1e9) - MARGIN_FRAMES
                    offset = int(after.get("dante.rx.offset-frames", -1))
                    check(offset == 2 * quantum + MARGIN_FRAMES + LATENCY_FRAMES and
                          str(after.get("dante.rx.latency-ns")) == str(LATENCY_NS),
                          "published offset %d frames = 2 x quantum %d + margin %d + latency %d "
                          "(dante.rx.latency-ns %s)" %
                          (offset, quantum, MARGIN_FRAMES, LATENCY_FRAMES, after.get("dante.rx.latency-ns")))

                    # ---- a multicast bundle carrying both channels: subscribed again, the
                    # channels come from its group, with no flow request
                    made = arc_steps(net.rx, net.tx_addr, [["create", 1, [1, 2]]])
                    check(made.get("create") == [1], "ARC 0x2201 created multicast flow 1 = [1, 2] on %s" % DEVICE)
                    wait_advertised(rx_host, lambda b, c: "1@" + DEVICE in b and
                                    pointers(c.get("01@" + DEVICE, {"txt": []})) == ["b.1=1"] and
                                    pointers(c.get("02@" + DEVICE, {"txt": []})) == ["b.1=2"],
                                    "lab-rx's avahi-daemon to see bundle 1@%s and both channels' pointers" % DEVICE)
                    for channel in (1, 2):
                        controller(net, "unsubscribe", net.rx_addr, channel)
                    rx_lab.wait_for(lambda: states(rx_lab) == {}, 5, "the unicast subscriptions to go")
                    requests = int(rx_lab.node_props(SOURCE).get("dante.rx.flow-requests", -1))
                    for channel in (1, 2):
                        sub = controller(net, "subscribe", net.rx_addr, channel, "%02d" % channel, DEVICE) or {}
                        check(sub.get("status") == 1, "0x3010 RX %d <- %02d@%s again" % (channel, channel, DEVICE))
                    rx_lab.wait_for(lambda: states(rx_lab) == {1: "receiving", 2: "receiving"}, 20,
                                    "both RX channels to receive from the bundle")
                    via = str(rx_lab.node_props(SOURCE).get("dante.rx.channel-states"))
                    check(via.count("via = multicast") == 2, "both channels come from the multicast group (%s)" % via)
                    rx = controller(net, "rx", net.rx_addr) or {}
                    check(rx.get("1", [None] * 4)[3] == RECEIVING_MULTICAST and
                          rx.get("2", [None] * 4)[3] == RECEIVING_MULTICAST,
                          "ARC 0x3000: both channels status 0x%08X, multicast (%s)" % (RECEIVING_MULTICAST, rx))
                    check(int(rx_lab.node_props(SOURCE).get("dante.rx.flow-requests", -1)) == requests,
                          "no unicast flow was requested for them")
                    record("multicast", rx_lab, tx_lab, work)
                    gone = arc_steps(net.rx, net.tx_addr, [["delete", 1]])
                    check(gone.get("delete") == [1], "ARC 0x2202 deleted multicast flow 1")

                # ---- the transmitter goes away (its PipeWire stops) and comes back
                rx_lab.wait_for(lambda: all(v != "receiving" for v in states(rx_lab).values()), 10,
                                "both RX channels to notice that %s is gone" % DEVICE)
                check(True, "%s gone: the RX channels stop receiving (%s)" % (DEVICE, states(rx_lab)))
                with make_lab(a, module_args=tx_args, with_pulse=False, cmd_prefix=tx_host.prefix()) as tx_lab:
                    tx_lab.wait_node(SINK, timeout=10)
                    tx_lab.wait_mdns_published()
                    t0 = time.monotonic()
                    rx_lab.wait_for(lambda: states(rx_lab) == {1: "receiving", 2: "receiving"}, 40,
                                    "both RX channels to receive from the restarted %s" % DEVICE)
                    check(True, "%s restarted: both RX channels receive again %.1f s later" %
                          (DEVICE, time.monotonic() - t0))
                    tx_lab.wait_for(lambda: str(tx_lab.node_props(SINK).get("dante.flows")) == "1", 5,
                                    "the restarted %s to serve one flow" % DEVICE)

                    # ---- the controller removes both subscriptions: the flow ends
                    for channel in (1, 2):
                        r = controller(net, "unsubscribe", net.rx_addr, channel) or {}
                        check(r.get("status") == 1, "0x3010 removing RX %d answered OK" % channel)
                    tx_lab.wait_for(lambda: str(tx_lab.node_props(SINK).get("dante.flows")) == "0", 5,
                                    "the flow to end at the transmitter")
                    check(True, "the flow ended at %s (dante.flows = 0)" % DEVICE)
                    rx = controller(net, "rx", net.rx_addr) or {}
                    check(rx.get("1", [None] * 4)[1:] == ["", "", 0] and rx.get("2", [None] * 4)[1:] == ["", "", 0],
                          "0x3000: no subscription, status 0 (%s)" % rx)
                    rx_lab.wait_for(lambda: states(rx_lab) == {}, 5, "the source to drop both channels")
                    check(True, "the source reports no subscribed channel")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main_with_client(body, client_main))
