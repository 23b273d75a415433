#!/usr/bin/env python3
"""CPU cost of transmitting, ours vs PipeWire's libpipewire-module-rtp-sink (run by bench/tx_cpu.sh).

For each rate R and channel count C: two private PipeWire daemons, one after the other,
in the same network namespaces (a veth pair tx <-> rx, nothing leaves the machine):
  dante: libpipewire-module-dante-sink bound to the tx veth, audio.channels = C (C > 64:
         ceil(C/64) module instances of 64, on separate ports); one dante-rx per flow of
         up to 8 channels in the rx namespace (fpp 32, S24, as Inferno's receivers ask);
  rtp:   ceil(C/8) libpipewire-module-rtp-sink instances of up to 8 channels each, S24BE,
         unicast to the rx namespace, packet time 32 frames (net.mtu = 32 x frame bytes,
         sess.min-ptime = 0, sess.max-ptime = 1 ms: psamples = mtu/frame clamped to the
         ptime range, so 32); a Python drain reads the ports in the rx namespace.
In both, pw-cat plays a C-channel (<= 64 per pw-cat) S24 noise file and is linked with
pw-link (no session manager). After a warm-up, the pipewire process's utime+stime
(/proc/PID/stat) is read over a fixed window; so are the veth's tx packets (the check that
both send the same packets/s). Prints a markdown table and a JSON line per run.

--lateness: additionally one dante run (16 ch at 48 kHz, 2 flows) for --lat-seconds,
idle and with both cores loaded (`yes > /dev/null` x nproc), dante-rx at SCHED_FIFO 50 so
the receiver's own scheduling is not what is measured; reports dante-rx's arrival
lateness and the transmitter's own send-lateness histogram.

Only processes started here are signalled (by process group); everything is removed on exit.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM_SPA = "/usr/lib/x86_64-linux-gnu/spa-0.2"
SYSTEM_MOD = "/usr/lib/x86_64-linux-gnu/pipewire-0.3"
TICK = os.sysconf("SC_CLK_TCK")
FPP = 32

DRAIN = r'''
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE
    s.bind((sys.argv[1], int(port)))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            while True:
                key.fileobj.recv(65536)
        except BlockingIOError:
            pass
'''


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, a):
        self.a = a
        self.build = Path(a.build).resolve()
        self.dante_rx = self.build / "tools" / "dante-rx" / "dante-rx"
        self.tmp = Path(tempfile.mkdtemp(prefix="dante-txcpu-"))
        self.groups = []  # our process groups
        pid = os.getpid()
        self.txns, self.rxns = "btx-%d" % pid, "brx-%d" % pid
        self.txif, self.rxif = "bt%d" % pid, "br%d" % pid
        n = pid % 200 + 20
        self.txaddr, self.rxaddr = "10.78.%d.1" % n, "10.78.%d.2" % n

    # ------------------------------------------------------------ plumbing
    def ip(self, *args, check=True):
        return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10, check=check)

    def net_up(self):
        self.ip("netns", "add", self.txns)
        self.ip("netns", "add", self.rxns)
        self.ip("link", "add", self.txif, "type", "veth", "peer", "name", self.rxif)
        self.ip("link", "set", self.txif, "netns", self.txns)
        self.ip("link", "set", self.rxif, "netns", self.rxns)
        for ns, ifn, addr in ((self.txns, self.txif, self.txaddr), (self.rxns, self.rxif, self.rxaddr)):
            self.ip("-n", ns, "addr", "add", addr + "/24", "dev", ifn)
            self.ip("-n", ns, "link", "set", "lo", "up")
            self.ip("-n", ns, "link", "set", ifn, "up")
            self.ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifn)

    def close(self):
        for pg in reversed(self.groups):
            self.kill(pg)
        for ns in (self.txns, self.rxns):
            self.ip("netns", "del", ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kill(self, p, grace=3.0):
        if p.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                return
            try:
                p.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                pass

    def spawn(self, cmd, env=None, logname="proc"):
        f = open(self.tmp / ("%s.log" % logname), "ab")
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=str(self.tmp))
        f.close()
        self.groups.append(p)
        return p

    def env(self, run):
        e = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        e.update({
            "XDG_RUNTIME_DIR": str(run / "run"),
            "XDG_CONFIG_HOME": str(run / "config"),
            "XDG_STATE_HOME": str(run / "state"),
            "SPA_PLUGIN_DIR": "%s:%s" % (self.build / "spa-plugin", SYSTEM_SPA),
            "PIPEWIRE_MODULE_DIR": "%s:%s" % (self.build / "module", SYSTEM_MOD),
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=%s" % (run / "run" / "bus"),
            "PIPEWIRE_DEBUG": "1",
        })
        return e

    def start_daemon(self, name, conf):
        run = self.tmp / name
        (run / "run").mkdir(parents=True)
        os.chmod(run / "run", 0o700)
        d = run / "config" / "pipewire" / "pipewire.conf.d"
        d.mkdir(parents=True)
        (d / "bench.conf").write_text(conf)
        env = self.env(run)
        p = self.spawn(["ip", "netns", "exec", self.txns, "pipewire"], env=env, logname=name + "-pipewire")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("pipewire exited: " + (self.tmp / (name + "-pipewire.log")).read_text()[-2000:])
            if (run / "run" / "pipewire-0").exists() and subprocess.run(
                    ["pw-cli", "info", "0"], env=env, capture_output=True, timeout=5).returncode == 0:
                return p, env
            time.sleep(0.2)
        raise RuntimeError("pipewire did not start")

    def ports(self, env, direction, node):
        out = subprocess.run(["pw-link", "-o" if direction == "out" else "-i"], env=env, capture_output=True,
                             text=True, timeout=10).stdout.split("\n")
        return [ln.strip() for ln in out if ln.strip().startswith(node + ":")]

    def wait_ports(self, env, direction, node, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.ports(env, direction, node)
            if len(got) >= n:
                return got
            time.sleep(0.2)
        raise RuntimeError("node %s has %d/%d %s ports" % (node, len(self.ports(env, direction, node)), n, direction))

    @staticmethod
    def positions(c):
        return ["FL", "FR"] if c == 2 else ["AUX%d" % i for i in range(c)]

    def dsp_ports(self, env, node, direction, c, rate):
        """No session manager here: put a stream node into dsp mode ourselves (PortConfig),
        as wireplumber would, so it gets one port per channel; then wait for them."""
        conf = ("{ direction = %s mode = dsp format = { mediaType = audio mediaSubtype = raw format = F32P "
                "rate = %d channels = %d position = [ %s ] } }" % (
                    "Output" if direction == "out" else "Input", rate, c, " ".join(self.positions(c))))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = self.ports(env, direction, node)
            if len(got) >= c:
                return got
            subprocess.run(["pw-cli", "s", node, "PortConfig", conf], env=env, capture_output=True, timeout=10)
            time.sleep(0.3)
        return self.wait_ports(env, direction, node, c, timeout=1)

    def link(self, env, outs, ins):
        for o, i in zip(outs, ins):
            subprocess.run(["pw-link", o, i], env=env, capture_output=True, timeout=10, check=True)

    def signal_file(self, rate, ch, seconds):
        path = self.tmp / ("noise-%d-%d.wav" % (rate, ch))
        if not path.exists():
            subprocess.run(["sox", "-n", "-r", str(rate), "-b", "24", "-e", "signed-integer", "-c", str(ch),
                            "-t", "wavpcm", str(path), "synth", str(seconds), "whitenoise", "vol", "0.5"],
                           check=True, timeout=300)
        return path

    def play(self, env, rate, ch, seconds, tag, latency=None):
        """pw-cat instances (<= 64 channels each), unlinked; returns (procs, node names)."""
        procs, names = [], []
        for g in range((ch + 63) // 64):
            c = min(ch - 64 * g, 64)
            name = "bench-play-%d" % g
            f = self.signal_file(rate, c, seconds)
            procs.append(self.spawn(["timeout", str(seconds + 30), "pw-cat", "--playback", "--target", "0",
                                     "--channels", str(c), "--channel-map", ",".join(self.positions(c)),
                                     "-P", "{ node.name = %s }" % name] + (["--latency", str(latency)] if latency else [])
                                    + [str(f)], env=env, logname=tag + "-pwcat"))
            names.append((name, c))
        return procs, names

    # ------------------------------------------------------------ measurement
    @staticmethod
    def cpu_ticks(pid):
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)

    @staticmethod
    def thread_ticks(pid, comm):
        total = 0
        for t in Path("/proc/%d/task" % pid).iterdir():
            try:
                if (t / "comm").read_text().strip() == comm:
                    f = (t / "stat").read_text().rsplit(")", 1)[1].split()
                    total += int(f[11]) + int(f[12])
            except FileNotFoundError:
                pass
        return total

    def tx_packets(self):
        r = subprocess.run(["ip", "netns", "exec", self.txns, "cat", "/sys/class/net/%s/statistics/tx_packets" % self.txif],
                           capture_output=True, text=True, timeout=5)
        return int(r.stdout.strip())

    def measure(self, pid, window, thread=None):
        c0, p0, t0 = self.cpu_ticks(pid), self.tx_packets(), time.monotonic()
        th0 = self.thread_ticks(pid, thread) if thread else 0
        time.sleep(window)
        c1, p1, t1 = self.cpu_ticks(pid), self.tx_packets(), time.monotonic()
        th1 = self.thread_ticks(pid, thread) if thread else 0
        dt = t1 - t0
        return {"cpu_pct": 100.0 * (c1 - c0) / TICK / dt, "pkts_per_s": (p1 - p0) / dt,
                "thread_pct": 100.0 * (th1 - th0) / TICK / dt if thread else None, "window_s": dt}

    # ------------------------------------------------------------ the two sides
    def context_props(self, rate):
        return ("context.properties = { default.clock.rate = %d default.clock.allowed-rates = [ %d ] }\n" %
                (rate, rate))

    def run_dante(self, rate, ch, window, extra_rx=(), rx_prefix=(), tag=None):
        tag = tag or "dante-%d-%d" % (rate, ch)
        groups = (ch + 63) // 64
        mods = []
        for g in range(groups):
            c = min(ch - 64 * g, 64)
            port_base = 0 if g == 0 else 14000 + 10 * g
            mods.append('  { name = libpipewire-module-dante-sink args = { dante.device-name = "bench-%d" '
                        'dante.interface = "%s" audio.channels = %d audio.rate = %d dante.clock.source = "tai" '
                        'dante.port-base = %d } }' % (g, self.txif, c, rate, port_base))
        conf = self.context_props(rate) + "context.modules = [\n" + "\n".join(mods) + "\n]\n"
        seconds = int(self.a.warmup + window + 8)
        for g in range(groups):  # before any receiver starts its window: sox takes a while
            self.signal_file(rate, min(ch - 64 * g, 64), seconds + 5)
        daemon, env = self.start_daemon(tag, conf)
        rxs = []
        try:
            for g in range(groups):
                c = min(ch - 64 * g, 64)
                port = 4455 if g == 0 else 14000 + 10 * g + 2
                for first in range(1, c + 1, 8):
                    chans = ",".join(str(x) for x in range(first, min(first + 8, c + 1)))
                    k = len(rxs)
                    rxs.append((self.spawn(list(rx_prefix) + [
                        "ip", "netns", "exec", self.rxns, str(self.dante_rx), "--address",
                        "%s:%d" % (self.txaddr, port), "--channels", chans, "--seconds", str(seconds),
                        "--fpp", str(FPP), "--rate", str(rate), "--wav", "/dev/null", "--stats", str(self.tmp / ("%s-rx%d.json" % (tag, k)))]
                        + list(extra_rx), logname=tag + "-rx"), k))
            procs, names = self.play(env, rate, ch, seconds + 5, tag, latency=self.a.dante_latency)
            for g, (name, c) in enumerate(names):
                outs = self.dsp_ports(env, name, "out", c, rate)
                ins = self.dsp_ports(env, "dante_sink.bench-%d" % g, "in", c, rate)
                self.link(env, outs, ins)
            time.sleep(self.a.warmup)
            m = self.measure(daemon.pid, window, thread="dante-flows-tx")
            m["flows"] = len(rxs)
            props = self.node_props(env, "dante_sink.bench-0")
            m["tx_late_histogram"] = props.get("dante.tx.late-histogram")
            m["tx_underruns"] = props.get("dante.tx.underruns")
            m["tx_send_errors"] = props.get("dante.tx.send-errors")
            m["quantum_hint"] = self.node_props(env, "bench-play-0").get("node.latency")
            rx_stats = []
            for p, k in rxs:
                try:
                    p.wait(timeout=seconds + 30)
                except subprocess.TimeoutExpired:
                    pass
                f = self.tmp / ("%s-rx%d.json" % (tag, k))
                rx_stats.append(json.loads(f.read_text()) if f.exists() else None)
            m["rx"] = rx_stats
            for p in procs:
                self.kill(p)
            return m
        finally:
            for p, _ in rxs:
                self.kill(p)
            self.kill(daemon)

    def node_props(self, env, name):
        out = subprocess.run(["pw-dump"], env=env, capture_output=True, text=True, timeout=10).stdout
        for o in json.loads(out or "[]"):
            props = ((o.get("info") or {}).get("props") or {})
            if o.get("type") == "PipeWire:Interface:Node" and props.get("node.name") == name:
                return props
        return {}

    def run_rtp(self, rate, ch, window):
        tag = "rtp-%d-%d" % (rate, ch)
        sinks = []  # (pw-cat group, first channel index within it, channels)
        for g in range((ch + 63) // 64):
            c = min(ch - 64 * g, 64)
            for first in range(0, c, 8):
                sinks.append((g, first, min(8, c - first)))
        mods = []
        for k, (_, _, c) in enumerate(sinks):
            frame = 3 * c
            mods.append('  { name = libpipewire-module-rtp-sink args = { source.ip = "%s" destination.ip = "%s" '
                        'destination.port = %d net.mtu = %d sess.min-ptime = 0 sess.max-ptime = 1 '
                        'audio.format = "S24BE" audio.rate = %d audio.channels = %d '
                        'audio.position = [ %s ] stream.props = { node.name = "rtp-bench-%d" } } }' % (
                            self.txaddr, self.rxaddr, 46000 + 2 * k, FPP * frame, rate, c,
                            " ".join(self.positions(c)), k))
        conf = self.context_props(rate) + "context.modules = [\n" + "\n".join(mods) + "\n]\n"
        daemon, env = self.start_daemon(tag, conf)
        drain = self.spawn(["ip", "netns", "exec", self.rxns, "python3", "-c", DRAIN, self.rxaddr] +
                           [str(46000 + 2 * k) for k in range(len(sinks))], logname=tag + "-drain")
        seconds = int(self.a.warmup + window + 8)
        try:
            procs, names = self.play(env, rate, ch, seconds + 5, tag)
            outs_by_group = [self.dsp_ports(env, name, "out", c, rate) for name, c in names]
            for k, (g, first, c) in enumerate(sinks):
                ins = self.dsp_ports(env, "rtp-bench-%d" % k, "in", c, rate)
                self.link(env, outs_by_group[g][first:first + c], ins)
            time.sleep(self.a.warmup)
            m = self.measure(daemon.pid, window)
            m["flows"] = len(sinks)
            m["quantum_hint"] = self.node_props(env, "rtp-bench-0").get("node.latency")
            for p in procs:
                self.kill(p)
            return m
        finally:
            self.kill(drain)
            self.kill(daemon)


def lat_str(l):
    return "%.0f / %.0f / %.0f / %.0f" % (l["p50"], l["p99"], l["p999"], l["max"])


def merge_lateness(rx):
    """Worst receiver's percentiles (each dante-rx reports its own)."""
    ok = [r for r in rx if r]
    if not ok:
        return None
    return {k: max(r["lateness_us"][k] for r in ok) for k in ("p50", "p99", "p999", "max")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--rates", default="48000 96000")
    ap.add_argument("--channels", default="2 16 64 128")
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--lateness", action="store_true")
    ap.add_argument("--lat-seconds", type=float, default=30.0)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--dante-latency", type=int, default=None,
                    help="pw-cat --latency (frames) for the dante runs; default: pw-cat's own (100 ms)")
    a = ap.parse_args()
    b = Bench(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        b.net_up()
        print("# tx_cpu %s: %d cores, loadavg before %s" % (time.strftime("%FT%TZ", time.gmtime()), os.cpu_count(),
                                                          Path("/proc/loadavg").read_text().split()[:3]))
        rows = []
        if not a.skip_cpu:
            for rate in [int(x) for x in a.rates.split()]:
                for ch in [int(x) for x in a.channels.split()]:
                    log("rate %d, %d channels: dante" % (rate, ch))
                    d = b.run_dante(rate, ch, a.window)
                    log("rate %d, %d channels: rtp-sink" % (rate, ch))
                    r = b.run_rtp(rate, ch, a.window)
                    lost = sum(x["lost"] for x in d["rx"] if x) if all(d["rx"]) else "rx failed"
                    row = {"rate": rate, "channels": ch, "dante": d, "rtp": r, "rx_lost": lost,
                           "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
                    print("JSON " + json.dumps(row), flush=True)
                    rows.append(row)
            print()
            print("| rate | ch | flows/sinks | dante CPU % (tx thread) | rtp-sink CPU % | **ours/rtp** | pkts/s dante | pkts/s rtp (expected) | dante rx lost | rx lateness p50/p99/p99.9/max µs | node.latency dante / rtp | loadavg |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
            for row in rows:
                d, r = row["dante"], row["rtp"]
                ratio = d["cpu_pct"] / r["cpu_pct"] if r["cpu_pct"] > 0 else float("inf")
                lat = merge_lateness(d["rx"])
                print("| %d | %d | %d / %d | %.2f (%.2f) | %.2f | **%.2f** | %.0f | %s | %s | %s | %s | %s |" % (
                    row["rate"], row["channels"], d["flows"], r["flows"], d["cpu_pct"], d["thread_pct"],
                    r["cpu_pct"], ratio, d["pkts_per_s"], "%.0f (%d)" % (r["pkts_per_s"], d["flows"] * row["rate"] // FPP), row["rx_lost"],
                    lat_str(lat) if lat else "-", "%s / %s" % (d["quantum_hint"], r["quantum_hint"]),
                    " ".join(row["loadavg"])))
        if a.lateness:
            print()
            print("| load | receivers | rx lateness p50 / p99 / p99.9 / max µs (worst receiver) | rx lost | "
                  "tx send-late histogram <100µs,<250µs,<500µs,<1ms,<2ms,<5ms,≥5ms | loadavg |")
            print("|---|---:|---|---:|---|---|")
            for load in ("idle", "loaded"):
                hogs = []
                if load == "loaded":
                    hogs = [b.spawn(["sh", "-c", "exec yes > /dev/null"], logname="hog") for _ in range(os.cpu_count())]
                try:
                    log("lateness, %s" % load)
                    d = b.run_dante(48000, 16, a.lat_seconds, rx_prefix=["chrt", "-f", "50"], tag="lat-" + load)
                finally:
                    for h in hogs:
                        b.kill(h)
                lat = merge_lateness(d["rx"])
                lost = sum(x["lost"] for x in d["rx"] if x)
                print("JSON " + json.dumps({"lateness": load, "dante": d}), flush=True)
                print("| %s | %d | %s | %s | %s | %s |" % (load, d["flows"], lat_str(lat) if lat else "-", lost,
                                                       d["tx_late_histogram"],
                                                       " ".join(Path("/proc/loadavg").read_text().split()[:3])))
    finally:
        b.close()


if __name__ == "__main__":
    main()
