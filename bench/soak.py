#!/usr/bin/env python3
"""Fault soak (issue #14 item 6): one transmitter, several receivers, faults at random
moments from a fixed seed, for --minutes (default 60).

The netns lab of tests/integration (docs/testing.md): a transmitter namespace with its own
avahi-daemon and our PipeWire session (the Dante sink with `dante.mdns = avahi`,
`dante.clock.source` = --clock, the ring tap on), a receiver namespace with its own
avahi-daemon (and with --clock ptp a ptp-test-leader, PTPv1, that the sink follows). A
pacat player feeds noise into the sink all the time; a null sink (`soak-null`) is there
to move streams to. ARC creates multicast flow 1 = channels [1, 2].

The run alternates a steady interval (a length drawn from the seed) and a fault:
  * steady: two unicast dante-rx (--address, channels 1,2) and one multicast dante-rx
    (--device lab-tx, which joins bundle 1 through mDNS) record the whole interval; each
    must be gap-free (no packet lost, duplicated, reordered, malformed; multicast really
    joined) and bit-exact: every frame equals what the graph wrote into the ring at that
    position (ring tap), and the tap's positions are contiguous (no transmitter stall);
  * a fault from FAULTS (each kind once per round, the order of a round shuffled by the
    seed), which must reach its defined end state within its limit; the time it took is
    recorded as its recovery.
Every 10 s the pipewire process's RSS, open fds and threads are sampled. A pipewire exit,
an assertion or a sanitizer report in its log fails the run.

Writes DIR/soak.json (faults, intervals, samples, summary), DIR/samples.csv and
DIR/faults.csv (--out DIR, default ./soak-<pid>) and prints the summary: worst recovery
per fault kind, RSS/fd/thread slopes after the warm-up. Exit 0 when every fault recovered,
every steady interval was bit-exact and gap-free and the fds did not grow; 1 otherwise;
77 when avahi-daemon is missing. `integration-soak_short` runs it for 4.5 minutes.
"""
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
LAB = Path(__file__).resolve().parent.parent / "tests" / "integration"
sys.path.insert(0, str(LAB))
from pwlab import (build_dir, built_program, make_lab, parse_args, main_wrapper, check, log,  # noqa: E402
                   lab_args, SINK, DEVICE, EXIT_SKIP, fake_sink_conf, make_wav, read_tap_from, tap_runs,
                   wav_s24x2, wire_vs_tap, LabError, CheckFailed)
from netlab import NetLab  # noqa: E402
from mcast_client import arc_steps  # noqa: E402
from ptp_lab import Leader, require_binaries  # noqa: E402
import avahi  # noqa: E402

NULL_SINK = "soak-null"
MCAST_SLOT = 1
BASE_FLOWS = 1         # the multicast flow; receivers between faults stop theirs on exit
SAMPLE_EVERY = 10.0


