#!/usr/bin/env python3
"""The flow transmitter's life cycle, as Dante receivers exercise it (issue #4).

Two network namespaces joined by a veth pair (nothing reaches a real network): our
PipeWire session with the Dante sink bound to its veth in one, dante-rx receivers (and a
hand-built request in Python) in the other. Checks, in one session unless noted:
  (c) underrun: with nothing playing, a subscribed receiver gets packets of silence with
      no loss, and dante.tx.underruns grows by at least as many packets;
  (e) errors a receiver expects: rate mismatch (dante-rx --rate 44100) -> 0x0301 reported,
      non-zero exit; fpp 1 and 257 in a hand-built request -> 0x0302 (dante-rx's CLI
      refuses --fpp 1 itself); an fpp too large for the MTU through dante-rx -> 0x0302;
  (a) receiver loss and return: dante-rx killed with SIGKILL (no stop) -> dante.flows back
      to 0 within 7 s (keepalive expiry 4 s + property refresh) and dante.tx.flows-expired
      counts it; a new dante-rx gets a fresh flow (another handle) and receives;
  (d) 8 receivers at once (channel sets 1 / 2 / 1,2 / 2,1 / 0,1 / 2,2,1,1, S24 and S32) all
      receive the same played signal bit-exact, contiguous, at the same timestamps, no loss;
  (b) a 9th receiver changes its flow's channels 1,2 -> 2,1 with 0x0102 mid-signal: the
      channels swap at a packet (timestamp) boundary, bit-exact on both sides;
  (e') in a second session with dante.max-flows = 2: a third flow request is refused with
      0x0315.
"""
import array
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, built_program,  # noqa: E402
                   make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   make_wav)
from netlab import NetLab  # noqa: E402


# ---------------------------------------------------------------- helpers (also used by test_flows_long.py)

REQUEST_SCRIPT = r'''
import socket, struct, sys
addr, fpp, rate, bits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
slots = [int(x) for x in sys.argv[5].split(",")]
ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ctl.connect((addr, 4455))
own = ctl.getsockname()[0]
audio = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
audio.bind((own, 0))
port = audio.getsockname()[1]
n = len(slots)
dev, flow = b"raw-rx\0", b"1_1\0"
strings = 10 + 38 + 2 * n
flow_at = strings + len(dev)
desc_at = (flow_at + len(flow) + 7) & ~7
total = desc_at + 8
p = bytearray(total)
struct.pack_into(">HHHHH", p, 0, 0x1102, total, 7, 0x0100, 0)
b = 10
struct.pack_into(">HIIHHH", p, b, strings, rate, bits, 1, n, desc_at)
for i, s in enumerate(slots):
    struct.pack_into(">H", p, b + 16 + 2 * i, s)
struct.pack_into(">HHHHH", p, b + 16 + 2 * n, 10 + 18 + 2 * n, 0x0A00, 2, fpp, flow_at)
p[strings:strings + len(dev)] = dev
p[flow_at:flow_at + len(flow)] = flow
struct.pack_into(">HHI", p, desc_at, 0x0802, port, struct.unpack(">I", socket.inet_aton(own))[0])
ctl.settimeout(1.0)
for attempt in range(3):
    ctl.send(bytes(p))
    try:
        r = ctl.recv(1500)
    except socket.timeout:
        continue
    start, length, seq, op, status = struct.unpack_from(">HHHHH", r, 0)
    if seq == 7 and op == 0x0100:
        body = r[10:]
        if status == 1 and len(body) >= 6:
            index, cookie = struct.unpack_from(">IH", body, 0)
            # do not leave a flow behind: stop it
            stop = struct.pack(">HHHHH", 0x1102, 16, 8, 0x0101, 0) + body[:6]
            ctl.send(stop)
        print("0x%04X" % status)
        sys.exit(0)
print("none")
'''


def raw_request(net, fpp, rate=48000, bits=24, slots="1,2"):
    """Status ("0x0001", "0x0302", ..., or "none") the transmitter answers to a 0x0100
    built here with the given fields (sent from the receiver namespace)."""
    r = subprocess.run(["ip", "netns", "exec", net.rx, "python3", "-c", REQUEST_SCRIPT, net.tx_addr,
                        str(fpp), str(rate), str(bits), slots],
                       capture_output=True, text=True, timeout=15)
    return r.stdout.strip() or ("error: " + r.stderr.strip()[-300:])


def rx_cmd(net, dante_rx, channels, seconds, wav, stats, fmt="S24", extra=()):
    return ["ip", "netns", "exec", net.rx, str(dante_rx), "--address", net.tx_addr,
            "--channels", channels, "--seconds", str(seconds), "--format", fmt,
            "--wav", str(wav), "--stats", str(stats)] + list(extra)


