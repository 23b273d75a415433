#!/usr/bin/env python3
"""Resolves a Dante service instance the way an independent Dante receiver does (issue #11),
with stdlib sockets only. Run it inside the receiver's network namespace:

    dante_mdns_receiver.py --local 10.77.1.2 --instance '01@lab-tx._netaudio-chan._udp.local' \
        --tries 20 --interval 0.5

Per try: one QM query (from port 5353 to 224.0.0.251) for SRV and TXT of the instance; the
transmitter's address is taken ONLY from an A record for the SRV target in the Additional
section of the answer. If the answer has none, one QM query for the target's A record and
a 3 s wait for it (what the receiver does, and where it gave up behind avahi-daemon).
Prints one JSON object: {"tries": [{"ok", "path": "additional"|"a-query"|"none",
"elapsed_s", "address", "port", "txt"}...]}.

The socket binds 0.0.0.0:5353 with SO_REUSEADDR (and SO_REUSEPORT), beside an avahi-daemon
of the namespace if there is one, and joins 224.0.0.251 on --local's interface only.
"""
import argparse
import json
import random
import select
import socket
import struct
import sys
import time

GROUP = "224.0.0.251"
PORT = 5353
TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_SRV = 1, 12, 16, 33
A_QUERY_TIMEOUT = 3.0


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def query(questions):
    """questions: [(name, type)], QM (unicast-response bit clear), ID 0 as mDNS queriers send."""
    p = struct.pack(">HHHHHH", 0, 0, len(questions), 0, 0, 0)
    for name, qtype in questions:
        p += encode_name(name) + struct.pack(">HH", qtype, 1)
    return p


def read_name(data, offset):
    labels, jumped, end, seen = [], False, None, 0
    while True:
        if offset >= len(data):
            raise ValueError("name past the end")
        n = data[offset]
        if n & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise ValueError("pointer past the end")
            if not jumped:
                end = offset + 2
            jumped = True
            offset = ((n & 0x3F) << 8) | data[offset + 1]
            seen += 1
            if seen > 64:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else offset + 1)
        labels.append(data[offset + 1:offset + 1 + n].decode(errors="replace"))
        offset += 1 + n


def parse(data):
    """-> (flags, questions, [(section, name, type, ttl, rdata dict)])."""
    ident, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(data, off)
        off += 4
    records = []
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            name, off = read_name(data, off)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", data[off:off + 10])
            off += 10
            rdata = data[off:off + rdlen]
            value = {}
            if rtype == TYPE_A and rdlen == 4:
                value = {"address": socket.inet_ntoa(rdata)}
            elif rtype == TYPE_SRV:
                prio, weight, port = struct.unpack(">HHH", rdata[:6])
                value = {"port": port, "target": read_name(data, off + 6)[0]}
            elif rtype == TYPE_TXT:
                items, i = [], 0
                while i < len(rdata):
                    items.append(rdata[i + 1:i + 1 + rdata[i]].decode(errors="replace"))
                    i += 1 + rdata[i]
                value = {"txt": items}
            records.append((section, name.lower(), rtype, ttl, value))
            off += rdlen
    return flags, records


def receive(sock, until, want):
    """Reads responses until want(records) returns something, or the deadline."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return None
        data, _ = sock.recvfrom(9000)
        try:
            flags, records = parse(data)
        except (ValueError, struct.error, IndexError):
            continue
        if not flags & 0x8000:
            continue  # a query (ours looped back, or someone else's)
        got = want(records)
        if got is not None:
            return got


def resolve_once(sock, instance):
    inst = instance.lower()
    t0 = time.monotonic()
    sock.sendto(query([(instance, TYPE_SRV), (instance, TYPE_TXT)]), (GROUP, PORT))

    def srv_answer(records):
        srv = [v for s, n, t, ttl, v in records if s == "answer" and n == inst and t == TYPE_SRV and ttl > 0]
        if not srv:
            return None
        target = srv[0]["target"].lower()
        txt = [v["txt"] for s, n, t, ttl, v in records if n == inst and t == TYPE_TXT]
        # The receiver's rule: the address from the Additional section only.
        addr = [v["address"] for s, n, t, ttl, v in records if s == "additional" and n == target and t == TYPE_A]
        return {"port": srv[0]["port"], "target": target, "txt": txt[0] if txt else None,
                "address": addr[0] if addr else None}

    got = receive(sock, t0 + A_QUERY_TIMEOUT, srv_answer)
    if got is None:
        return {"ok": False, "path": "none", "elapsed_s": time.monotonic() - t0}
    if got["address"]:
        return {"ok": True, "path": "additional", "elapsed_s": time.monotonic() - t0, **got}
    # No address in Additional: one A query ~0.3 ms later, then 3 s.
    sock.sendto(query([(got["target"], TYPE_A)]), (GROUP, PORT))
    target = got["target"]
    addr = receive(sock, time.monotonic() + A_QUERY_TIMEOUT,
                   lambda records: next((v["address"] for s, n, t, ttl, v in records
                                         if s == "answer" and n == target and t == TYPE_A and ttl > 0), None))
    got["address"] = addr
    return {"ok": addr is not None, "path": "a-query", "elapsed_s": time.monotonic() - t0, **got}


def open_socket(local):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("", PORT))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(local))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--local", required=True, help="the receiver's IPv4 address (its interface)")
    p.add_argument("--instance", required=True)
    p.add_argument("--tries", type=int, default=20)
    p.add_argument("--interval", type=float, default=0.5, help="seconds between tries (plus up to 0.1 s)")
    a = p.parse_args()
    sock = open_socket(a.local)
    tries = []
    for i in range(a.tries):
        if i:
            time.sleep(a.interval + random.random() * 0.1)
        tries.append(resolve_once(sock, a.instance))
    print(json.dumps({"instance": a.instance, "tries": tries}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