class Soak:
    """The lab of one run and what it recorded."""

    def __init__(self, a, net, lab, tx_host, rx_host, dante_rx, out, leader=None):
        self.a, self.net, self.lab, self.tx_host, self.rx_host = a, net, lab, tx_host, rx_host
        self.dante_rx, self.out, self.leader = dante_rx, out, leader
        self.t_start = time.monotonic()
        self.pw = lab.procs["pipewire"]
        self.tap = lab.tmp / "tap.bin"
        self.tap_offset = 0
        self.tap_tail = []     # the last records of the previous read (a window may start there)
        self.faults, self.intervals, self.samples = [], [], []
        self.machine_stalls = 0  # steady intervals passed under --tolerate-machine-stalls
        self.quiet = []        # fds/RSS at the end of each steady interval (no client of ours)
        self.n = 0             # receivers started (file names)
        self.stop_sampler = threading.Event()

    def now(self):
        return round(time.monotonic() - self.t_start, 3)

    # ---------------- the transmitter's state
    def props(self):
        # pw-dump can print a second document when the graph changes while it dumps
        # (seen during client churn): ask again rather than fail the fault
        for _ in range(5):
            node = self.lab.find_node(SINK, self.lab.pw_dump(quiet=True) or [])
            if node:
                return node["info"]["props"]
            time.sleep(0.2)
        raise LabError("node %s not found" % SINK)

    def flows(self):
        return int(self.props().get("dante.flows", -1))

    def alive(self):
        return self.pw.poll() is None

    def sample(self, into=None):
        pid = self.pw.pid
        try:
            status = Path("/proc/%d/status" % pid).read_text()
            fds = len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            return
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        (self.samples if into is None else into).append({"t": self.now(), "rss_kb": rss, "fds": fds,
                                                         "threads": threads})

    def sampler(self):
        while not self.stop_sampler.wait(SAMPLE_EVERY if self.samples else 0):
            self.sample()

    # ---------------- receivers
    def start_rx(self, kind, seconds, channels="1,2", address=None):
        """A dante-rx in the receiver namespace: "unicast" asks the sink's address (or
        `address`) for a flow; "multicast" resolves lab-tx through mDNS and joins bundle 1."""
        self.n += 1
        wav, stats = self.lab.work / ("rx%d.wav" % self.n), self.lab.work / ("rx%d.json" % self.n)
        if kind == "multicast":
            cmd = self.rx_host.prefix() + [str(self.dante_rx), "--device", DEVICE]
        else:
            cmd = ["ip", "netns", "exec", self.net.rx, str(self.dante_rx), "--address", address or self.net.tx_addr,
                   "--format", "S24"]
        p = self.lab.spawn(cmd + ["--channels", channels, "--seconds", str(seconds),
                                  "--wav", str(wav), "--stats", str(stats)], name="rx-%s" % kind)
        p.kind, p.wav, p.stats = kind, wav, stats
        return p

    def rx_log(self, p):
        return self.lab._read(p.lab_log)

    def granted(self, p):
        """dante-rx has its flow (unicast) or joined the group (multicast)."""
        text = self.rx_log(p)
        return "flow granted" in text or "joining it on" in text or p.poll() is not None

    def judge_rx(self, p, recs, allow_idle=0):
        """The verdict on a finished recording: gap-free and bit-exact against the tap."""
        r = {"kind": p.kind, "rc": p.returncode}
        if p.returncode != 0 or not p.stats.exists():
            r.update(ok=False, why="dante-rx failed: " + self.rx_log(p)[-300:])
            return r
        st = json.loads(p.stats.read_text())
        r.update({k: st.get(k) for k in ("transport", "packets", "lost", "duplicated", "reordered", "malformed",
                                         "first_timestamp", "frames")})
        why = []
        if st["packets"] <= 0 or st["lost"] or st["duplicated"] or st["reordered"] or st["malformed"]:
            why.append("not gap-free")
        if st.get("transport") != p.kind:
            why.append("transport %s" % st.get("transport"))
        received = wav_s24x2(p.wav) if st["packets"] > 0 else b""
        compared, differing, first_bad = wire_vs_tap(recs, received, st["first_timestamp"], st["frames"])
        idle, loud = idle_frames(recs, received, st["first_timestamp"], st["frames"])
        r.update(compared=compared, differing=differing, idle=idle, idle_not_silent=loud)
        if differing or loud or compared + idle != st["frames"]:
            why.append("not bit-exact: %d of %d frames compared, %d differ (first at %s); %d frames the graph "
                       "did not write, %d of them not silent" % (compared, st["frames"], differing, first_bad,
                                                                  idle, loud))
        if idle > allow_idle:
            why.append("%d frames the graph did not write (a stall, or no client; %d allowed)" % (idle, allow_idle))
        r.update(ok=not why, why="; ".join(why))
        for f in (p.wav, p.stats):
            f.unlink(missing_ok=True)
        return r

    def read_tap(self):
        """The tap's new records, after the last ones of the previous read (a receiver's
        window may start a little before it)."""
        return self.tap_tail + self.read_tap_more()

    def read_tap_more(self):
        recs, self.tap_offset = read_tap_from(self.tap, self.tap_offset)
        self.tap_tail = (self.tap_tail + recs)[-200:]
        return recs

    def record(self, seconds, unicast=2, multicast=1):
        """Receivers started to record `seconds` (finish() judges them)."""
        rxs = [self.start_rx("unicast", seconds) for _ in range(unicast)] + \
              [self.start_rx("multicast", seconds) for _ in range(multicast)]
        return rxs

    def finish(self, rxs, seconds, allow_idle=0):
        deadline = time.monotonic() + seconds + 30
        for p in rxs:
            try:
                p.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.lab._kill(p)
        ends = []
        for p in rxs:
            try:
                st = json.loads(p.stats.read_text())
                ends.append(st["first_timestamp"] + st["frames"])
            except (OSError, ValueError, KeyError):
                pass
        # the tap thread writes behind the graph: wait until it covers the windows' ends
        recs = self.read_tap()
        until = time.monotonic() + 3
        while ends and time.monotonic() < until and \
                (not recs or recs[-1].position + recs[-1].frames < max(ends)):
            time.sleep(0.2)
            recs = recs + self.read_tap_more()
        verdicts = [self.judge_rx(p, recs, allow_idle) for p in rxs]
        # the tap positions over the receivers' windows: one contiguous run = no stall
        lo = min((v["first_timestamp"] for v in verdicts if v.get("first_timestamp") is not None), default=None)
        window = [r for r in recs if lo is not None and r.position + r.frames > lo]
        runs = len(tap_runs(window))
        return verdicts, runs

    # ---------------- steady interval
    def very_late_sends(self):
        """The transmitter's sends more than 5 ms late (the late histogram's last bucket)."""
        text = str(self.props().get("dante.tx.late-histogram", ""))
        try:
            return int(text.split(",")[-1])
        except ValueError:
            return 0

    @staticmethod
    def stall_only(v):
        """A receiver's verdict that fails only for one or two quanta the graph did not write:
        everything received, everything compared bit-exact, the gap silent."""
        why = v.get("why", "")
        return (v.get("rc") == 0 and v.get("differing") == 0 and v.get("idle_not_silent") == 0 and
                not v.get("lost") and 0 < (v.get("idle") or 0) <= 2048 and "not gap-free" not in why and
                "not bit-exact" not in why and "transport" not in why)

    def steady(self, seconds):
        t0 = self.now()
        late_before = self.very_late_sends()
        rxs = self.record(seconds)
        verdicts, runs = self.finish(rxs, seconds)
        ok = all(v["ok"] for v in verdicts) and runs == 1
        self.sample(self.quiet)
        # the transmitter's own counters, to tell a stall of the sender from one of the graph
        tx = {k: self.props().get("dante.tx." + k) for k in ("packets", "underruns", "rebootstraps", "send-errors",
                                                             "late-histogram")}
        late_after = self.very_late_sends()
        very_late = late_after - late_before if late_after >= late_before else late_after  # reset by a move
        # A gap of a quantum or two in the graph while the real-time transmitter thread was
        # also more than 5 ms late is the machine stopping the whole process (a busy or
        # preempted VM), not the device: tolerated --tolerate-machine-stalls times, recorded.
        machine_stall = (not ok and runs == 2 and very_late > 0 and all(self.stall_only(v) for v in verdicts) and
                         self.machine_stalls < self.a.tolerate_machine_stalls)
        if machine_stall:
            self.machine_stalls += 1
            ok = True
        iv = {"t0": t0, "t1": self.now(), "seconds": seconds, "tap_runs": runs, "ok": ok, "receivers": verdicts,
              "tx": tx, "very_late_sends": very_late, "machine_stall": machine_stall}
        self.intervals.append(iv)
        if machine_stall:
            log("[%7.1f] steady %4.1f s: bit-exact; one graph gap of %d frames while the transmitter was late by "
                "> 5 ms %d times: the machine stalled (tolerated, %d of %d)" % (
                    t0, seconds, max(v["idle"] for v in verdicts), very_late, self.machine_stalls,
                    self.a.tolerate_machine_stalls))
            return
        log("[%7.1f] steady %4.1f s: %s%s" % (t0, seconds, "bit-exact, gap-free" if ok else "FAILED",
                                              "" if ok else " " + json.dumps(verdicts)[:600] + " tap runs %d" % runs))

    # ---------------- the fault kinds (each returns (ok, recovery_s, detail))
    def fault_avahi_restart(self, rng):
        """The transmitter's avahi-daemon restarts; end state: the module published again
        (dante.mdns.state) and the receiver's avahi-daemon resolves a channel and bundle 1."""
        before = int(self.props().get("dante.mdns.reconnects", 0))
        t0 = time.monotonic()
        self.tx_host.restart_daemon()
        self.lab.wait_for(lambda: int(self.props().get("dante.mdns.reconnects", 0)) > before and
                          self.props().get("dante.mdns.state") == "published", 30, "mDNS published again")
        published = time.monotonic() - t0

        def seen():
            chans = {e["name"] for e in self.rx_host.browse("_netaudio-chan._udp", timeout=3)}
            bund = {e["name"] for e in self.rx_host.browse("_netaudio-bund._udp", timeout=3)}
            return "01@" + DEVICE in chans and "%d@%s" % (MCAST_SLOT, DEVICE) in bund
        self.lab.wait_for(seen, 30, "channel 01 and bundle %d resolved from the receiver" % MCAST_SLOT, interval=0.3)
        return True, time.monotonic() - t0, {"published_s": round(published, 3),
                                             "reconnects": self.props().get("dante.mdns.reconnects")}

    def fault_client_churn(self, rng):
        """pw-cat clients start on the Dante sink, move to the null sink and back
        (`pactl move-sink-input`) and stop, one after the other, while the player plays on
        and a receiver records; end state: that recording with no packet lost, bit-exact
        where the graph wrote, silent where it did not, at most one graph cycle missing per
        client join or leave (no stall), and the player still on the Dante sink.
        Moves that did not land within 5 s are counted (`moves_lost`), not judged: the player
        itself is not moved, since a stream moved away and back can stay away (below)."""
        cycles = rng.randint(4, 8)
        seconds = cycles * 3.0 + 4
        rx = self.record(seconds, unicast=1, multicast=0)
        self.lab.wait_for(lambda: self.granted(rx[0]), 10, "the churn receiver's flow")
        t0 = time.monotonic()
        moved = lost = 0
        for i in range(cycles):
            before = set(self.streams())
            cat = self.lab.spawn(["pw-cat", "--playback", "--target", SINK, str(self.lab.work / "short.wav")],
                                 name="churn-pw-cat")
            try:
                new = self.lab.wait_for(lambda: set(self.streams()) - before, 5, "the pw-cat stream")
                idx = sorted(new)[0]
                for sink in (NULL_SINK, SINK):
                    if self.lab.run(["pactl", "move-sink-input", idx, sink], timeout=5, check=False).returncode:
                        lost += 1
                        continue
                    try:
                        self.lab.wait_for(lambda: self.streams().get(idx, sink) == sink, 5, "moved")
                        moved += 1
                    except LabError:
                        lost += 1
            finally:
                self.lab._kill(cat, grace=2.0)
        churn = time.monotonic() - t0
        player_home = SINK in self.streams().values()
        # A client joining or leaving may cost the sink one graph cycle (seen: one 1024-frame
        # hole, silent on the wire, no packet lost): up to one cycle of the largest quantum
        # per join and per leave passes, and is recorded ("idle"); more is a stall.
        verdicts, runs = self.finish(rx, seconds, allow_idle=2 * cycles * 2048)
        ok = verdicts[0]["ok"] and player_home and moved > 0
        return ok, churn, {"cycles": cycles, "moves": moved, "moves_lost": lost, "player_on_sink": player_home,
                           "tap_runs": runs, "receiver": verdicts[0]}

    def streams(self):
        """{sink-input index: the sink's name} from pipewire-pulse."""
        sinks = {}
        for line in self.lab.run(["pactl", "list", "short", "sinks"], timeout=5, check=False).stdout.splitlines():
            f = line.split("\t")
            if len(f) > 1:
                sinks[f[0]] = f[1]
        out = {}
        for line in self.lab.run(["pactl", "list", "short", "sink-inputs"], timeout=5, check=False).stdout.splitlines():
            f = line.split("\t")
            if len(f) > 1:
                out[f[0]] = sinks.get(f[1], f[1])
        return out

    def long_rx_killed(self, base):
        """A receiver with a flow (seen in dante.flows), then SIGKILL (no stop request)."""
        p = self.start_rx("unicast", 3600)
        self.lab.wait_for(lambda: self.granted(p), 10, "the victim's flow")
        self.lab.wait_for(lambda: self.flows() == base + 1, 10, "dante.flows = %d" % (base + 1))
        check(p.poll() is None, "the victim dante-rx runs")
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=5)
        return time.monotonic()

    def rx_again(self, base, t_kill, address=None):
        """The same request again: recorded 3 s, gap-free; end state: flows back to `base`."""
        p = self.start_rx("unicast", 3, address=address)
        self.lab.wait_for(lambda: self.granted(p), 10, "a flow for the same request")
        granted = time.monotonic() - t_kill
        p.wait(timeout=20)
        st = json.loads(p.stats.read_text()) if p.stats.exists() else {}
        fine = p.returncode == 0 and st.get("packets", 0) > 0 and st.get("lost", 1) == 0
        self.lab.wait_for(lambda: self.flows() == base, 15, "dante.flows back to %d" % base)
        return fine, granted, {"packets": st.get("packets"), "lost": st.get("lost")}

    def fault_rx_kill(self, rng):
        """A unicast receiver dies without goodbye; end state: its flow expired (dante.flows
        back down), then a new dante-rx asking the same channels gets a flow and receives."""
        base = self.flows()
        t_kill = self.long_rx_killed(base)
        self.lab.wait_for(lambda: self.flows() == base, 15, "the dead receiver's flow to expire")
        expired = time.monotonic() - t_kill
        fine, again, d = self.rx_again(base, time.monotonic())
        d.update(expiry_s=round(expired, 3), regrant_s=round(again, 3))
        return fine, expired, d

    def fault_rx_restart(self, rng):
        """A receiver crashes and restarts at once with the same request; end state: the new
        one receives, and once the dead flow expired dante.flows is back where it was."""
        base = self.flows()
        t_kill = self.long_rx_killed(base)
        fine, granted, d = self.rx_again(base, t_kill)
        d.update(regrant_s=round(granted, 3), settled_s=round(time.monotonic() - t_kill, 3))
        return fine, granted, d

    def fault_mcast_churn(self, rng):
        """ARC creates and deletes multicast flows, the soak's own flow 1 included; end state:
        0x2200 lists flow 1 = [1, 2] alone, dante.flows as before, bundle 1 resolvable."""
        base = self.flows()
        rounds = rng.randint(5, 10)
        statuses = []
        t0 = time.monotonic()
        for _ in range(rounds):
            # a flow in the slot the device picks, deleted again by the number it lists
            r = arc_steps(self.net.rx, self.net.tx_addr, [["create", 0, [rng.choice([1, 2])]]])
            extra = [["delete", f["number"]] for f in r["flows"] if f["number"] != MCAST_SLOT]
            statuses += r["create"] + arc_steps(self.net.rx, self.net.tx_addr, extra).get("delete", [])
        r = arc_steps(self.net.rx, self.net.tx_addr, [["delete", MCAST_SLOT], ["create", MCAST_SLOT, [1, 2]]])
        statuses += r["delete"] + r["create"]
        answered = time.monotonic() - t0
        fine = all(x == 1 for x in statuses) and len(statuses) == 2 * rounds + 2 and \
            [(f["number"], f["channels"]) for f in r["flows"]] == [(MCAST_SLOT, [1, 2])]
        self.lab.wait_for(lambda: self.flows() == base, 10, "dante.flows back to %d" % base)
        name = "%d@%s" % (MCAST_SLOT, DEVICE)
        self.lab.wait_for(lambda: name in {e["name"] for e in self.rx_host.browse("_netaudio-bund._udp", timeout=3)},
                          30, "bundle %s resolved again" % name, interval=0.3)
        return fine, time.monotonic() - t0, {"rounds": rounds, "arc_s": round(answered, 3),
                                             "statuses": statuses}

    def fault_ptp_leader(self, rng):
        """The PTP leader stops sending (ptp-test-leader `pause`) for 3-8 s, then comes back;
        end state: the sink locked to that leader again (dante.clock.state, master-id)."""
        if self.leader is None:
            raise LabError("ptp_leader needs --clock ptp")
        master = self.props().get("dante.clock.master-id")
        self.leader.command("pause")
        gone = round(rng.uniform(3, 8), 1)
        time.sleep(gone)
        during = self.props().get("dante.clock.state")
        self.leader.command("resume")
        t0 = time.monotonic()
        self.lab.wait_for(lambda: (lambda p: p.get("dante.clock.state") == "locked" and
                                   p.get("dante.clock.master-id") == master)(self.props()),
                          30, "the sink locked to the leader again")
        return True, time.monotonic() - t0, {"gone_s": gone, "state_while_gone": during}

    def ip(self, ns, *args, check=True):
        return subprocess.run(["ip", "-n", ns] + list(args), capture_output=True, text=True, timeout=10, check=check)

    def bundle_resolvable(self, what):
        name = "%d@%s" % (MCAST_SLOT, DEVICE)
        self.lab.wait_for(lambda: name in {e["name"] for e in self.rx_host.browse("_netaudio-bund._udp", timeout=3)},
                          30, "bundle %s resolved %s" % (name, what), interval=0.3)

    def on_address(self, address, what):
        """The device bound to `address` with nothing wrong (dante.net.*)."""
        self.lab.wait_for(lambda: (lambda p: p.get("dante.net.in-use") == "%s/%d" % (address, self.net.prefix) and
                                   p.get("dante.net.problem") == "" and p.get("dante.net.link") == "up")(self.props()),
                          15, "the device on %s %s" % (address, what))

    def fault_link_down_up(self, rng):
        """Our end of the link goes down for 1-4 s (a cable pulled at the transmitter) and
        comes back; end state: the device up on its address with no problem, a unicast
        receiver gets a gap-free flow, bundle 1 resolvable again."""
        base = self.flows()
        down = round(rng.uniform(1, 4), 1)
        self.ip(self.net.tx, "link", "set", self.net.tx_if, "down")
        time.sleep(down)
        during = self.props().get("dante.net.link")
        self.ip(self.net.tx, "link", "set", self.net.tx_if, "up")
        # a link going down takes its routes with it: the lab's multicast route comes back
        # as a network manager would restore it
        self.ip(self.net.tx, "route", "replace", "224.0.0.0/4", "dev", self.net.tx_if)
        t0 = time.monotonic()
        self.on_address(self.net.tx_addr, "after the link came back")
        fine, again, d = self.rx_again(base, t0)
        self.bundle_resolvable("after the link came back")
        d.update(down_s=down, link_while_down=during, flow_s=round(again, 3))
        return fine, time.monotonic() - t0, d

    def fault_address_change(self, rng):
        """The transmitter is renumbered to another subnet (a new DHCP lease) and, after a
        steady 3-8 s there, back; end states: on the new address a unicast receiver gets a
        gap-free flow and bundle 1 resolves; back on the first, the same. The recovery is
        the time from the first renumbering to the first flow on the new address."""
        base = self.flows()
        n = self.net.tx_addr.split(".", 3)[2]
        alt, alt_peer = "10.73.%s.1" % n, "10.73.%s.2" % n
        prefix = "/%d" % self.net.prefix
        self.ip(self.net.rx, "address", "replace", alt_peer + prefix, "dev", self.net.rx_if)
        self.ip(self.net.tx, "address", "add", alt + prefix, "dev", self.net.tx_if)
        self.ip(self.net.tx, "address", "del", self.net.tx_addr + prefix, "dev", self.net.tx_if)
        t0 = time.monotonic()
        self.on_address(alt, "after the renumbering")
        moved = time.monotonic() - t0
        fine, again, d = self.rx_again(base, t0, address=alt)
        self.bundle_resolvable("on the new address")
        time.sleep(round(rng.uniform(3, 8), 1))
        self.ip(self.net.tx, "address", "add", self.net.tx_addr + prefix, "dev", self.net.tx_if)
        self.ip(self.net.tx, "address", "del", alt + prefix, "dev", self.net.tx_if)
        t1 = time.monotonic()
        self.on_address(self.net.tx_addr, "back on the first address")
        fine_back, back, d_back = self.rx_again(base, t1)
        self.bundle_resolvable("back on the first address")
        d.update(moved_s=round(moved, 3), flow_s=round(again, 3), back_flow_s=round(back, 3),
                 back_packets=d_back.get("packets"), back_lost=d_back.get("lost"))
        return fine and fine_back, again, d

    def inject(self, kind, fn, rng):
        t0 = self.now()
        try:
            # every fault starts from the same state: the steady interval's receivers stopped
            # their flows (dante.flows is refreshed about once a second)
            self.lab.wait_for(lambda: self.flows() == BASE_FLOWS, 10, "dante.flows = %d before the fault" % BASE_FLOWS)
            ok, recovery, detail = fn(self, rng)
        except (LabError, CheckFailed, RuntimeError, OSError, ValueError, KeyError,
                subprocess.TimeoutExpired) as e:
            ok, recovery, detail = False, None, {"error": str(e)[:500]}
        if not self.alive():
            ok, detail["pipewire"] = False, "exited (rc %s)" % self.pw.returncode
        f = {"kind": kind, "t": t0, "recovery_s": None if recovery is None else round(recovery, 3), "ok": ok,
             "detail": detail}
        self.faults.append(f)
        log("[%7.1f] fault %-15s %s recovery %s s %s" % (t0, kind, "ok" if ok else "NOT RECOVERED",
                                                        f["recovery_s"], json.dumps(detail)[:300]))
        return ok


