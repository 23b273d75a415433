#!/usr/bin/env python3
"""A multicast TX flow, created the way a Dante controller creates one, carries what
pw-cat plays, bit-exact, to a receiver that only joins the group.

Two network namespaces joined by a veth pair (nothing reaches a real network): the
transmitter namespace runs our PipeWire session with the Dante sink on its veth and
dante.max-flows = 2; the receiver namespace runs mcast_client.py, a small controller +
receiver. Two sessions: audio.format S24 and S32 (a multicast flow carries the device's
own encoding; the played signal is 24-bit, so on an S32 wire each sample is it << 8).
Checks, in each:
  * ARC 0x2201 refusals: unknown channel, fpp 1, a unicast flow type (status 0x0022);
  * the flow (channels 2,1) is created; one more fits, the next is refused with 0x0315;
    the extra one is deleted (0x2202), a second delete of it is refused;
  * 0x2200 lists our flow: multicast type, 48000 Hz, 24 bits, fpp 32, channels [2, 1], and
    its group: 239.255.x.y derived from the device's address and the slot, port 4321;
  * the receiver joins the group on its veth: packets come from the device's address with
    IP TTL 1, each 9 + 32 x 2 x (3 or 4) bytes, timestamps advancing by 32 per packet;
  * pw-cat's signal arrives bit-exact and contiguous, slot 1 = channel 2, slot 2 = 1;
  * the node reports the flow (dante.flows); after 0x2202 the list is empty, no more
    packets arrive and dante.flows goes back to 0.
"""
import json
import struct
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import make_lab, parse_args, main_wrapper, check, log, lab_args, SINK, make_wav  # noqa: E402
from netlab import NetLab  # noqa: E402
from test_dante_rx import find  # noqa: E402

FRAMES = 2 * 48000
FPP = 32
SLOT = 1
RECORD_SECONDS = 7


def expected_group(device_addr, slot):
    """src/flows/multicast_group.hpp, written out independently."""
    a, b, c, d = (int(x) for x in device_addr.split("."))
    low9 = ((c & 1) << 8) | d
    low16 = ((low9 % 510) << 7) | (slot - 1)
    return "239.255.%d.%d" % (low16 >> 8, low16 & 0xFF)


def read_packets(path):
    raw = path.read_bytes()
    packets, o = [], 0
    while o + 4 <= len(raw):
        n = struct.unpack("<I", raw[o:o + 4])[0]
        packets.append(raw[o + 4:o + 4 + n])
        o += 4 + n
    return packets


def sample(b, at, width):
    return int.from_bytes(b[at:at + width], "big", signed=True)


def body():
    a = parse_args(__doc__)
    for fmt in ("S24", "S32"):
        session(a, fmt)


