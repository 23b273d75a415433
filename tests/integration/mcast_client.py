#!/usr/bin/env python3
"""A Dante controller and multicast receiver in one small process (stdlib only), for
test_multicast_flow.py. Run inside the receiver network namespace:

  mcast_client.py --device 10.77.n.1 --iface-addr 10.77.n.2 --out DIR [--record S] [--fpp N]
  mcast_client.py --device 10.77.n.1 --steps '[["create", 1, [1, 2]], ["delete", 1]]'
                  (run_steps(): the statuses and the flow list as JSON; arc_steps() runs it
                  in a namespace from the host side, for test_multicast_mdns.py and bench/soak.py)

Steps, each written to DIR/result.json as it happens:
  1. refusals: ARC 0x2201 with an unknown channel, a bad fpp, a unicast flow type;
  2. creates the multicast flow (channels 2,1 in slot `--slot`), and while --max-flows
     allows, extra one-channel flows until the device answers 0x0315 (too many flows),
     then deletes the extras again (0x2202) and checks a second delete is refused;
  3. lists the flows (0x2200), takes the group of our flow from the record;
  4. joins that group on the interface with --iface-addr and records every packet for
     --record seconds to DIR/packets.bin (u32 length, then the datagram), noting each
     packet's source address and IP TTL;
  5. deletes the flow (0x2202), lists again, and counts packets in the 1.5 s after.
Request layouts as netaudio's services/arc.py builds them (0x2729 start code).
"""
import argparse
import json
import select
import socket
import struct
import sys
import time
from pathlib import Path

ARC_PORT = 4440
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_TTL = getattr(socket, "IP_TTL", 2)

seq = 0


def packet(opcode, body, start=0x2729):
    global seq
    seq += 1
    return struct.pack(">HHHHH", start, 10 + len(body), seq, opcode, 0) + body, seq


def create_body(slot, channels, fpp=0, flow_type=2):
    body = struct.pack(">HHHHH", 0x0101, 0x0010, 0, slot, flow_type) + b"\0" * 10
    body += struct.pack(">H", len(channels)) + b"".join(struct.pack(">H", c) for c in channels)
    pointer = 10 + len(body) + 4
    body += struct.pack(">H", pointer) + b"\x00\x02" + b"\x0a\x00" + b"\x00\x00" + struct.pack(">H", fpp)
    body += b"\0" * 10 + b"\x00\x01\x00\x00"
    return body


class Arc:
    def __init__(self, device):
        self.device = device
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", 0))

    def ask(self, opcode, body):
        data, s = packet(opcode, body)
        for _attempt in range(3):
            self.sock.sendto(data, (self.device, ARC_PORT))
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                r, _, _ = select.select([self.sock], [], [], 0.2)
                if not r:
                    continue
                reply = self.sock.recv(2048)
                if len(reply) >= 10 and struct.unpack(">H", reply[4:6])[0] == s:
                    return reply
        raise RuntimeError("no ARC reply to opcode 0x%04x" % opcode)

    def status(self, opcode, body):
        return struct.unpack(">H", self.ask(opcode, body)[8:10])[0]

    def flows(self):
        """netaudio's query_tx_flows parse, plus our destination descriptor at +12..+20."""
        reply = self.ask(0x2200, b"\x00\x00")
        status = struct.unpack(">H", reply[8:10])[0]
        body = reply[10:]
        out = {"status": status, "max": body[0], "flows": []}
        for i in range(body[1]):
            number, pointer = struct.unpack(">HH", body[2 + 4 * i:6 + 4 * i])
            r = body[pointer - 10:]
            ftype, rate, enc, fpp = struct.unpack(">HIHH", r[2:12])
            tag, port = struct.unpack(">HH", r[12:16])
            addr = socket.inet_ntoa(r[16:20])
            count = struct.unpack(">H", r[22:24])[0]
            chans = list(struct.unpack(">%dH" % count, r[24:24 + 2 * count]))
            out["flows"].append({"number": number, "record_number": struct.unpack(">H", r[0:2])[0],
                                 "type": ftype, "rate": rate, "encoding": enc, "fpp": fpp, "tag": tag,
                                 "address": addr, "port": port, "channels": chans})
        return out