# The fault kinds: name -> method, or None for the kinds that wait for something. A new
# kind is a method ending in its defined end state (raise or return ok False otherwise) and
# a row here.
FAULTS = {
    "avahi_restart": Soak.fault_avahi_restart,
    "client_churn": Soak.fault_client_churn,
    "rx_kill": Soak.fault_rx_kill,
    "rx_restart": Soak.fault_rx_restart,
    "mcast_churn": Soak.fault_mcast_churn,
    "ptp_leader": Soak.fault_ptp_leader,   # with --clock ptp only
    "link_down_up": Soak.fault_link_down_up,
    "address_change": Soak.fault_address_change,
}


class RxSide:
    """The receiver namespace of a NetLab as ptp_lab.Leader wants a host: ifname and
    popen_in (the leader is the one process; Leader.quit() stops it)."""

    def __init__(self, net):
        self.net, self.ifname, self.procs = net, {"rx": net.rx_if}, []

    def popen_in(self, host, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.net.rx] + list(cmd), start_new_session=True, **kw)
        self.procs.append(p)
        return p


def idle_frames(recs, received, first_ts, frames):
    """Frames of a recording no tap record covers (cycles the graph did not run: no client
    on the sink, or a stall), and how many of them are not silent on the wire."""
    covered = sorted((max(r.position, first_ts), min(r.position + r.frames, first_ts + frames)) for r in recs
                     if r.position < first_ts + frames and r.position + r.frames > first_ts)
    idle = loud = 0
    at = first_ts
    zero = bytes(6)
    for lo, hi in covered + [(first_ts + frames, first_ts + frames)]:
        if lo > at:
            idle += lo - at
            chunk = received[(at - first_ts) * 6:(lo - first_ts) * 6]
            loud += sum(1 for i in range(0, len(chunk), 6) if chunk[i:i + 6] != zero) if chunk.strip(b"\0") else 0
        at = max(at, hi)
    return idle, loud


