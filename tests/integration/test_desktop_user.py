#!/usr/bin/env python3
"""The desktop case: a user's own PipeWire, unprivileged, on the Dante network.

Everything a desktop user runs here runs as `nobody` with no capabilities at all (setpriv:
no inheritable, ambient or bounding-set capabilities): pipewire, wireplumber,
pipewire-pulse, pw-cat, pactl. It cannot bind PTP's ports 319/320. The privileged half is
pipewire-dante-ptp, started as root exactly as the systemd unit pipewire-dante-ptp@.service
starts it (its ExecStart line, read from the configured unit, with the build's binary).
The sink is loaded by the shipped drop-in (conf/pipewire.conf.d/50-dante-sink.conf) with
only dante.interface (and the lab's device name and tap) filled in.

1. service first: the sink appears, runs on the service's clock (dante.clock.provider),
   leads the lab's network (alone there), and a receiver in another namespace (dante-rx,
   following the same PTP clock) gets what pw-cat plays bit-exact, stamped with the graph
   position it was written at. The session has no capability and runs as nobody.
   Where this machine lets root raise RLIMIT_RTPRIO, the session runs with it (as a
   desktop's audio group grants) and the transmitter thread must be real-time; either way
   dante.tx.realtime must say what the kernel says of that thread.
2. no service: the sink still loads, unsynchronized, dante.clock.problem names the unit to
   start, PipeWire and pipewire-pulse keep running, nothing is sent; then the service
   starts and the sink locks by itself, without a restart; it stops and the sink holds over.
   No RLIMIT_RTPRIO here (and no rtkit in the lab): the transmitter is not real-time, and
   says so.
3. a refused arg in the shipped drop-in (flags = [ nofail ]) leaves PipeWire running.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, built_program, make_lab, parse_args, main_wrapper, check, log, SINK, DEVICE, thread_policy,  # noqa: E402
                   make_wav, read_tap, LabError)
from netlab import NetLab  # noqa: E402
from test_dante_rx import read_wav_s24, check_played_signal  # noqa: E402

USER = "nobody"
FRAMES = 3 * 48000
SECONDS = 9


def shipped_dropin(repo, interface, extra=""):
    """The shipped drop-in with dante.interface (and the lab's own lines) filled in."""
    text = (Path(repo) / "conf" / "pipewire.conf.d" / "50-dante-sink.conf").read_text()
    check("nofail" in text, "the shipped drop-in loads the module with flags = [ nofail ]")
    text, n = re.subn(r'#dante\.interface\s*=\s*"[^"]*"', 'dante.interface = "%s"' % interface, text)
    check(n == 1, "the shipped drop-in has a dante.interface line to fill in")
    text, n = re.subn(r'#dante\.device-name\s*=\s*"[^"]*"', 'dante.device-name = "%s"\n%s' % (DEVICE, extra), text)
    check(n == 1, "the shipped drop-in has a dante.device-name line")
    return text


def service_command(build, interface):
    """The unit's ExecStart, as systemd would run it for instance `interface`, with the build
    tree's binary standing in for the installed one."""
    unit = (Path(build) / "pipewire-dante-ptp@.service").read_text()
    lines = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    check(len(lines) == 1, "the configured unit has one ExecStart line")
    # $VAR (the options from the unit's EnvironmentFile, none here) expands to nothing
    argv = [w for w in shlex.split(lines[0][len("ExecStart="):].replace("%i", interface)) if not w.startswith("$")]
    binary = Path(build) / "tools" / "pipewire-dante-ptp" / "pipewire-dante-ptp"
    check(Path(argv[0]).name == binary.name, "ExecStart runs %s" % binary.name)
    return [str(binary)] + argv[1:]


def check_unit(build):
    """systemd accepts the configured unit, and rates its sandbox well (where systemd-analyze
    is installed: the lab has no running systemd to start it)."""
    import shutil
    import tempfile
    if not shutil.which("systemd-analyze"):
        log("    (no systemd-analyze here: the unit file itself is not checked)")
        return
    unit = (Path(build) / "pipewire-dante-ptp@.service").read_text()
    installed = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")][0].split()[0][len("ExecStart="):]
    binary = Path(build) / "tools" / "pipewire-dante-ptp" / "pipewire-dante-ptp"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pipewire-dante-ptp@.service"
        path.write_text(unit.replace(installed, str(binary)))
        r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and not r.stderr.strip(),
              "systemd-analyze verify accepts the unit (rc %d) %s" % (r.returncode, r.stderr.strip()[:300]))
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(path)],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        if m:
            check(float(m.group(1)) <= 2.5, "systemd rates the unit's exposure %s (<= 2.5: hardened)" % m.group(1))
        else:
            log("    (this systemd-analyze cannot rate a unit offline)")