def rx_handle(lab, proc):
    m = re.search(r"flow granted, handle (\d+:\d+)", lab._read(proc.lab_log))
    return m.group(1) if m else None


def read_stats(path):
    return json.loads(path.read_text())


def read_wav(path):
    """(rate, bits, slots) where slots is a list per WAV channel of signed ints."""
    with wave.open(str(path), "rb") as w:
        width, nch, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 2:
        a = array.array("h")
        a.frombytes(raw)
        values = a.tolist()
    elif width == 4:
        a = array.array("i")
        a.frombytes(raw)
        values = a.tolist()
    else:  # 24-bit: widen to 32 (value << 8), then shift back
        wide = bytearray(len(raw) // 3 * 4)
        wide[1::4], wide[2::4], wide[3::4] = raw[0::3], raw[1::3], raw[2::3]
        a = array.array("i")
        a.frombytes(bytes(wide))
        values = [v >> 8 for v in a]
    if sys.byteorder != "little" and width != 3:
        raise RuntimeError("big-endian host")
    return rate, width * 8, [values[c::nch] for c in range(nch)]


def find(haystack, needle):
    """Index where `needle` starts in `haystack` (exact), or -1."""
    if not needle:
        return 0
    first = needle[0]
    n = len(needle)
    i = -1
    while True:
        try:
            i = haystack.index(first, i + 1)
        except ValueError:
            return -1
        if i + n > len(haystack):
            return -1
        if haystack[i:i + n] == needle:
            return i


def prop(lab, key, default="0"):
    return str(lab.node_props(SINK).get(key, default))


def iprop(lab, key):
    return int(prop(lab, key))


def wait_flows(lab, n, timeout, what):
    lab.wait_for(lambda: prop(lab, "dante.flows") == str(n), timeout, what)


def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def rx_failed(lab, p):
    return "dante-rx rc %s: %s" % (p.returncode, lab._read(p.lab_log)[-600:])


def expected_slot(sig, channel_id, bits):
    """What a slot carrying TX channel `channel_id` holds for the played 24-bit signal."""
    if channel_id == 0:
        return None
    return [v << 8 for v in sig[channel_id - 1]] if bits == 32 else sig[channel_id - 1]


def check_receiver(name, stats, wav, sig, frames):
    """Bit-exact, contiguous, no loss; returns the wire timestamp of the first played frame."""
    check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0 and stats["malformed"] == 0,
          "%s: no loss, duplicate, reordering (lost %d dup %d reord %d malformed %d, %d packets)" %
          (name, stats["lost"], stats["duplicated"], stats["reordered"], stats["malformed"], stats["packets"]))
    rate, bits, slots = read_wav(wav)
    ids = stats["channel_ids"]
    check(rate == 48000 and len(slots) == len(ids), "%s: WAV of %d slots at 48 kHz" % (name, len(ids)))
    start = -1
    for s, cid in enumerate(ids):
        exp = expected_slot(sig, cid, bits)
        if exp is None:
            continue
        if start < 0:
            start = find(slots[s], exp[:64])
            check(start >= 0, "%s: the played signal arrived in slot %d" % (name, s + 1))
        ok = slots[s][start:start + frames] == exp
        check(ok, "%s: slot %d (TX channel %d, S%d): all %d frames bit-exact and contiguous" %
              (name, s + 1, cid, bits, frames))
    for s, cid in enumerate(ids):
        if cid == 0:
            check(not any(slots[s]), "%s: empty slot %d carries zeros" % (name, s + 1))
    return stats["first_timestamp"] + start


# ---------------------------------------------------------------- the test

FRAMES = 4 * 48000