def slope_per_min(samples, key, after):
    pts = [(s["t"], s[key]) for s in samples if s["t"] >= after]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return round(60 * sum((t - mt) * (v - mv) for t, v in pts) / den, 3) if den else None


def growth(samples, key, after):
    """Median of the last 3 samples minus median of the first 3 after the warm-up."""
    pts = [s[key] for s in samples if s["t"] >= after]
    if len(pts) < 6:
        return 0
    return sorted(pts[-3:])[1] - sorted(pts[:3])[1]


def summarize(s, duration, a):
    warm = min(60.0, duration / 4)
    worst = {}
    for f in s.faults:
        w = worst.setdefault(f["kind"], {"count": 0, "failed": 0, "worst_recovery_s": 0.0})
        w["count"] += 1
        w["failed"] += 0 if f["ok"] else 1
        if f["recovery_s"] is not None:
            w["worst_recovery_s"] = max(w["worst_recovery_s"], f["recovery_s"])
    log_text = s.lab.log_text()
    problems = [m for m in ("Assertion", "assertion failed", "AddressSanitizer", "runtime error:", "LeakSanitizer")
                if m in log_text]
    out = {
        "seed": a.seed, "minutes": a.minutes, "duration_s": round(duration, 1), "warmup_s": warm,
        "faults": worst,
        "intervals": len(s.intervals), "intervals_failed": sum(not i["ok"] for i in s.intervals),
        "machine_stalls_tolerated": s.machine_stalls,
        "steady_seconds": round(sum(i["seconds"] for i in s.intervals), 1),
        "rss_kb_per_min": slope_per_min(s.samples, "rss_kb", warm),
        "fds_per_min": slope_per_min(s.samples, "fds", warm),
        "threads_per_min": slope_per_min(s.samples, "threads", warm),
        "fd_growth": growth(s.quiet, "fds", warm),
        "quiet_fds": [q["fds"] for q in s.quiet], "quiet_rss_kb": [q["rss_kb"] for q in s.quiet],
        "rss_kb_first_last": [s.samples[0]["rss_kb"], s.samples[-1]["rss_kb"]] if s.samples else None,
        "pipewire_alive": s.alive(), "log_problems": problems,
        "never_ran": sorted(k for k in a.kinds if k not in worst),
    }
    out["pass"] = (out["pipewire_alive"] and not problems and out["intervals_failed"] == 0 and out["intervals"] > 0
                   and all(w["failed"] == 0 for w in worst.values()) and out["fd_growth"] <= a.max_fd_growth
                   and (not a.all_kinds or not out["never_ran"]))
    return out