def start_service(lab, net, build):
    return lab.spawn(["ip", "netns", "exec", net.tx] + service_command(build, net.tx_if),
                     name="pipewire-dante-ptp")


def stop_service(lab, p):
    lab._kill(p)
    check(p.returncode == 0, "pipewire-dante-ptp stopped cleanly on SIGTERM (rc %s)" % p.returncode)


def pipewire_identity(lab):
    """(uid, effective capabilities) of the session's pipewire process."""
    pid = lab.procs["pipewire"].pid
    # the lab's Popen is `ip netns exec ... setpriv ... pipewire`: exec chains keep the pid
    status = Path("/proc/%d/status" % pid).read_text()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    cap = int(re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M).group(1), 16)
    comm = Path("/proc/%d/comm" % pid).read_text().strip()
    return comm, uid, cap


def transmitter_policy(lab):
    """The scheduling policy of the pipewire process's transmitter thread."""
    return thread_policy(lab, "dante-flows-tx")


def can_raise_rtprio():
    """Whether root may raise RLIMIT_RTPRIO here (a container may lack CAP_SYS_RESOURCE)."""
    return subprocess.run(["prlimit", "--rtprio=95", "--", "true"], capture_output=True).returncode == 0


def props(lab):
    return lab.node_props(SINK)