def body():
    out = Path(tempfile.mkdtemp(prefix="flows-lifecycle-"))
    try:
        return run(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run(w):
    a = parse_args(__doc__)
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    t0 = time.monotonic()
    with NetLab("fl") as net:
        with make_lab(a, module_args=lab_args(**{"dante.interface": net.tx_if}), netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)

            # ---- (c) underrun: nothing plays, a receiver still gets packets (of silence)
            log("(c) underrun")
            u0 = iprop(lab, "dante.tx.underruns")
            rx = lab.spawn(rx_cmd(net, dante_rx, "1,2", 2, w / "c.wav", w / "c.json"), name="dante-rx")
            rc = rx.wait(timeout=15)
            check(rc == 0, "a receiver subscribed while nothing plays gets audio (%s)" % rx_failed(lab, rx))
            stats = read_stats(w / "c.json")
            check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0,
                  "silence: %d packets, no loss, duplicate or reordering" % stats["packets"])
            check(stats["packets"] >= 2 * 48000 // stats["fpp"], "silence: a whole window of packets (%d)" % stats["packets"])
            _, _, slots = read_wav(w / "c.wav")
            check(not any(slots[0]) and not any(slots[1]), "silence: every sample is 0")
            lab.wait_for(lambda: iprop(lab, "dante.tx.underruns") - u0 >= stats["packets"], 3,
                         "dante.tx.underruns to grow")
            check(True, "dante.tx.underruns grew by %d (>= %d packets received)" %
                  (iprop(lab, "dante.tx.underruns") - u0, stats["packets"]))

            # ---- (e) errors a receiver expects
            log("(e) refusals")
            r = lab.run(rx_cmd(net, dante_rx, "1,2", 1, w / "e.wav", w / "e.json", extra=["--rate", "44100"]),
                        timeout=15, check=False)
            check(r.returncode == 1 and "0x0301" in r.stderr and "sample rate mismatch" in r.stderr,
                  "rate mismatch: dante-rx exits 1 with %r" % r.stderr.strip())
            r = lab.run(rx_cmd(net, dante_rx, "1,2", 1, w / "e.wav", w / "e.json", extra=["--fpp", "1"]),
                        timeout=15, check=False)
            check(r.returncode == 2 and "--fpp" in r.stderr, "dante-rx --fpp 1: refused by its CLI (exit 2)")
            check(raw_request(net, 32) == "0x0001", "hand-built request, fpp 32: granted (the encoder is right)")
            for fpp in (1, 257):
                got = raw_request(net, fpp)
                check(got == "0x0302", "hand-built request, fpp %d: refused with 0x0302 (got %s)" % (fpp, got))
            got = raw_request(net, 32, bits=20)
            check(got == "0x0302", "hand-built request, 20-bit: refused with 0x0302 (got %s)" % got)
            r = lab.run(rx_cmd(net, dante_rx, "1,2", 1, w / "e.wav", w / "e.json", extra=["--fpp", "256"]),
                        timeout=15, check=False)
            check(r.returncode == 1 and "0x0302" in r.stderr,
                  "fpp 256 x 2 slots x S24 (> MTU): refused, dante-rx exits 1 with %r" % r.stderr.strip())
            wait_flows(lab, 0, 3, "no flow left after the refusals")

            # ---- (a) receiver loss and return
            log("(a) receiver killed, then a new one")
            e0 = iprop(lab, "dante.tx.flows-expired")
            victim = lab.spawn(rx_cmd(net, dante_rx, "1,2", 60, w / "a1.wav", w / "a1.json"), name="dante-rx")
            wait_flows(lab, 1, 5, "the receiver's flow")
            lab.wait_for(lambda: rx_handle(lab, victim), 3, "the handle on dante-rx's stderr")
            victim_handle = rx_handle(lab, victim)
            time.sleep(0.5)  # keepalives are flowing
            kill_group(victim, signal.SIGKILL)
            victim.wait(timeout=5)
            killed = time.monotonic()
            wait_flows(lab, 0, 8, "the dead receiver's flow to expire")
            gone = time.monotonic() - killed
            check(gone <= 7.0, "dante.flows back to 0 %.1f s after SIGKILL (keepalive expiry 4 s)" % gone)
            lab.wait_for(lambda: iprop(lab, "dante.tx.flows-expired") == e0 + 1, 3, "dante.tx.flows-expired + 1")
            check(True, "dante.tx.flows-expired counted it (%d -> %d)" % (e0, e0 + 1))
            rx = lab.spawn(rx_cmd(net, dante_rx, "1,2", 1, w / "a2.wav", w / "a2.json"), name="dante-rx")
            rc = rx.wait(timeout=15)
            check(rc == 0, "a new receiver gets a flow and receives (%s)" % rx_failed(lab, rx))
            stats = read_stats(w / "a2.json")
            new_handle = "%d:%d" % (stats["handle"]["index"], stats["handle"]["cookie"])
            check(new_handle != victim_handle, "it is a fresh flow (handle %s, the dead one's was %s)" %
                  (new_handle, victim_handle))
            check(stats["lost"] == 0 and stats["packets"] > 0, "the new receiver: %d packets, no loss" % stats["packets"])

            # ---- (d) 8 receivers at once, (b) a 9th updates its channels mid-signal
            log("(d) 8 receivers + (b) channel update")
            specs = [("1", "S24"), ("2", "S24"), ("1,2", "S24"), ("2,1", "S24"),
                     ("1,2", "S32"), ("2", "S32"), ("0,1", "S24"), ("2,2,1,1", "S24")]
            wav_in = w / "signal.wav"
            sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
            rxs = []
            for i, (chans, fmt) in enumerate(specs):
                rxs.append(lab.spawn(rx_cmd(net, dante_rx, chans, 9, w / ("d%d.wav" % i), w / ("d%d.json" % i),
                                            fmt=fmt), name="dante-rx"))
            wait_flows(lab, len(specs), 8, "%d flows" % len(specs))
            check(True, "%d receivers have a flow each (dante.flows = %d)" % (len(specs), len(specs)))
            play = lab.spawn(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)], name="pw-cat")
            upd = lab.spawn(rx_cmd(net, dante_rx, "1,2", 3.5, w / "b.wav", w / "b.json",
                                   extra=["--update-after", "2.5", "--update-channels", "2,1"]), name="dante-rx")
            check(play.wait(timeout=30) == 0, "pw-cat played the signal")
            rc = upd.wait(timeout=15)
            check(rc == 0, "the updating receiver finished (%s)" % rx_failed(lab, upd))
            for i, p in enumerate(rxs):
                rc = p.wait(timeout=20)
                check(rc == 0, "receiver %d finished (%s)" % (i + 1, rx_failed(lab, p)))
            tx = lab.node_props(SINK)

        log("    transmitter: packets %s, underruns %s, send errors %s, late histogram %s, realtime %s" % (
            tx.get("dante.tx.packets"), tx.get("dante.tx.underruns"), tx.get("dante.tx.send-errors"),
            tx.get("dante.tx.late-histogram"), tx.get("dante.tx.realtime")))
        wire = []
        for i, (chans, fmt) in enumerate(specs):
            stats = read_stats(w / ("d%d.json" % i))
            wire.append(check_receiver("receiver %d (%s %s)" % (i + 1, chans, fmt), stats,
                                       w / ("d%d.wav" % i), sig, FRAMES))
        check(len(set(wire)) == 1, "all 8 receivers got the first played frame at the same timestamp (%s)" %
              sorted(set(wire)))

        # (b) the channel update
        stats = read_stats(w / "b.json")
        log("    update receiver: %s" % json.dumps({k: stats[k] for k in ("packets", "lost", "fpp", "handle", "update")}))
        check(stats["update"]["status"] == "0x0001", "0x0102 update 1,2 -> 2,1 accepted")
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0,
              "update receiver: no loss, duplicate or reordering")
        _, _, slots = read_wav(w / "b.wav")
        s0, s1 = slots
        first = next((i for i, v in enumerate(s0) if v), None)
        check(first is not None, "the update receiver heard the signal")
        at = find(sig[0], s0[first:first + 32])
        check(at >= 0, "before the update slot 1 carries TX channel 1")
        d = at - first  # signal index = WAV index + d
        k = first
        end = min(len(s0), FRAMES - d)
        while k < end and s0[k] == sig[0][k + d] and s1[k] == sig[1][k + d]:
            k += 1
        check(k - first >= 4800 and end - k >= 4800,
              "the swap happens inside the signal (%d frames before, %d after)" % (k - first, end - k))
        check(s0[k:end] == sig[1][k + d:end + d] and s1[k:end] == sig[0][k + d:end + d],
              "from frame %d on the slots carry 2,1: bit-exact to the end of the signal" % k)
        ts = stats["first_timestamp"] + k
        check(ts % stats["fpp"] == 0, "the swap is at a packet boundary (timestamp %d, fpp %d)" % (ts, stats["fpp"]))
        check(ts > stats["update"]["sent_after_timestamp"],
              "and after the last packet received before the update was sent (%d)" % stats["update"]["sent_after_timestamp"])

        # ---- (e') too many flows, in a session with dante.max-flows = 2
        log("(e') dante.max-flows = 2")
        args = lab_args(**{"dante.interface": net.tx_if, "dante.max-flows": 2})
        with make_lab(a, module_args=args, netns=net.tx) as lab:
            lab.wait_node(SINK, timeout=10)
            two = [lab.spawn(rx_cmd(net, dante_rx, c, 20, w / ("m%d.wav" % i), w / ("m%d.json" % i)), name="dante-rx")
                   for i, c in enumerate(("1", "2"))]
            wait_flows(lab, 2, 6, "two flows")
            r = lab.run(rx_cmd(net, dante_rx, "1,2", 1, w / "m.wav", w / "m.json"), timeout=15, check=False)
            check(r.returncode == 1 and "0x0315" in r.stderr and "too many TX flows" in r.stderr,
                  "third flow refused: dante-rx exits 1 with %r" % r.stderr.strip())
            check(iprop(lab, "dante.flows") == 2, "the two granted flows are untouched")
            for p in two:
                kill_group(p, signal.SIGTERM)
            for p in two:
                p.wait(timeout=10)
    log("    took %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