def write_results(s, summary, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps({"summary": summary, "faults": s.faults, "intervals": s.intervals,
                                               "samples": s.samples, "quiet_samples": s.quiet}, indent=1))
    with open(out / "samples.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t", "rss_kb", "fds", "threads"])
        w.writeheader()
        w.writerows(s.samples)
    with open(out / "faults.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "kind", "ok", "recovery_s", "detail"])
        for x in s.faults:
            w.writerow([x["t"], x["kind"], x["ok"], x["recovery_s"], json.dumps(x["detail"])])


def body():
    a = parse_args(__doc__, extra=lambda ap: (
        ap.add_argument("--minutes", type=float, default=60.0, help="length of the run (default 60)"),
        ap.add_argument("--seed", type=int, default=1, help="the scheduler's seed (default 1)"),
        ap.add_argument("--steady", default="15:40", help="steady interval length range MIN:MAX s (default 15:40)"),
        ap.add_argument("--clock", choices=("tai", "ptp"), default="tai",
                        help="the sink's clock; ptp: it follows a ptp-test-leader in the receiver "
                             "namespace, and fault ptp_leader is on (default tai)"),
        ap.add_argument("--faults", default=None,
                        help="fault kinds to inject (default: all implemented for the --clock)"),
        ap.add_argument("--all-kinds", action="store_true", help="fail unless every kind ran at least once"),
        ap.add_argument("--max-fd-growth", type=int, default=4, help="fds the run may gain after warm-up"),
        ap.add_argument("--tolerate-machine-stalls", type=int, default=0,
                        help="steady intervals that may pass with a graph gap of <= 2 quanta while the "
                             "transmitter was also > 5 ms late (default 0; CI's short soak: 1)"),
        ap.add_argument("--out", default=None, help="result dir (default ./soak-<pid>)")))
    if not avahi.available():
        log("SKIP: avahi-daemon/avahi-browse/dbus-daemon/nsenter not installed")
        return EXIT_SKIP
    if a.faults is None:
        a.faults = ",".join(k for k, v in FAULTS.items() if v and (k != "ptp_leader" or a.clock == "ptp"))
    kinds = a.kinds = [k.strip() for k in a.faults.split(",") if k.strip()]
    for k in kinds:
        check(FAULTS.get(k) is not None, "fault kind %s is implemented" % k)
    lo, hi = (float(x) for x in a.steady.split(":"))
    rng = random.Random(a.seed)
    dante_rx = built_program(build_dir(a), "tools/dante-rx/dante-rx")
    leader_bin = require_binaries(build_dir(a), "ptp-test-leader")[0] if a.clock == "ptp" else None
    out = Path(a.out) if a.out else Path("soak-%d" % os.getpid()).resolve()
    budget = a.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    summary = leader = None
    try:
        with NetLab("soak") as net, avahi.on_both_sides(net, work) as (tx_host, rx_host):
            if leader_bin:
                # a Dante leader (PTPv1) on the receivers' side; its timescale is CLOCK_TAI's,
                # so dante-rx --clock tai still measures lateness sensibly
                leader = Leader(RxSide(net), "rx", leader_bin, version=1, stderr_path=work / "leader.log")
            args = lab_args(**{"dante.interface": net.tx_if, "dante.mdns": "avahi", "dante.clock.source": a.clock,
                               "dante.max-flows": 8, "dante.debug.ring-tap": "@LABDIR@/tap.bin"})
            with make_lab(a, module_args=args, cmd_prefix=tx_host.prefix(),
                          extra_conf=fake_sink_conf(NULL_SINK, "Soak null sink")) as lab:
                lab.wait_node(SINK, timeout=10)
                lab.wait_mdns_published(timeout=20)
                if leader:
                    lab.wait_for(lambda: lab.node_props(SINK).get("dante.clock.state") == "locked", 30,
                                 "the sink locked to the PTP leader")
                make_wav(lab.work / "noise.wav", frames=48000 * 4, seed=a.seed)
                noise = lab.work / "noise.raw"
                noise.write_bytes(wav_s24x2(lab.work / "noise.wav"))
                make_wav(lab.work / "short.wav", frames=48000 * 3, seed=a.seed + 1)
                # the player: one stream for the whole run (a file player would leave the sink
                # without a client between two plays, and the graph stops then), fed 4 s of
                # noise over and over
                lab.spawn(["sh", "-c", 'while :; do cat "$1"; done | pacat --playback --device="$0" '
                           '--format=s24le --rate=48000 --channels=2 --latency-msec=100', SINK, str(noise)],
                          name="player")
                r = arc_steps(net.rx, net.tx_addr, [["create", MCAST_SLOT, [1, 2]]])
                check(r["create"] == [1], "ARC 0x2201 created multicast flow %d = [1, 2]" % MCAST_SLOT)
                lab.wait_for(lambda: "%d@%s" % (MCAST_SLOT, DEVICE) in
                             {e["name"] for e in rx_host.browse("_netaudio-bund._udp", timeout=3)},
                             30, "bundle %d resolved from the receiver" % MCAST_SLOT, interval=0.3)
                s = Soak(a, net, lab, tx_host, rx_host, dante_rx, out, leader)
                sampler = threading.Thread(target=s.sampler, daemon=True)
                sampler.start()
                log("soak: %.1f min, seed %d, faults %s; results in %s" % (a.minutes, a.seed, kinds, out))
                bag = []
                while s.alive():
                    s.steady(round(rng.uniform(lo, hi), 1))
                    if s.now() >= budget or not s.alive():
                        break
                    if not bag:
                        bag = list(kinds)
                        rng.shuffle(bag)
                    kind = bag.pop(0)
                    s.inject(kind, FAULTS[kind], rng)
                    if s.now() >= budget:
                        break
                s.stop_sampler.set()
                sampler.join(timeout=15)
                s.sample()
                summary = summarize(s, s.now(), a)
                write_results(s, summary, out)
    finally:
        if leader:
            leader.quit()   # also on failure: the namespace's deletion would not stop it
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    log("summary: %s" % json.dumps(summary, indent=1))
    check(summary["pass"], "soak: every fault recovered, every steady interval bit-exact and gap-free, "
          "pipewire alive with no assertion or sanitizer report, fd growth %d <= %d" % (
              summary["fd_growth"], a.max_fd_growth))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