def run_steps(device, steps):
    """ARC requests in order: ["create", slot, [channels]] (0x2201), ["delete", slot] (0x2202);
    returns their statuses by kind and the flows 0x2200 lists after them."""
    arc = Arc(device)
    out = {}
    for step in steps:
        if step[0] == "create":
            out.setdefault("create", []).append(arc.status(0x2201, create_body(step[1], step[2])))
        elif step[0] == "delete":
            out.setdefault("delete", []).append(arc.status(0x2202, struct.pack(">HHH", 1, 0, step[1])))
    out["flows"] = arc.flows()["flows"]
    return out


def arc_steps(netns, device, steps, timeout=30):
    """run_steps() from inside network namespace `netns` (the receiver's); called by the host."""
    import subprocess
    r = subprocess.run(["ip", "netns", "exec", netns, sys.executable, __file__, "--steps", json.dumps(steps),
                        "--device", device], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("ARC steps %s failed: %s" % (steps, r.stderr.strip()[-500:]))
    return json.loads(r.stdout)


def main():
    if "--steps" in sys.argv:
        sp = argparse.ArgumentParser()
        sp.add_argument("--steps", required=True)
        sp.add_argument("--device", required=True)
        s = sp.parse_args()
        print(json.dumps(run_steps(s.device, json.loads(s.steps))))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", required=True)
    ap.add_argument("--iface-addr", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--slot", type=int, default=1)
    ap.add_argument("--record", type=float, default=8.0)
    ap.add_argument("--max-flows", type=int, default=2)
    a = ap.parse_args()
    out_dir = Path(a.out)
    result = {}

    def save():
        (out_dir / "result.json.tmp").write_text(json.dumps(result))
        (out_dir / "result.json.tmp").rename(out_dir / "result.json")

    arc = Arc(a.device)
    result["refused_unknown_channel"] = arc.status(0x2201, create_body(a.slot, [3]))
    result["refused_bad_fpp"] = arc.status(0x2201, create_body(a.slot, [1], fpp=1))
    result["refused_unicast_type"] = arc.status(0x2201, create_body(a.slot, [1], flow_type=1))
    result["flows_before"] = arc.flows()
    result["create"] = arc.status(0x2201, create_body(a.slot, [2, 1]))
    extra, statuses = [], []
    for _ in range(a.max_flows):
        st = arc.status(0x2201, create_body(0, [1]))
        statuses.append(st)
        if st != 1:
            break
    result["extra_creates"] = statuses
    listed = arc.flows()
    result["flows_full"] = listed
    for f in listed["flows"]:
        if f["number"] != a.slot:
            extra.append(f["number"])
    result["extra_deletes"] = [arc.status(0x2202, struct.pack(">HHH", 1, 0, n)) for n in extra]
    result["extra_delete_again"] = [arc.status(0x2202, struct.pack(">HHH", 1, 0, n)) for n in extra]
    listed = arc.flows()
    result["flows"] = listed
    save()
    ours = [f for f in listed["flows"] if f["number"] == a.slot]
    if result["create"] != 1 or not ours:
        return 1
    group, port = ours[0]["address"], ours[0]["port"]

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    rx.bind((group, port))
    mreq = socket.inet_aton(group) + socket.inet_aton(a.iface_addr)
    rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    result["ready"] = time.time()
    save()

    sources, ttls = set(), set()
    count = 0
    with open(out_dir / "packets.bin", "wb") as f:
        end = time.monotonic() + a.record
        while time.monotonic() < end:
            r, _, _ = select.select([rx], [], [], 0.2)
            if not r:
                continue
            data, anc, _flags, src = rx.recvmsg(2048, socket.CMSG_SPACE(4))
            for level, kind, value in anc:
                if level == socket.IPPROTO_IP and kind == IP_TTL:
                    ttls.add(struct.unpack("i", value[:4])[0])
            sources.add(src[0])
            f.write(struct.pack("<I", len(data)) + data)
            count += 1
    result["packets"] = count
    result["sources"] = sorted(sources)
    result["ttls"] = sorted(ttls)

    result["delete"] = arc.status(0x2202, struct.pack(">HHH", 1, 0, a.slot))
    result["flows_after"] = arc.flows()
    time.sleep(0.3)  # packets already on their way
    while select.select([rx], [], [], 0)[0]:
        rx.recv(2048)
    after, end = 0, time.monotonic() + 1.5
    while time.monotonic() < end:
        if select.select([rx], [], [], 0.1)[0]:
            rx.recv(2048)
            after += 1
    result["packets_after_delete"] = after
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