def text(value):
    """A node property as its text (pw-dump turns "true" and "12" into JSON values)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def body():
    a = parse_args(__doc__)
    build = build_dir(a)
    dante_rx = built_program(build, "tools/dante-rx/dante-rx")

    check_unit(build)

    log("1. the service first, then the user's session")
    with NetLab("desk") as net:
        service = None
        work_tap = "/tmp/dante-desk-%d-tap.bin" % os.getpid()
        dropin = shipped_dropin(a.repo, net.tx_if, '            dante.debug.ring-tap = "%s"' % work_tap)
        rtprio = can_raise_rtprio()
        try:
            with make_lab(a, netns=net.tx, user=USER, dropin_text=dropin,
                          daemon_prefix=["prlimit", "--rtprio=95", "--"] if rtprio else None) as lab:
                # started by root, like the unit; the session finds it without configuration
                service = start_service(lab, net, build)
                lab.wait_node(SINK, timeout=10)
                comm, uid, cap = pipewire_identity(lab)
                check(comm == "pipewire" and uid != 0 and cap == 0,
                      "the session's %s runs as uid %d with no effective capability (CapEff %x)" % (comm, uid, cap))
                lab.wait_for(lambda: props(lab).get("dante.clock.provider", "").startswith("pipewire-dante-ptp@"),
                             10, "the sink to run on pipewire-dante-ptp's clock")
                p = props(lab)
                check(True, "dante.clock.provider = %s" % p.get("dante.clock.provider"))
                lab.wait_for(lambda: props(lab).get("dante.clock.state") == "master", 15,
                             "the shared clock to lead the lab network")
                check(props(lab).get("dante.clock.problem", "") == "",
                      "no clock problem reported (%r)" % props(lab).get("dante.clock.problem"))
                check(props(lab).get("dante.ptp.port-state") == "master",
                      "dante.ptp.* come from the service (port-state %s)" % props(lab).get("dante.ptp.port-state"))

                wav_in = lab.work / "signal.wav"
                sig = make_wav(wav_in, frames=FRAMES, pad_after=8192)
                os.chown(wav_in, lab.uid, lab.gid)
                wav_out, stats_out = lab.tmp / "rx.wav", lab.tmp / "rx.json"
                rx = lab.spawn(["ip", "netns", "exec", net.rx, str(dante_rx), "--address", net.tx_addr,
                                "--channels", "1,2", "--seconds", str(SECONDS), "--format", "S24",
                                "--wav", str(wav_out), "--stats", str(stats_out),
                                "--clock", "ptp", "--interface", net.rx_if], name="dante-rx")
                lab.wait_for(lambda: str(props(lab).get("dante.flows")) == "1", 20, "the receiver's flow")
                check(True, "the receiver's flow is active")
                play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav_in)],
                               timeout=30, check=False)
                check(play.returncode == 0, "pw-cat (as %s) played the signal (rc %s)" % (USER, play.returncode))
                rc = rx.wait(timeout=SECONDS + 15)
                check(rc == 0, "dante-rx finished cleanly (rc %s): %s" % (rc, lab._read(rx.lab_log)[-600:]))

                p = props(lab)
                policy = transmitter_policy(lab)
                log("    transmitter: realtime %s, kernel policy %s, packets %s, underruns %s" % (
                    p.get("dante.tx.realtime"), policy, p.get("dante.tx.packets"), p.get("dante.tx.underruns")))
                if rtprio:
                    check(policy in (1, 2), "with RLIMIT_RTPRIO the transmitter runs real-time (policy %s)" % policy)
                else:
                    log("    (root may not raise RLIMIT_RTPRIO on this machine: the session gets no real-time)")
                check(policy is not None and (policy in (1, 2)) == (text(p.get("dante.tx.realtime")) == "true"),
                      "dante.tx.realtime (%s) says what the kernel says of the thread (policy %s)" %
                      (p.get("dante.tx.realtime"), policy))
                recs = read_tap(work_tap)
                stats = json.loads(stats_out.read_text())
                received = read_wav_s24(wav_out)
                stop_service(lab, service)
                service = None
        finally:
            if service is not None:
                subprocess.run(["kill", str(service.pid)], check=False)
            Path(work_tap).unlink(missing_ok=True)
        check(stats["lost"] == 0 and stats["duplicated"] == 0 and stats["reordered"] == 0,
              "no loss, duplicate or reordering (%d packets)" % stats["packets"])
        check_played_signal(received, sig, stats["first_timestamp"], recs)

    log("2. no service: the sink loads and waits; the service comes, goes")
    with NetLab("desk2") as net:
        dropin = shipped_dropin(a.repo, net.tx_if)
        with make_lab(a, netns=net.tx, user=USER, dropin_text=dropin) as lab:
            lab.wait_node(SINK, timeout=10)
            p = props(lab)
            check(p.get("dante.clock.state") == "unsynchronized",
                  "without the service the sink loads unsynchronized (%s)" % p.get("dante.clock.state"))
            problem = p.get("dante.clock.problem", "")
            check("pipewire-dante-ptp@%s" % net.tx_if in problem and "Permission denied" in problem,
                  "dante.clock.problem names the unit to start and why we cannot run PTP: %r" % problem)
            warn = [ln for ln in lab.log_text().splitlines() if "clock not usable" in ln]
            check(len(warn) == 1, "one log line says why (%d): %s" % (len(warn), warn[:1]))
            check(lab.run(["pactl", "info"], check=False).returncode == 0, "pipewire-pulse answers")
            time.sleep(2)
            check(str(props(lab).get("dante.tx.packets", "0")) == "0", "nothing is sent on an unsynchronized clock")
            policy = transmitter_policy(lab)
            check(policy == 0 and text(props(lab).get("dante.tx.realtime")) == "false",
                  "without RLIMIT_RTPRIO or rtkit the transmitter is not real-time, and says so (policy %s)" % policy)

            service = start_service(lab, net, build)
            t0 = time.monotonic()
            lab.wait_for(lambda: props(lab).get("dante.clock.state") == "master", 15,
                         "the sink to lock on the service started after it")
            check(True, "the sink took the service's clock %.1f s after it started, without a restart" %
                  (time.monotonic() - t0))
            lab.wait_for(lambda: props(lab).get("dante.clock.problem", "") == "", 5, "the problem to clear")
            check(True, "dante.clock.problem cleared")
            stop_service(lab, service)
            lab.wait_for(lambda: props(lab).get("dante.clock.state") == "holdover", 5,
                         "the sink to hold over when the service stops")
            check("stopped" in props(lab).get("dante.clock.problem", ""),
                  "dante.clock.problem says the service stopped (%r)" % props(lab).get("dante.clock.problem"))
            check(lab.procs["pipewire"].poll() is None, "pipewire kept running throughout")

    log("3. a refused arg in the shipped drop-in")
    with NetLab("desk3") as net:
        dropin = shipped_dropin(a.repo, net.tx_if, "            audio.rate = 12345")
        with make_lab(a, netns=net.tx, user=USER, dropin_text=dropin, with_wireplumber=False) as lab:
            time.sleep(2)
            check(lab.procs["pipewire"].poll() is None, "pipewire keeps running (nofail)")
            check(lab.find_node(SINK) is None, "and has no Dante sink")
            check(lab.run(["pactl", "info"], check=False).returncode == 0, "pipewire-pulse answers")
            lines = [ln for ln in lab.log_text().splitlines() if "audio.rate" in ln]
            check(bool(lines), "the log names the refused arg: %s" % (lines[:1],))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
