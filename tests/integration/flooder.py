#!/usr/bin/env python3
"""A paced flood of malformed control datagrams (stdlib only), for test_control_flood.py.

    flooder.py ADDRESS --ports 4440,8800,8700,4455 --rate 10000 --seconds 30

Sends `rate` datagrams per second for `seconds`, round-robin over the ports, paced in
1 ms steps (about rate/1000 datagrams each), never one blind burst. The datagrams come
from a pre-built pool of garbage, a mix of:
  * truncated headers (0..9 bytes),
  * a 10-byte control header whose length field lies (the port's own start code),
  * a whole header with a correct length but an opcode nobody answers, and junk body,
  * random bytes (10..1400),
  * oversized datagrams (2,100..9,000 bytes: larger than any control receive buffer),
Prints one JSON line: sent, send errors, seconds, achieved rate, counts by kind and port,
and the worst lag behind the schedule (ms), so the caller can see the rate was reached.
"""
import argparse
import json
import random
import socket
import struct
import time

# Start codes the ports expect (docs/protocol.md#control-header): ARC 0x27FF, CMC 0x1200,
# flow control 0x1102; the info port (conmon) gets 0xFFFF-led junk.
START_CODES = {4440: 0x27FF, 8800: 0x1200, 4455: 0x1102, 8700: 0xFFFF}
KINDS = ("truncated", "bad-length", "bad-opcode", "random", "oversized")
WEIGHTS = (25, 25, 15, 30, 5)


def build_pool(ports, size, seed):
    rng = random.Random(seed)
    pool = []
    for i in range(size):
        port = ports[i % len(ports)]
        start = START_CODES.get(port, 0x27FF)
        kind = rng.choices(KINDS, WEIGHTS)[0]
        if kind == "truncated":
            data = struct.pack(">HHHHH", start, 10, rng.getrandbits(16), rng.getrandbits(16), 0)[:rng.randrange(0, 10)]
        elif kind == "bad-length":
            body = rng.randbytes(rng.randrange(0, 64))
            real = 10 + len(body)
            lie = rng.choice((0, 1, 9, real - 1, real + 1, real + 500, 0xFFFF))
            data = struct.pack(">HHHHH", start, lie & 0xFFFF, rng.getrandbits(16), rng.getrandbits(16), 0) + body
        elif kind == "bad-opcode":
            body = rng.randbytes(rng.randrange(0, 40))
            data = struct.pack(">HHHHH", start, 10 + len(body), rng.getrandbits(16), 0xF000 | rng.getrandbits(12),
                               rng.getrandbits(16)) + body
        elif kind == "random":
            data = rng.randbytes(rng.randrange(10, 1400))
        else:
            n = rng.randrange(2100, 9000)
            data = struct.pack(">HH", start, n & 0xFFFF) + rng.randbytes(60) + b"\xee" * (n - 64)
        pool.append((port, kind, data))
    return pool


def flood(address, ports, rate, seconds, seed=1):
    pool = build_pool(ports, 4000, seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    total = int(rate * seconds)
    by_kind = {k: 0 for k in KINDS}
    by_port = {str(p): 0 for p in ports}
    sent = errors = 0
    worst_lag = 0.0
    sendto = s.sendto
    start = time.monotonic()
    i = 0
    while i < total:
        now = time.monotonic() - start
        due = min(total, int(now * rate) + 1)
        worst_lag = max(worst_lag, (due - i) / rate * 1000.0)
        while i < due:
            port, kind, data = pool[i % len(pool)]
            try:
                sendto(data, (address, port))
                sent += 1
                by_kind[kind] += 1
                by_port[str(port)] += 1
            except OSError:
                errors += 1
            i += 1
        # Sleep to the next millisecond step.
        nxt = (int((time.monotonic() - start) * 1000) + 1) / 1000.0
        delay = nxt - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    return {"sent": sent, "errors": errors, "seconds": round(elapsed, 3), "rate": round(sent / elapsed, 1),
            "by_kind": by_kind, "by_port": by_port, "worst_lag_ms": round(worst_lag, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("address")
    ap.add_argument("--ports", default="4440,8800,8700,4455")
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")]
    print(json.dumps(flood(a.address, ports, a.rate, a.seconds, a.seed)), flush=True)


if __name__ == "__main__":
    main()