def session(a, fmt):
    log("---- audio.format %s" % fmt)
    width = 3 if fmt == "S24" else 4
    client = Path(__file__).resolve().parent / "mcast_client.py"
    with NetLab("mc") as net:
        args = lab_args(**{"dante.interface": net.tx_if, "dante.max-flows": 2, "audio.format": fmt})
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            flows = lambda: str(lab.node_props(SINK).get("dante.flows"))  # noqa: E731
            check(flows() == "0", "no flows at start")
            out = lab.work / "mc"
            out.mkdir()
            wav_in = lab.work / "signal.wav"
            sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
            rx = lab.spawn(["ip", "netns", "exec", net.rx, sys.executable, str(client), "--device", net.tx_addr,
                            "--iface-addr", net.rx_addr, "--out", str(out), "--slot", str(SLOT),
                            "--record", str(RECORD_SECONDS), "--max-flows", "2"], name="mcast-client")

            def state():
                p = out / "result.json"
                return json.loads(p.read_text()) if p.exists() else {}
            lab.wait_for(lambda: "ready" in state() or rx.poll() is not None, 15, "the client to join the group")
            r = state()
            check("ready" in r, "the client created the flow and joined its group: %s" %
                  (json.dumps(r) if r else lab._read(rx.lab_log)[-800:]))
            # Node properties are republished about once a second.
            lab.wait_for(lambda: flows() == "1", 5, "the node to report the flow")
            check(True, "the node reports one flow (dante.flows = 1)")
            play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK,
                            str(wav_in)], timeout=30, check=False)
            check(play.returncode == 0, "pw-cat played the signal (rc %s)" % play.returncode)
            rc = rx.wait(timeout=RECORD_SECONDS + 15)
            check(rc == 0, "the client finished (rc %s): %s" % (rc, lab._read(rx.lab_log)[-800:]))
            lab.wait_for(lambda: flows() == "0", 5, "dante.flows back to 0 after the delete")
            tx_props = lab.node_props(SINK)
            r = state()
            packets = read_packets(out / "packets.bin")

    log("client: %s" % json.dumps({k: v for k, v in r.items() if k not in ("flows_full",)}))
    check(r["refused_unknown_channel"] == 0x0022, "unknown channel refused (0x%04x)" % r["refused_unknown_channel"])
    check(r["refused_bad_fpp"] == 0x0022, "fpp 1 refused (0x%04x)" % r["refused_bad_fpp"])
    check(r["refused_unicast_type"] == 0x0022, "a non-multicast flow type refused (0x%04x)" %
          r["refused_unicast_type"])
    check(r["flows_before"]["flows"] == [] and r["flows_before"]["max"] == 2, "0x2200 lists nothing at first")
    check(r["create"] == 1, "0x2201 created the flow")
    check(r["extra_creates"] == [1, 0x0315], "one more flow fits, the next gets 0x0315 (%s)" %
          ["0x%04x" % s for s in r["extra_creates"]])
    check(r["extra_deletes"] == [1] and r["extra_delete_again"] == [0x0022],
          "the extra flow is deleted; deleting it again is refused")
    listed = r["flows"]["flows"]
    check(len(listed) == 1, "0x2200 lists exactly our flow (%d)" % len(listed))
    f = listed[0]
    group = expected_group(net.tx_addr, SLOT)
    log("    flow: %s" % json.dumps(f))
    check(f["number"] == SLOT and f["record_number"] == SLOT and f["type"] == 2, "flow %d, multicast type" % SLOT)
    check(f["rate"] == 48000 and f["encoding"] == 8 * width and f["fpp"] == FPP,
          "48000 Hz, %d bits, fpp %d" % (8 * width, FPP))
    check(f["channels"] == [2, 1], "channels as asked: %s" % f["channels"])
    check(f["tag"] == 0x0802 and f["address"] == group and f["port"] == 4321,
          "the group is the derived %s:4321 (listed %s:%d)" % (group, f["address"], f["port"]))

    check(r["sources"] == [net.tx_addr], "packets come from the device's address only (%s)" % r["sources"])
    check(r["ttls"] == [1], "IP TTL 1 (%s)" % r["ttls"])
    check(len(packets) > (RECORD_SECONDS - 1) * 48000 // FPP, "packets arrived all along (%d)" % len(packets))
    size = 9 + FPP * 2 * width
    check(all(len(p) == size and p[0] == 0x02 for p in packets), "every packet: marker 0x02, %d bytes" % size)
    stamps = [struct.unpack(">II", p[1:9]) for p in packets]
    ts = [s * 48000 + sub for s, sub in stamps]
    gaps = [b - a for a, b in zip(ts, ts[1:]) if b - a != FPP]
    check(not gaps, "timestamps advance by %d per packet (%d exceptions: %s)" % (FPP, len(gaps), gaps[:5]))
    check(all(sub < 48000 for _s, sub in stamps), "subsecond field below the rate")

    slot1, slot2 = [], []
    shift = 8 * (width - 3)  # the 24-bit signal sits in the top bits of an S32 sample
    low_bits = 0
    for p in packets:
        for k in range(FPP):
            v1, v2 = sample(p, 9 + k * 2 * width, width), sample(p, 9 + k * 2 * width + width, width)
            low_bits |= (v1 | v2) & ((1 << shift) - 1)
            slot1.append(v1 >> shift)
            slot2.append(v2 >> shift)
    check(low_bits == 0, "the bits below the 24-bit signal are zero on the wire")
    start = find(slot2, sig[0])
    check(start >= 0, "slot 2 carries channel 1: all %d played samples bit-exact and contiguous" % FRAMES)
    check(slot1[start:start + FRAMES] == sig[1], "slot 1 carries channel 2, bit-exact at the same frames")
    log("    transmitter: packets %s, underruns %s, late histogram %s" % (
        tx_props.get("dante.tx.packets"), tx_props.get("dante.tx.underruns"), tx_props.get("dante.tx.late-histogram")))

    check(r["delete"] == 1, "0x2202 deleted the flow")
    check(r["flows_after"]["flows"] == [], "0x2200 lists nothing after the delete")
    check(r["packets_after_delete"] == 0, "no packets after the delete (%d)" % r["packets_after_delete"])


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
