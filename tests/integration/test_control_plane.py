#!/usr/bin/env python3
"""The control plane as a controller on another host sees it: mDNS (DNS-SD through a real
avahi-daemon), ARC, conmon heartbeats, renames that persist, and robustness to a flood.

Two network namespaces joined by a veth pair; each runs its own avahi-daemon with a
private system D-Bus in its own mount namespace (avahi.py). Our PipeWire session runs in
the transmitter's mount + network namespace (nsenter into its avahi-daemon), so the
module's Avahi client talks to that host's daemon. From the receiver namespace:
  * avahi-browse resolves 01@lab-tx and 02@lab-tx (_netaudio-chan._udp) with the tx
    address, the flow-control port 4455 and the TXT (id, rate, enc, nchan, latency_ns,
    fpp, ...), and the _netaudio-arc._udp / _netaudio-cmc._udp services;
  * an ARC client (written here from the documented layouts) reads the device name (0x1002),
    the channel counts (0x1000), the TX channels (0x2000) and their names (0x2010), and the
    RX channels (0x3000: dante.rx.channels = 4, one dante.rx.subscriptions entry to a device
    that does not exist, in progress or unresolved); a subscription over 0x3010 to the
    device's own channel shows at once, then receives (0x01010009), and survives the restart;
  * a channel rename (0x2013, as netaudio sends it) shows in 0x2010 and in mDNS
    (Vocals@lab-tx), and survives a PipeWire restart (dante.state-file);
  * heartbeats arrive on 224.0.0.233:8708 (at least 2 in 3 s);
  * ARC 0x1100 gives the rate and latency as netaudio parses them (and AES67 off), 0x1101
    (netaudio's latency request) changes the advertised latency (0x1100, TXT latency_ns),
    a rate change is refused with 0x0022, and the latency survives a restart;
  * the conmon settings requests netaudio sends to 8700 (interface 0x0013, clock 0x0021,
    AES67 0x1006) are answered on 224.0.0.231:8702 with the interface's MAC, address and
    netmask, the PTP role; a well-formed request we do not implement counts as
    dante.control.unsupported, not malformed; the device id (CMC TXT id) is the MAC + 0000;
  * a device rename changes the node's description (pw-dump), and the name saved in the
    state file gives the description after a restart;
  * 10,000 malformed datagrams to the ARC port in ~3 s leave the daemon alive and
    answering, and the rate limiter counts them.
The client parts run as this same script in the receiver namespace (--client ...), since
Python 3.11 cannot enter a namespace itself.
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import shutil
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

ARC_PORT = 4440
FLOW_PORT = 4455
HEARTBEAT = ("224.0.0.233", 8708)
INFO = ("224.0.0.231", 8702)
SETTINGS_PORT = 8700

# --------------------------------------------------------------------------------------
# ARC client (runs in the receiver namespace)


class Arc:
    """Requests as netaudio builds them: start code 0x27FF, total length, sequence,
    opcode, status 0, body. Replies: the same header, status 0x0001 (OK) or 0x8112 (OK,
    more pages), string offsets absolute in the datagram."""

    def __init__(self, address, port=ARC_PORT, timeout=1.0):
        self.addr = (address, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.seq = random.randrange(1, 60000)

    def request(self, opcode, body=b"", retries=3):
        for _ in range(retries):
            self.seq = (self.seq + 1) & 0xFFFF
            pkt = struct.pack(">HHHHH", 0x27FF, 10 + len(body), self.seq, opcode, 0) + body
            self.sock.sendto(pkt, self.addr)
            deadline = time.monotonic() + self.sock.gettimeout()
            while time.monotonic() < deadline:
                try:
                    data, _ = self.sock.recvfrom(2048)
                except socket.timeout:
                    break
                if len(data) >= 10:
                    start, length, seq, op, status = struct.unpack_from(">HHHHH", data)
                    if seq == self.seq and op == opcode:
                        if length != len(data):
                            raise ValueError("length field %d != datagram %d" % (length, len(data)))
                        return status, data
        return None, None

    @staticmethod
    def cstr(data, offset):
        end = data.index(b"\0", offset)
        return data[offset:end].decode()

    def device_name(self):
        status, data = self.request(0x1002)
        return None if data is None else (status, self.cstr(data, 10))

    def counts(self):
        status, data = self.request(0x1000)
        if data is None:
            return None
        _, tx, rx = struct.unpack_from(">HHH", data, 10)
        return {"status": status, "tx": tx, "rx": rx}

    def paged(self, opcode, record_size, name_at):
        """All records of a paged TX list: {channel: name}, plus the rate for 0x2000."""
        out, rate, first = {}, None, 1
        for _ in range(64):
            status, data = self.request(opcode, struct.pack(">HHH", 1, first, 0))
            if data is None or status not in (0x0001, 0x8112):
                return None
            n = data[10]
            for i in range(n):
                rec = 12 + record_size * i
                ch = struct.unpack_from(">H", data, rec)[0]
                name_off = struct.unpack_from(">H", data, rec + name_at)[0]
                out[ch] = self.cstr(data, name_off)
                if opcode == 0x2000 and rate is None:
                    desc = struct.unpack_from(">H", data, rec + 4)[0]
                    rate = struct.unpack_from(">I", data, desc)[0]
            if status != 0x8112 or n == 0:
                break
            first = max(out) + 1
        return {"names": {str(k): v for k, v in sorted(out.items())}, "rate": rate}

    def rx_channels(self):
        """0x3000, first page: {channel: [label, tx channel, tx device, status]}."""
        status, data = self.request(0x3000, struct.pack(">HHH", 1, 1, 0))
        if data is None or status not in (0x0001, 0x8112):
            return None
        out = {}
        for i in range(data[10]):
            ch, _, _, tx_ch, tx_dev, label, sub_status = struct.unpack_from(">HHHHHHI", data, 12 + 20 * i)
            out[str(ch)] = [self.cstr(data, label), self.cstr(data, tx_ch) if tx_ch else "",
                            self.cstr(data, tx_dev) if tx_dev else "", sub_status]
        return out

    def subscribe(self, rx, tx_channel, tx_device):
        # Inferno's/netaudio's 0x3010: 02 | n | rx, TX channel name offset, TX device name
        # offset (absolute) | the names.
        names_at = 10 + 2 + 6
        body = struct.pack(">BBHHH", 2, 1, rx, names_at, names_at + len(tx_channel) + 1)
        status, _ = self.request(0x3010, body + tx_channel.encode() + b"\0" + tx_device.encode() + b"\0")
        return status

    def rename_tx(self, channel, name):
        # netaudio command_set_channel_name("tx"): 02 01 | 00 00 | channel | name offset 0x18
        # | 6 zero bytes | name NUL. (The leading 00 00 of its payload is our status field.)
        body = struct.pack(">BBHHH", 2, 1, 0, channel, 0x18) + b"\0" * 6 + name.encode() + b"\0"
        status, _ = self.request(0x2013, body)
        return status


    def settings(self):
        """ARC 0x1100 as netaudio's protocol.py parse_device_settings reads it: records of
        (u16 code, u16 absolute offset of a u32 value) after two count bytes."""
        status, data = self.request(0x1100, b"\0\0")
        if data is None:
            return None
        codes = {}
        for i in range(data[11]):
            code, off = struct.unpack_from(">HH", data, 12 + 4 * i)
            codes["%04x" % code] = struct.unpack_from(">I", data, off)[0]
        return {"status": status, "codes": codes, "aes67": data[0x53] if len(data) > 0x53 else None}

    def set_latency_netaudio(self, latency_ns):
        # netaudio command_set_latency, rewritten: its payload after our status field, with
        # the value's low three bytes at 0x20 (then a zero) and again at the end.
        v = struct.pack(">I", latency_ns)[1:]
        body = bytes.fromhex("0503 8205 0020 0211 0010 8301 0024 8219 8301 8302 8306") + v + b"\0" + v
        status, _ = self.request(0x1101, body)
        return status

    def set_rate(self, rate):
        body = struct.pack(">BBHHHHII", 2, 2, 0x8020, 20, 0x8301, 24, rate, 4000000)
        status, _ = self.request(0x1101, body)
        return status

    def set_device_name(self, name):
        # netaudio command_set_name: the name and a NUL right after the header; an empty
        # body (command_reset_name) resets to the default name.
        status, _ = self.request(0x1001, name.encode() + b"\0" if name else b"")
        return status


def client_main(argv):
    mode = argv[0]
    if mode == "arc":
        address = argv[1]
        arc = Arc(address)
        result = {"device_name": arc.device_name(), "counts": arc.counts(),
                  "tx_channels": arc.paged(0x2000, 8, 6), "tx_names": arc.paged(0x2010, 6, 4),
                  "rx": arc.rx_channels()}
        print(json.dumps(result))
    elif mode == "rename":
        address, channel, name = argv[1], int(argv[2]), argv[3]
        print(json.dumps({"status": Arc(address).rename_tx(channel, name)}))
    elif mode == "subscribe":
        address, rx, tx_channel, tx_device = argv[1], int(argv[2]), argv[3], argv[4]
        print(json.dumps({"status": Arc(address).subscribe(rx, tx_channel, tx_device)}))
    elif mode == "set-name":
        address, name = argv[1], argv[2]
        print(json.dumps({"status": Arc(address).set_device_name(name)}))
    elif mode == "settings":
        print(json.dumps(Arc(argv[1]).settings()))
    elif mode == "set-latency":
        print(json.dumps({"status": Arc(argv[1]).set_latency_netaudio(int(argv[2]))}))
    elif mode == "set-rate":
        print(json.dumps({"status": Arc(argv[1]).set_rate(int(argv[2]))}))
    elif mode == "conmon":
        # netaudio's settings requests (device_commands.py), rewritten: FFFF, length, sequence,
        # 0, MAC (6), 0, "Audinate", 07 3A, u16 opcode, u32 0x64, body; the answers come by
        # multicast to 224.0.0.231:8702 (services/notification.py).
        tx_address, local_address = argv[1], argv[2]
        listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listen.bind(("", INFO[1]))
        listen.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                          socket.inet_aton(INFO[0]) + socket.inet_aton(local_address))
        listen.settimeout(0.2)
        send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def request(opcode, body, seq):
            head = struct.pack(">HHHH", 0xFFFF, 32 + len(body), seq, 0) + b"\0" * 8 + b"Audinate" + b"\x07\x3a"
            return head + struct.pack(">HI", opcode, 0x64) + body

        answers = {}
        for opcode, body, seq in ((0x0013, b"\0" * 8, 1), (0x0021, b"\0" * 60, 0x21), (0x1006, b"\0" * 4, 0x1007),
                                  (0x0081, bytes.fromhex("00000001 00017700"), 0x3d4)):
            send.sendto(request(opcode, body, seq), (tx_address, SETTINGS_PORT))
            time.sleep(0.15)  # the device answers each kind at most every 100 ms
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                data, src = listen.recvfrom(2048)
            except socket.timeout:
                continue
            if src[0] != tx_address or len(data) < 32 or data[:2] != b"\xff\xff":
                continue
            at = data.find(b"Audinate", 4)
            op = struct.unpack_from(">H", data, at + 10)[0]
            if op == 0x0011:
                answers["interface"] = {
                    "count": struct.unpack_from(">H", data, 0x20)[0],
                    "mode": struct.unpack_from(">H", data, 0x28)[0],
                    "mac": ":".join("%02x" % b for b in data[0x2a:0x30]),
                    "ip": socket.inet_ntoa(data[0x30:0x34]), "netmask": socket.inet_ntoa(data[0x34:0x38]),
                    "device_id": data[8:16].hex()}
            elif op == 0x0020:
                answers["clock"] = {"preferred": data[0x26], "role": struct.unpack_from(">H", data, 0x48)[0],
                                    "own": data[0x2c:0x34].hex(), "leader": data[0x34:0x3c].hex()}
            elif op == 0x1007:
                answers["aes67"] = data[0x21]
            else:
                answers.setdefault("other", []).append("%04x" % op)
        print(json.dumps(answers))
    elif mode == "heartbeats":
        tx_address, local_address, seconds = argv[1], argv[2], float(argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", HEARTBEAT[1]))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     socket.inet_aton(HEARTBEAT[0]) + socket.inet_aton(local_address))
        s.settimeout(0.2)
        count, first, ports = 0, None, set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                continue
            if src[0] == tx_address:
                count += 1
                ports.add(src[1])
                first = first or data[:32].hex()
        print(json.dumps({"count": count, "first": first, "ports": sorted(ports)}))
    elif mode == "flood":
        address, port, n, seconds = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rng = random.Random(1234)
        start = time.monotonic()
        sent = 0
        for i in range(n):
            size = rng.choice((0, 1, 3, 9, 10, 11, 12, 40, 300, 1500))
            junk = bytes(rng.getrandbits(8) for _ in range(min(size, 64))) + b"\xff" * max(0, size - 64)
            if size >= 4:  # a header-ish start whose length field lies
                junk = struct.pack(">HH", 0x27FF, (size + 7) & 0xFFFF) + junk[4:]
            try:
                s.sendto(junk, (address, port))
                sent += 1
            except OSError:
                pass
            # pace to ~n per `seconds`
            ahead = (i + 1) * seconds / n - (time.monotonic() - start)
            if ahead > 0.002:
                time.sleep(ahead)
        print(json.dumps({"sent": sent, "seconds": time.monotonic() - start}))
    else:
        raise SystemExit("unknown client mode %r" % mode)


# --------------------------------------------------------------------------------------
# the test (runs in the root namespace)

def body():
    from pwlab import make_lab, parse_args, check, log, lab_args, SINK, EXIT_SKIP, LabError
    from netlab import NetLab
    import avahi

    a = parse_args(__doc__)
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    me = str(Path(__file__).resolve())
    work = Path(tempfile.mkdtemp(prefix="ctl-lab-"))
    try:
        with NetLab("ctl") as net, \
                avahi.on_both_sides(net, work) as (tx_host, rx_host):

            def in_rx(args, timeout=30):
                r = subprocess.run(["ip", "netns", "exec", net.rx, sys.executable, me, "--client"] + list(args),
                                   capture_output=True, text=True, timeout=timeout)
                if r.returncode != 0:
                    raise LabError("client %s failed: %s" % (args[0], r.stderr[-1500:]))
                return json.loads(r.stdout)

            def chan_services():
                return {e["name"]: e for e in rx_host.browse("_netaudio-chan._udp", timeout=5)}

            def wait_services(names, timeout=20):
                found = {}

                def ok():
                    found.clear()
                    found.update(chan_services())
                    return all(n in found for n in names)
                try:
                    lab.wait_for(ok, timeout, "mDNS instances %s" % ", ".join(names), interval=0.5)
                except LabError:
                    log("    seen: %s" % sorted(found))
                    raise
                return found

            def props():
                return lab.node_props(SINK)

            state_file = "@LABDIR@/state.json"
            # The Avahi publisher's life here (collision through the daemon, daemon restarts):
            # dante.mdns = avahi. The built-in responder has test_mdns_receiver.py.
            # Four RX channels, one subscribed by the config to a device that does not exist.
            args = lab_args(**{"dante.interface": net.tx_if, "dante.state-file": state_file, "dante.mdns": "avahi",
                               "dante.rx.channels": 4,
                               "dante.rx.subscriptions": [{"rx": 1, "tx-channel": "01", "tx-device": "stage-box"}]})
            with make_lab(a, module_args=args, with_pulse=False, cmd_prefix=tx_host.prefix()) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 15,
                             "dante.mdns.state = published (now %s)" % props().get("dante.mdns.state"))
                p = props()
                check(True, "the sink publishes over mDNS (dante.mdns.state = published, %s services)" %
                      p.get("dante.mdns.services"))

                # ---- mDNS from the receiver's host
                chans = wait_services(["01@lab-tx", "02@lab-tx"])
                for n, ch_id in (("01@lab-tx", "1"), ("02@lab-tx", "2")):
                    e = chans[n]
                    txt = dict(t.split("=", 1) if "=" in t else (t, None) for t in e["txt"])
                    log("    %s -> %s:%d host %s txt %s" % (n, e["address"], e["port"], e["host"], e["txt"]))
                    check(e["address"] == net.tx_addr and e["port"] == FLOW_PORT,
                          "%s resolves to %s:%d" % (n, net.tx_addr, FLOW_PORT))
                    check(txt.get("id") == ch_id and txt.get("rate") == "48000" and txt.get("enc") == "24" and
                          txt.get("nchan") == "2" and txt.get("latency_ns") == str(4000000) and
                          txt.get("fpp") == "32,2" and txt.get("txtvers") == "2" and txt.get("dbcp1") == "0x1102" and
                          "default" in txt,
                          "%s TXT has id=%s rate enc nchan latency_ns fpp txtvers dbcp1 default" % (n, ch_id))
                arc_s = [e for e in rx_host.browse("_netaudio-arc._udp", timeout=5) if e["name"] == "lab-tx"]
                cmc_s = [e for e in rx_host.browse("_netaudio-cmc._udp", timeout=5) if e["name"] == "lab-tx"]
                check(arc_s and arc_s[0]["port"] == ARC_PORT and arc_s[0]["address"] == net.tx_addr and
                      any(t.startswith("arcp_vers=") for t in arc_s[0]["txt"]),
                      "_netaudio-arc._udp lab-tx resolves to %s:%d with arcp_vers" % (net.tx_addr, ARC_PORT))
                tx_mac = subprocess.run(["ip", "netns", "exec", net.tx, "cat", "/sys/class/net/%s/address" % net.tx_if],
                                        capture_output=True, text=True, check=True).stdout.strip()
                dev_id = tx_mac.replace(":", "") + "0000"
                check(cmc_s and cmc_s[0]["port"] == 8800 and ("id=" + dev_id) in cmc_s[0]["txt"],
                      "_netaudio-cmc._udp lab-tx resolves on port 8800 with id=%s (the interface's MAC + 0000)" %
                      dev_id)

                # ---- ARC
                r = in_rx(["arc", net.tx_addr])
                log("    ARC: %s" % json.dumps(r))
                check(r["device_name"] and r["device_name"][1] == "lab-tx", "ARC 0x1002: device name lab-tx")
                check(r["counts"] and r["counts"]["tx"] == 2 and r["counts"]["rx"] == 4,
                      "ARC 0x1000: 2 TX channels, 4 RX (dante.rx.channels)")
                # stage-box does not exist: looked for (8, in progress) or not found (1, unresolved).
                rx1 = (r["rx"] or {}).get("1", [None] * 4)
                check(rx1[:3] == ["01", "01", "stage-box"] and rx1[3] in (1, 8) and
                      {k: v for k, v in r["rx"].items() if k != "1"} ==
                      {"2": ["02", "", "", 0], "3": ["03", "", "", 0], "4": ["04", "", "", 0]},
                      "ARC 0x3000: RX 1 subscribed to 01@stage-box (dante.rx.subscriptions), status %s (in progress "
                      "or unresolved: no such device)" % rx1[3])
                # A subscription to the device's own channel: it finds itself and receives its own
                # flow, as a Dante device may.
                rs = in_rx(["subscribe", net.tx_addr, "3", "02", "lab-tx"])
                r = in_rx(["arc", net.tx_addr])
                check(rs["status"] == 1 and r["rx"]["3"][:3] == ["03", "02", "lab-tx"],
                      "ARC 0x3010 subscribes RX 3 to 02@lab-tx; the next 0x3000 shows it (status %s)" % r["rx"]["3"][3])
                want_rx3 = '{ rx = 3 tx-channel = "02" tx-device = "lab-tx" status = receiving-unicast }'
                lab.wait_for(lambda: want_rx3 in str(lab.node_props(SINK).get("dante.rx.subscriptions")), 20,
                             "RX 3 to receive its own device's channel 02")
                subs = str(lab.node_props(SINK).get("dante.rx.subscriptions"))
                check(str(lab.node_props(SINK).get("dante.rx.channels")) == "4" and
                      ('{ rx = 1 tx-channel = "01" tx-device = "stage-box" status = ' in subs),
                      "node props: dante.rx.channels 4, dante.rx.subscriptions with both, RX 3 receiving (%s)" % subs)
                r = in_rx(["arc", net.tx_addr])
                check(r["rx"]["3"][3] == 0x01010009, "ARC 0x3000: RX 3 status 0x01010009 (receiving unicast)")
                check(r["tx_channels"] and r["tx_channels"]["names"] == {"1": "01", "2": "02"} and
                      r["tx_channels"]["rate"] == 48000, "ARC 0x2000: channels 01, 02 at 48000 Hz")
                check(r["tx_names"] and r["tx_names"]["names"] == {"1": "01", "2": "02"},
                      "ARC 0x2010: user names 01, 02")

                # ---- device settings (0x1100) and latency (0x1101)
                st = in_rx(["settings", net.tx_addr])
                log("    ARC 0x1100: %s" % st)
                check(st and st["status"] == 1 and st["codes"].get("8020") == 48000 and
                      st["codes"].get("8204") == 4000000 and st["aes67"] == 1,
                      "ARC 0x1100: sample rate 48000 (0x8020), latency 4000000 ns (0x8204), AES67 off")
                rs = in_rx(["set-latency", net.tx_addr, "2000000"])
                check(rs["status"] == 1, "ARC 0x1101 (netaudio's latency request, 2 ms) answered OK")
                st = in_rx(["settings", net.tx_addr])
                check(st["codes"].get("8204") == 2000000, "ARC 0x1100 now says latency 2000000 ns")
                lab.wait_for(lambda: str(props().get("dante.tx.latency-ns")) == "2000000", 5,
                             "dante.tx.latency-ns = 2000000")
                lab.wait_for(lambda: any("latency_ns=2000000" in e["txt"] for n, e in chan_services().items()
                                         if n == "01@lab-tx"), 15, "TXT latency_ns=2000000 on 01@lab-tx")
                check(True, "the node and mDNS (01@lab-tx latency_ns=2000000) advertise the new latency")
                rs = in_rx(["set-rate", net.tx_addr, "96000"])
                st = in_rx(["settings", net.tx_addr])
                check(rs["status"] == 0x0022 and st["codes"].get("8020") == 48000 and
                      st["codes"].get("8204") == 2000000,
                      "ARC 0x1101 to 96000 Hz refused with status 0x0022; rate and latency unchanged")

                # ---- conmon settings requests on 8700 (what netaudio probes)
                p = props()
                malformed, unsupported = int(p["dante.control.malformed"]), int(p["dante.control.unsupported"])
                cm = in_rx(["conmon", net.tx_addr, net.rx_addr])
                log("    conmon: %s" % cm)
                itf = cm.get("interface") or {}
                check(itf.get("count") == 1 and itf.get("mac") == tx_mac and itf.get("ip") == net.tx_addr and
                      itf.get("netmask") == "255.255.255.0" and itf.get("mode") == 3 and
                      itf.get("device_id") == dev_id,
                      "conmon 0x0013 -> 0x0011: MAC %s, %s/255.255.255.0, static, from device id %s" %
                      (tx_mac, net.tx_addr, dev_id))
                clk = cm.get("clock") or {}
                check(clk.get("role") in (0x0006, 0x0009) and clk.get("preferred") == 0 and clk.get("own") == dev_id,
                      "conmon 0x0021 -> 0x0020: PTP role 0x%04x (alone on its link: leader 0x0006), not preferred" %
                      (clk.get("role") or 0))
                check(cm.get("aes67") == 0 and "other" not in cm, "conmon 0x1006 -> 0x1007: AES67 off; nothing else")
                lab.wait_for(lambda: int(props()["dante.control.unsupported"]) == unsupported + 1, 5,
                             "dante.control.unsupported + 1")
                check(int(props()["dante.control.malformed"]) == malformed,
                      "the sample-rate request (0x0081) counts as unsupported; dante.control.malformed unchanged")

                # ---- heartbeats
                hb = in_rx(["heartbeats", net.tx_addr, net.rx_addr, "3"])
                check(hb["count"] >= 2 and hb["ports"] == [8700] and hb["first"].startswith("fffe"),
                      "%d heartbeats (start code 0xFFFE, from port 8700) arrived on 224.0.0.233:8708 in 3 s" %
                      hb["count"])

                # ---- rename
                rn = in_rx(["rename", net.tx_addr, "1", "Vocals"])
                check(rn["status"] == 1, "ARC 0x2013 rename of channel 1 to Vocals answered OK")
                r = in_rx(["arc", net.tx_addr])
                check(r["tx_names"]["names"] == {"1": "Vocals", "2": "02"}, "ARC 0x2010 now lists Vocals, 02")
                check(r["tx_channels"]["names"] == {"1": "01", "2": "02"}, "ARC 0x2000 keeps the factory names")
                chans = wait_services(["Vocals@lab-tx", "01@lab-tx", "02@lab-tx"])
                txt = chans["Vocals@lab-tx"]["txt"]
                check("id=1" in txt and "default" not in txt and chans["Vocals@lab-tx"]["port"] == FLOW_PORT,
                      "mDNS: Vocals@lab-tx (id=1, no default) beside 01@lab-tx")
                check(int(props().get("dante.control.renames", 0)) == 2,
                      "dante.control.renames = 2 (the latency change and this rename)")
                check((lab.tmp / "state.json").exists(), "the state file was written")

                # ---- a name collision: another host already announces Guitar@lab-tx
                squatter = subprocess.Popen(rx_host.prefix() + ["avahi-publish", "-s", "Guitar@lab-tx",
                                                                "_netaudio-chan._udp", "4455", "squatter=1"],
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                            start_new_session=True)
                try:
                    line = squatter.stdout.readline()
                    check("Established" in line, "another host announces Guitar@lab-tx (%s)" % line.strip())
                    collisions = int(props().get("dante.mdns.collisions", 0))
                    rn = in_rx(["rename", net.tx_addr, "2", "Guitar"])
                    check(rn["status"] == 1, "ARC 0x2013 rename of channel 2 to Guitar answered OK")
                    lab.wait_for(lambda: int(props().get("dante.mdns.collisions", 0)) > collisions, 15,
                                 "the collision to be counted")
                    p = props()
                    check(p.get("dante.mdns.state") == "collision",
                          "the collision is reported (dante.mdns.state = collision, last error: %s)" %
                          p.get("dante.mdns.last-error"))
                    r = in_rx(["arc", net.tx_addr])
                    check(r["device_name"][1] == "lab-tx" and "dante.device-name" in p and
                          p["dante.device-name"] == "lab-tx", "the device keeps its name lab-tx")
                    chans = chan_services()
                    check("Guitar@lab-tx" in chans and "squatter=1" in chans["Guitar@lab-tx"]["txt"] and
                          "Vocals@lab-tx" in chans and "02@lab-tx" in chans,
                          "the squatter keeps Guitar@lab-tx; our other instances stay published")
                finally:
                    lab._kill(squatter)
                    squatter.stdout.close()
                rn = in_rx(["rename", net.tx_addr, "2", ""])
                check(rn["status"] == 1, "channel 2 reset to its factory name")
                lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 15, "mDNS published again")
                check(True, "after the reset every instance is published again")

                # ---- device rename: every service moves to the new name, and back
                rn = in_rx(["set-name", net.tx_addr, "lab-tx2"])
                check(rn["status"] == 1, "ARC 0x1001 rename of the device to lab-tx2 answered OK")
                chans = wait_services(["Vocals@lab-tx2", "01@lab-tx2", "02@lab-tx2"])
                check(chans["01@lab-tx2"]["address"] == net.tx_addr and chans["01@lab-tx2"]["host"] == "lab-tx2.local",
                      "mDNS: the channels move to @lab-tx2, SRV target lab-tx2.local -> %s" % net.tx_addr)
                check(props().get("dante.device-name") == "lab-tx2", "the node reports dante.device-name = lab-tx2")
                lab.wait_for(lambda: props().get("node.description") == "Dante Transmitter (lab-tx2)", 5,
                             "node.description = Dante Transmitter (lab-tx2) (now %s)" % props().get("node.description"))
                check(True, "pw-dump: node.description follows the rename (Dante Transmitter (lab-tx2))")
                rn = in_rx(["set-name", net.tx_addr, ""])
                r = in_rx(["arc", net.tx_addr])
                check(rn["status"] == 1 and r["device_name"][1] == "lab-tx",
                      "ARC 0x1001 reset: the device is lab-tx again")
                wait_services(["Vocals@lab-tx", "01@lab-tx", "02@lab-tx"])
                lab.wait_for(lambda: props().get("dante.device-name") == "lab-tx", 5, "dante.device-name = lab-tx")
                lab.wait_for(lambda: props().get("node.description") == "Dante Transmitter (lab-tx)", 5,
                             "node.description back to Dante Transmitter (lab-tx)")

                # ---- flood
                before = int(props().get("dante.control.rate-limited", 0))
                fl = in_rx(["flood", net.tx_addr, str(ARC_PORT), "10000", "3"], timeout=60)
                log("    flood: %s" % fl)
                check(lab.procs["pipewire"].poll() is None, "pipewire is alive after the flood")
                time.sleep(2.5)  # let the flooder's bucket refill: it is the ARC client's address too
                r = in_rx(["arc", net.tx_addr])
                check(r["device_name"] and r["device_name"][1] == "lab-tx" and
                      r["tx_names"]["names"] == {"1": "Vocals", "2": "02"},
                      "ARC still answers after the flood")
                lab.wait_for(lambda: int(props().get("dante.control.rate-limited", 0)) - before >= 5000, 5,
                             "the rate limiter to count the flood")
                p = props()
                check(True, "rate limiter counted %d of %d flood datagrams (malformed %s, requests %s)" % (
                    int(p["dante.control.rate-limited"]) - before, fl["sent"], p.get("dante.control.malformed"),
                    p.get("dante.control.requests")))

                # ---- restart: the renames and the latency persist
                rn = in_rx(["set-name", net.tx_addr, "lab-tx3"])
                check(rn["status"] == 1, "device renamed to lab-tx3 before the restart")
                for name in ("wireplumber", "pipewire"):
                    lab._kill(lab.procs.get(name))
                check(True, "PipeWire stopped")
                lab.start_pipewire()
                lab._start_wireplumber()
                lab.wait_node(SINK, timeout=10)
                r = in_rx(["arc", net.tx_addr])
                check(r["tx_names"] and r["tx_names"]["names"] == {"1": "Vocals", "2": "02"},
                      "after a PipeWire restart ARC 0x2010 still lists Vocals (state file)")
                check(r["device_name"] and r["device_name"][1] == "lab-tx3", "ARC 0x1002: still lab-tx3")
                check(r["rx"] and r["rx"]["1"][1:3] == ["01", "stage-box"] and r["rx"]["3"][1:3] == ["02", "lab-tx"],
                      "ARC 0x3000 after the restart: the configured and the controller's subscriptions")
                p = props()
                check(p.get("node.description") == "Dante Transmitter (lab-tx3)",
                      "pw-dump after the restart: node.description = %s (the saved name wins)" %
                      p.get("node.description"))
                st = in_rx(["settings", net.tx_addr])
                check(st["codes"].get("8204") == 2000000 and str(p.get("dante.tx.latency-ns")) == "2000000",
                      "after the restart the latency is still 2000000 ns (ARC 0x1100, dante.tx.latency-ns)")
                lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 15, "mDNS published again")
                wait_services(["Vocals@lab-tx3", "01@lab-tx3", "02@lab-tx3"])
                check(True, "after the restart mDNS advertises Vocals@lab-tx3, 01@lab-tx3, 02@lab-tx3")

                # ---- avahi-daemon restart: the module registers again
                reconnects = int(props().get("dante.mdns.reconnects", 0))
                pw_pid = lab.procs["pipewire"].pid
                os.kill(tx_host.pid, 15)   # our avahi-daemon (the host's dbus-daemon stays)
                tx_host.proc.wait(timeout=10)
                lab.wait_for(lambda: props().get("dante.mdns.state") == "unavailable", 10, "mDNS unavailable")
                check(True, "avahi-daemon stopped: dante.mdns.state = unavailable, the sink still loaded")
                # a new avahi-daemon in the same mount + network namespace (that of pipewire)
                again = lab.spawn(["nsenter", "-t", str(pw_pid), "-m", "-n", "avahi-daemon", "--no-chroot",
                                   "--no-drop-root", "--no-rlimits", "-f", str(tx_host.conf)], name="avahi-again")
                lab.wait_for(lambda: props().get("dante.mdns.state") == "published", 20,
                             "mDNS published after the daemon came back")
                check(int(props().get("dante.mdns.reconnects", 0)) > reconnects,
                      "the module reconnected to the new avahi-daemon (dante.mdns.reconnects %s)" %
                      props().get("dante.mdns.reconnects"))
                wait_services(["Vocals@lab-tx3", "01@lab-tx3", "02@lab-tx3"])
                check(True, "after the avahi-daemon restart the receiver resolves every instance again")
                lab._kill(again)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from pwlab import main_with_client
    sys.exit(main_with_client(body, client_main))
