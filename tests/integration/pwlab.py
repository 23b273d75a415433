"""Integration test lab for pipewire-dante (Python 3, stdlib only).

A private, headless PipeWire session per test:

    with PipeWireLab(repo, module_args={"dante.device-name": "lab-tx", ...}) as lab:
        lab.run(["pactl", "list", "short", "sinks"])
        node = lab.find_node("dante_sink.lab-tx")

Everything lives in a fresh temp dir (XDG_RUNTIME_DIR, XDG_CONFIG_HOME,
XDG_STATE_HOME, logs). Only processes started here are ever signalled, by PID /
by the process group each of them was started in; nothing is killed by name.
All external commands run under a timeout.
"""

import array
import atexit
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

SYSTEM_SPA_DIR = "/usr/lib/x86_64-linux-gnu/spa-0.2"
SYSTEM_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/pipewire-0.3"
MODULE_NAME = "libpipewire-module-dante-sink"
HERE = Path(__file__).resolve().parent
WIREPLUMBER_OVERRIDES = HERE.parent / "wireplumber"

# meson's "skipped" exit code
EXIT_SKIP = 77

DEVICE = "lab-tx"
SINK = "dante_sink." + DEVICE
DESCRIPTION = "Dante Transmitter (%s)" % DEVICE


def lab_args(**extra):
    """The module args every test uses; extra keys are merged, e.g.
    lab_args(**{"dante.debug.ring-tap": "@LABDIR@/tap.bin"}) ("@LABDIR@" is
    replaced by the lab's temp dir when the drop-in is written).
    No dante.clock.source: the device's default applies (ptp with dante.interface, tai
    without); tests that use CLOCK_TAI as ground truth ask for tai explicitly."""
    a = {
        "dante.device-name": DEVICE,
        "audio.channels": 2,
        "audio.rate": 48000,
    }
    a.update(extra)
    return a


class LabError(RuntimeError):
    pass


class CheckFailed(AssertionError):
    pass


# --------------------------------------------------------------------------
# small helpers shared by the test scripts

def default_repo():
    return str(HERE.parent.parent)


def parse_args(description, extra=None):
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--repo", default=default_repo(), help="repo root (default: two levels up)")
    ap.add_argument("--build", default=None, help="build dir (default: <repo>/build)")
    ap.add_argument("--keep", action="store_true", help="keep the lab's temp dir (logs) after the run")
    ap.add_argument("--fake-sink", action="store_true",
                    help="lab self-test: use a support.null-audio-sink named like the Dante sink "
                         "instead of the module (dante-specific checks will fail or be skipped)")
    if extra:
        extra(ap)
    return ap.parse_args()


def build_dir(a):
    """The build tree a test runs against: --build, else <repo>/build (absolute)."""
    return (Path(a.build) if a.build else Path(a.repo) / "build").resolve()


def built_program(build, relpath):
    """build/relpath (e.g. "tools/dante-rx/dante-rx"), checked to exist."""
    path = build / relpath
    check(path.exists(), "%s is built (%s)" % (path.name, path))
    return path


def thread_policy(lab, name):
    """The scheduling policy (0 other, 1 fifo, 2 rr), from the kernel, of the lab's pipewire
    thread named `name`; None when there is none."""
    pid = lab.procs["pipewire"].pid
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                stat = (task / "stat").read_text()
                return int(stat[stat.rindex(")") + 2:].split()[38])  # field 41: policy
        except (FileNotFoundError, ProcessLookupError):
            continue
    return None


def main_with_client(body, client_main):
    """A test's __main__ when it runs itself again as a client inside a namespace:
    `script --client ARGS` runs client_main(ARGS), anything else runs the test body."""
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
        return 0
    return main_wrapper(body)


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    """Print a PASS line or raise CheckFailed with msg."""
    if not cond:
        raise CheckFailed(msg)
    log("  ok: " + msg)


def main_wrapper(fn):
    """Run a test body; map outcomes to exit codes (0 pass, 1 fail, 77 skip)."""
    def _term(signum, frame):
        # once: a second signal (e.g. timeout(1) signals the child and its group)
        # must not interrupt the cleanup that this one starts
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    try:
        rc = fn()
    except CheckFailed as e:
        log("FAIL: %s" % e)
        return 1
    except LabError as e:
        log("FAIL (lab): %s" % e)
        return 1
    except SystemExit as e:
        if isinstance(e.code, int):
            return e.code
        log("FAIL: %s" % e.code)
        return 1
    log("PASS" if not rc else "exit %s" % rc)
    return rc or 0


def fake_sink_conf(name=None, description=None, channels=2, rate=48000):
    """A drop-in creating a null sink that looks like the Dante sink (lab self-test)."""
    return ("context.objects = [\n"
            "  { factory = adapter\n"
            "    args = { factory.name = support.null-audio-sink node.name = \"%s\"\n"
            "             node.description = \"%s\" media.class = Audio/Sink\n"
            "             audio.channels = %d audio.rate = %d audio.position = [ FL FR ] }\n"
            "  }\n]\n") % (name or SINK, description or DESCRIPTION, channels, rate)


def make_lab(a, module_args=None, **kw):
    """PipeWireLab from parsed args (honours --build, --keep, --fake-sink)."""
    if getattr(a, "fake_sink", False):
        kw["with_module"] = False
        kw["extra_conf"] = fake_sink_conf()
    else:
        require_module(a.repo, a.build)
    return PipeWireLab(a.repo, module_args=module_args, build=a.build, keep=a.keep, **kw)


def module_present(repo, build=None):
    build = Path(build) if build else Path(repo) / "build"
    return (build / "module" / (MODULE_NAME + ".so")).exists()


def require_module(repo, build=None):
    build = Path(build) if build else Path(repo) / "build"
    so = build / "module" / (MODULE_NAME + ".so")
    spa = build / "spa-plugin" / "dante" / "libspa-dante.so"
    missing = [str(p) for p in (so, spa) if not p.exists()]
    if missing:
        log("FAIL: not built: " + ", ".join(missing))
        sys.exit(1)


# --------------------------------------------------------------------------
# SPA-JSON rendering of module args

def _spa_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + " ".join("%s = %s" % (k, _spa_value(x)) for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[ " + " ".join(_spa_value(x) for x in v) + " ]"
    if isinstance(v, Raw):
        return v.text
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % s


class Raw:
    """A value rendered verbatim (unquoted) in the conf file, e.g. Raw("tai")."""
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return "Raw(%r)" % self.text


def render_module_conf(args, name=MODULE_NAME, flags=None):
    body = "  { name = %s\n    args = %s\n" % (name, _spa_value(args or {}))
    if flags:
        body += "    flags = [ %s ]\n" % " ".join(flags)
    body += "  }\n"
    return "context.modules = [\n" + body + "]\n"


# --------------------------------------------------------------------------
# the lab

def _dirlist(*dirs):
    return ":".join(str(d) for d in dirs if Path(d).is_dir())


class PipeWireLab:
    def __init__(self, repo, module_args=None, with_pulse=True, with_wireplumber=True,
                 build=None, with_module=True, extra_conf=None, keep=False,
                 pipewire_debug=None, start_timeout=15.0, netns=None, cmd_prefix=None, user=None,
                 dropin_text=None, daemon_prefix=None, installed=False):
        self.repo = Path(repo).resolve()
        self.build = Path(build).resolve() if build else self.repo / "build"
        self.module_args = dict(module_args or {})
        self.with_pulse = with_pulse
        self.with_wireplumber = with_wireplumber
        self.with_module = with_module
        self.extra_conf = extra_conf
        self.keep = keep
        self.pipewire_debug = pipewire_debug
        self.start_timeout = start_timeout
        # Run the daemons inside this network namespace (clients still reach them over
        # the unix sockets in XDG_RUNTIME_DIR, which namespaces do not separate).
        self.netns = netns
        # Or any command prefix for the daemons (e.g. nsenter into a host's mount + network
        # namespace, where that host's avahi-daemon and system bus live); wins over netns.
        self.cmd_prefix = list(cmd_prefix) if cmd_prefix else None
        # Run the session and every client as this unprivileged user, as a desktop does:
        # setpriv drops to it with no capabilities at all (none inherited, an empty bounding
        # set), after `ip netns exec` (which needs root) has entered the namespace.
        self.user = user
        # The drop-in's text instead of one rendered from module_args (e.g. the shipped file).
        self.dropin_text = dropin_text
        # Wraps the daemons only, inside the namespace and before setpriv (e.g. prlimit).
        self.daemon_prefix = list(daemon_prefix) if daemon_prefix else []
        # Load the module and plugin from where `meson install` put them (PipeWire's own
        # directories), not from the build tree.
        self.installed = installed
        self.tmp = None
        self.procs = {}          # name -> Popen (long-running, ours)
        self._bg = []            # background client Popens
        self._stopped = False
        self._atexit = False

    # ---------------- paths / env
    def _mkdirs(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="pwlab-"))
        self.runtime = self.tmp / "run"
        self.config = self.tmp / "config"
        self.state = self.tmp / "state"
        self.logdir = self.tmp / "logs"
        self.work = self.tmp / "work"
        for d in (self.runtime, self.config, self.state, self.logdir, self.work):
            d.mkdir(parents=True)
        os.chmod(self.runtime, 0o700)
        self.bus_path = self.runtime / "bus"
        if self.user:
            import pwd
            entry = pwd.getpwnam(self.user)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            os.chmod(self.tmp, 0o755)
            for d in (self.runtime, self.config, self.state, self.work, self.tmp / "data"):
                d.mkdir(parents=True, exist_ok=True)
                os.chown(d, self.uid, self.gid)
            # The build tree may sit below a directory the user cannot enter (a checkout in
            # a 0700 temp dir): the session loads copies of the module and plugin instead.
            self.user_lib = self.tmp / "lib"
            shutil.copytree(self.build / "module", self.user_lib / "module",
                            ignore=shutil.ignore_patterns("*.p", "meson*"))
            shutil.copytree(self.build / "spa-plugin", self.user_lib / "spa-plugin",
                            ignore=shutil.ignore_patterns("*.p", "meson*"))

    def _lib(self):
        """Where the session loads our module and plugin from: the build tree, or its copies."""
        return getattr(self, "user_lib", None) or self.build

    def as_user(self, cmd):
        """cmd as the lab's user (unchanged without one)."""
        if not self.user:
            return list(cmd)
        return ["setpriv", "--reuid", str(self.uid), "--regid", str(self.gid), "--init-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"] + list(cmd)

    def _chown_tree(self, root):
        if not self.user:
            return
        for dirpath, dirnames, filenames in os.walk(root):
            os.chown(dirpath, self.uid, self.gid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), self.uid, self.gid)

    def env(self):
        env = {}
        # keep a minimal, clean environment: PATH/LANG/TERM from ours only
        for k in ("PATH", "LANG", "LC_ALL", "TERM", "HOME"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update({
            "XDG_RUNTIME_DIR": str(self.runtime),
            **({"HOME": str(self.work)} if self.user else {}),
            "XDG_CONFIG_HOME": str(self.config),
            "XDG_STATE_HOME": str(self.state),
            "XDG_DATA_HOME": str(self.tmp / "data"),
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=%s" % self.bus_path,
            "SPA_PLUGIN_DIR": SYSTEM_SPA_DIR if self.installed else _dirlist(self._lib() / "spa-plugin", SYSTEM_SPA_DIR),
            "PIPEWIRE_MODULE_DIR": (SYSTEM_MODULE_DIR if self.installed else
                                    _dirlist(self._lib() / "module", SYSTEM_MODULE_DIR)),
            "PULSE_RUNTIME_PATH": str(self.runtime / "pulse"),
            "NO_AT_BRIDGE": "1",
            "GSETTINGS_BACKEND": "memory",
        })
        return env

    def _write_config(self):
        pwd = self.config / "pipewire" / "pipewire.conf.d"
        pwd.mkdir(parents=True)
        parts = []
        if self.dropin_text is not None:
            parts.append(self.dropin_text)
        elif self.with_module:
            args = {k: (v.replace("@LABDIR@", str(self.tmp)) if isinstance(v, str) else v)
                    for k, v in self.module_args.items()}
            parts.append(render_module_conf(args))
        if self.extra_conf:
            parts.append(self.extra_conf)
        self.dropin = pwd / "dante.conf"
        self.dropin.write_text("# written by tests/integration/pwlab.py\n" + "\n".join(parts))
        # wireplumber: copy the override files (same name replaces the system one)
        wpd = self.config / "wireplumber"
        if WIREPLUMBER_OVERRIDES.is_dir():
            shutil.copytree(WIREPLUMBER_OVERRIDES, wpd)
        else:
            raise LabError("missing wireplumber overrides dir %s" % WIREPLUMBER_OVERRIDES)
        self._chown_tree(self.config)

    # ---------------- process management
    def _spawn(self, name, cmd, env=None, logname=None, as_user=True):
        if as_user:
            cmd = self.as_user(cmd)
        if name in ("pipewire", "wireplumber", "pipewire-pulse"):
            cmd = self.daemon_prefix + list(cmd)
            if self.cmd_prefix:
                cmd = self.cmd_prefix + list(cmd)
            elif self.netns:
                cmd = ["ip", "netns", "exec", self.netns] + list(cmd)
        logf = open(self.logdir / (logname or name + ".log"), "wb")
        try:
            p = subprocess.Popen(cmd, env=env or self.env(), stdin=subprocess.DEVNULL,
                                 stdout=logf, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=str(self.work))
        finally:
            logf.close()
        return p

    def start(self):
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        self._mkdirs()
        self._write_config()
        try:
            self._start_dbus()
            self.start_pipewire()
            if self.procs["pipewire"].poll() is not None:
                return self
            if self.with_wireplumber:
                self._start_wireplumber()
            if self.with_pulse:
                self._start_pulse()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_dbus(self):
        p = self._spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                 "--address=unix:path=%s" % self.bus_path])
        self.procs["dbus"] = p
        self.wait_for(lambda: self.bus_path.exists() or p.poll() is not None, 10, "dbus socket")
        if p.poll() is not None:
            raise LabError("dbus-daemon exited: %s" % self._read(self.logdir / "dbus.log"))

    def start_pipewire(self, wait_ready=True):
        env = self.env()
        if self.pipewire_debug is not None:
            env["PIPEWIRE_DEBUG"] = str(self.pipewire_debug)
        p = self._spawn("pipewire", ["pipewire"], env=self.with_sanitizer_runtime(env))
        self.procs["pipewire"] = p
        if not wait_ready:
            return p
        sock = self.runtime / "pipewire-0"

        def ready():
            if p.poll() is not None:
                return True
            if not sock.exists():
                return False
            r = self.run(["pw-cli", "info", "0"], timeout=5, check=False)
            return r.returncode == 0
        self.wait_for(ready, self.start_timeout, "pipewire socket")
        return p

    def _start_wireplumber(self):
        p = self._spawn("wireplumber", ["wireplumber"])
        self.procs["wireplumber"] = p

        def ready():
            if p.poll() is not None:
                raise LabError("wireplumber exited (rc %s): %s" % (p.returncode, self.log_text("wireplumber")[-2000:]))
            # the "default" metadata object is created by wireplumber
            for o in self.pw_dump(quiet=True) or []:
                if o.get("type") == "PipeWire:Interface:Metadata" and \
                        (o.get("props") or {}).get("metadata.name") == "default":
                    return True
            return False
        self.wait_for(ready, self.start_timeout, "wireplumber 'default' metadata")

    def _start_pulse(self):
        p = self._spawn("pipewire-pulse", ["pipewire-pulse"])
        self.procs["pipewire-pulse"] = p

        def ready():
            if p.poll() is not None:
                raise LabError("pipewire-pulse exited (rc %s): %s" % (p.returncode, self.log_text("pipewire-pulse")[-2000:]))
            if not (self.runtime / "pulse" / "native").exists():
                return False
            return self.run(["pactl", "info"], timeout=5, check=False).returncode == 0
        self.wait_for(ready, self.start_timeout, "pipewire-pulse (pactl info)")

    @staticmethod
    def with_sanitizer_runtime(env):
        """The sanitizer run loads an ASan/UBSan build of our plugin into uninstrumented
        pipewire processes: the runtimes must then be preloaded. (Leaks are checked by
        load_unload.)"""
        preload = os.environ.get("DANTE_LAB_PIPEWIRE_PRELOAD")
        if preload:
            env["LD_PRELOAD"] = preload
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
            env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        return env

    def spawn(self, cmd, name=None, loads_module=False, as_user=False):
        """Start a background client (killed at stop() if still running). loads_module:
        the process loads our module (a `pipewire -c` process), so it gets the sanitizer
        runtimes in the sanitizer run. as_user: as the lab's user (a client of the session);
        by default as root (another host's tools, entered with ip netns exec)."""
        name = name or Path(cmd[0]).name
        env = self.with_sanitizer_runtime(self.env()) if loads_module else None
        p = self._spawn(name, cmd, env=env, logname="%s-%d.log" % (name, len(self._bg)), as_user=as_user)
        p.lab_log = self.logdir / ("%s-%d.log" % (name, len(self._bg)))
        self._bg.append(p)
        return p

    @staticmethod
    def _kill(p, grace=5.0):
        if p is None or p.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(p.pid, sig)   # our own session/process group (start_new_session)
            except ProcessLookupError:
                pass
            except PermissionError:
                p.send_signal(sig)
            try:
                p.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        for p in reversed(self._bg):
            self._kill(p, grace=2.0)
        for name in ("pipewire-pulse", "wireplumber", "pipewire", "dbus"):
            self._kill(self.procs.get(name))
        # reap our process groups' leftovers (e.g. a forked helper) - still only our pgids
        for p in list(self.procs.values()) + self._bg:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        sanitizer_report = None
        if self.tmp and self.logdir.exists():
            for log_file in sorted(self.logdir.glob("*.log")):  # pipewire's and any module process's
                text = self._read(log_file)
                for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
                    if marker in text and sanitizer_report is None:
                        sanitizer_report = log_file.name + ": " + text[text.index(marker):][:4000]
        if self.tmp and self.tmp.exists():
            if self.keep:
                log("lab dir kept: %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        if sanitizer_report:
            raise CheckFailed("the sanitizer reported an error in " + sanitizer_report)

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if et is not None and not isinstance(ev, (SystemExit,)):
            self.dump_logs_on_failure()
        elif et is SystemExit and ev.code not in (0, None):
            self.dump_logs_on_failure()
        self.stop()
        return False

    def dump_logs_on_failure(self, tail=60):
        if not self.tmp or not self.logdir.exists():
            return
        for f in sorted(self.logdir.glob("*.log")):
            lines = self._read(f).splitlines()
            if not lines:
                continue
            log("----- %s (last %d lines) -----" % (f.name, min(tail, len(lines))))
            for ln in lines[-tail:]:
                log("  | " + ln)

    # ---------------- running clients
    def run(self, cmd, timeout=10, check=True, input=None):
        """A client of the session, as the lab's user when it has one."""
        cmd = self.as_user(cmd)
        try:
            r = subprocess.run(cmd, env=self.env(), capture_output=True, text=True,
                               timeout=timeout, input=input, cwd=str(self.work),
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise LabError("command timed out after %ss: %s" % (timeout, " ".join(map(str, cmd))))
        if check and r.returncode != 0:
            raise LabError("command failed (rc %d): %s\nstdout: %s\nstderr: %s" %
                           (r.returncode, " ".join(map(str, cmd)), r.stdout[-2000:], r.stderr[-2000:]))
        return r

    def pw_dump(self, quiet=False):
        r = self.run(["pw-dump"], timeout=10, check=not quiet)
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            if quiet:
                return None
            raise

    def nodes(self, dump=None):
        dump = dump if dump is not None else self.pw_dump()
        return [o for o in dump if o.get("type") == "PipeWire:Interface:Node"]

    def find_node(self, node_name, dump=None):
        for o in self.nodes(dump):
            props = ((o.get("info") or {}).get("props") or {})
            if props.get("node.name") == node_name:
                return o
        return None

    def node_props(self, node_name):
        n = self.find_node(node_name)
        if n is None:
            raise LabError("node %s not found" % node_name)
        return n["info"]["props"]

    def wait_for(self, predicate, timeout, what="condition", interval=0.2):
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise LabError("timed out after %.1fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_node(self, node_name, timeout=10):
        return self.wait_for(lambda: self.find_node(node_name), timeout, "node %s" % node_name)

    def wait_mdns_published(self, timeout=15, node_name=SINK):
        """Until the sink's DNS-SD records are out (its own responder or avahi-daemon)."""
        return self.wait_for(lambda: self.node_props(node_name).get("dante.mdns.state") == "published", timeout,
                             "dante.mdns.state = published")

    # ---------------- logs
    @staticmethod
    def _read(path):
        try:
            return Path(path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_text(self, name="pipewire"):
        return self._read(self.logdir / (name + ".log"))

    def exit_code(self, name="pipewire", timeout=10):
        p = self.procs[name]
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


# --------------------------------------------------------------------------
# test signals

def lcg_signal(channels, frames, bits=24, seed=12345):
    """Deterministic per-channel pseudo-random samples, full-ish range, never 0,
    never clipping (|s| <= 0.95 * full scale). Returns list of per-channel lists."""
    full = (1 << (bits - 1)) - 1
    lim = int(full * 0.95)
    out = []
    for ch in range(channels):
        x = (seed * 2654435761 + ch * 40503 + 1) & 0xFFFFFFFF
        vals = []
        for _ in range(frames):
            x = (1103515245 * x + 12345) & 0x7FFFFFFF
            v = (x % (2 * lim + 1)) - lim
            if v == 0:
                v = 1
            vals.append(v)
        out.append(vals)
    return out


def ramp_signal(channels, frames, bits=24):
    full = (1 << (bits - 1)) - 1
    lim = int(full * 0.95)
    out = []
    for ch in range(channels):
        step = 997 * (ch + 1)
        vals = [((i * step + 1 + ch * 1000) % (2 * lim)) - lim or 1 for i in range(frames)]
        out.append(vals)
    return out


def make_wav(path, rate=48000, channels=2, frames=96000, kind="random", bits=24, seed=12345,
             pad_after=0):
    """Write a PCM WAV (S24 or S32 little-endian) with a known signal of `frames`
    frames, followed by `pad_after` frames of silence (not part of the result).
    Returns the per-channel sample lists (integers at `bits` resolution).

    Why pad_after: pw-cat 0.3.65 drops the last, partial quantum of a file (seen
    in the lab: 48000 frames at quantum 1024 lose the last 896 frames; a
    multiple of the quantum or paplay lose nothing), so tests that need every
    signal frame pad with >= the max quantum (8192) of silence."""
    if bits not in (16, 24, 32):
        raise ValueError("bits must be 16, 24 or 32")
    if kind == "random":
        sig = lcg_signal(channels, frames, bits, seed)
    elif kind == "ramp":
        sig = ramp_signal(channels, frames, bits)
    elif kind == "silence":
        sig = [[0] * frames for _ in range(channels)]
    else:
        raise ValueError("unknown kind %r" % kind)
    width = bits // 8
    buf = bytearray((frames + pad_after) * channels * width)
    o = 0
    for i in range(frames):
        for ch in range(channels):
            buf[o:o + width] = (sig[ch][i] & ((1 << bits) - 1)).to_bytes(width, "little")
            o += width
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(buf))
    return sig


# --------------------------------------------------------------------------
# ring tap reader

TAP_HEADER = struct.Struct("<QQQII")


class TapRecord:
    __slots__ = ("position", "nsec", "wake_ns", "frames", "channels", "samples")

    def __init__(self, position, nsec, wake_ns, frames, channels, samples):
        self.position = position
        self.nsec = nsec
        self.wake_ns = wake_ns
        self.frames = frames
        self.channels = channels
        self.samples = samples   # list (per channel) of array('i')

    def __repr__(self):
        return "TapRecord(pos=%d nsec=%d wake=%d frames=%d ch=%d)" % (
            self.position, self.nsec, self.wake_ns, self.frames, self.channels)


def read_tap(path, allow_partial_tail=True):
    """Parse the module's ring-tap file into a list of TapRecord.
    A truncated last record (file being appended to) is dropped if allow_partial_tail."""
    return read_tap_from(path, 0, allow_partial_tail)[0]


def read_tap_from(path, offset, allow_partial_tail=True):
    """The tap's records from byte `offset` on, and the offset after the last whole one:
    a long run (bench/soak.py) reads the growing file piece by piece."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    recs = []
    off = 0
    n = len(data)
    while off < n:
        if off + TAP_HEADER.size > n:
            if allow_partial_tail:
                break
            raise ValueError("truncated tap header at offset %d" % (offset + off))
        pos, nsec, wake, frames, chans = TAP_HEADER.unpack_from(data, off)
        if chans == 0 or chans > 64 or frames > 1 << 20:
            raise ValueError("implausible tap record at offset %d: frames=%d channels=%d" % (offset + off, frames, chans))
        body = frames * chans * 4
        start = off + TAP_HEADER.size
        if start + body > n:
            if allow_partial_tail:
                break
            raise ValueError("truncated tap record at offset %d" % (offset + off))
        samples = []
        for ch in range(chans):
            a = array.array("i")
            a.frombytes(data[start + ch * frames * 4: start + (ch + 1) * frames * 4])
            if sys.byteorder != "little":
                a.byteswap()
            samples.append(a)
        recs.append(TapRecord(pos, nsec, wake, frames, chans, samples))
        off = start + body
    return recs, offset + off


def tap_runs(recs):
    """Split records into runs of contiguous positions."""
    runs = []
    cur = []
    for r in recs:
        if cur and cur[-1].position + cur[-1].frames != r.position:
            runs.append(cur)
            cur = []
        cur.append(r)
    if cur:
        runs.append(cur)
    return runs


S24X2_FRAME = 6  # bytes of one 2-channel S24 frame in dante-rx's WAV


def wav_s24x2(path):
    """The raw frames of a 2-channel S24 48 kHz WAV (dante-rx's output), checked to be one."""
    with wave.open(str(path), "rb") as w:
        check(w.getsampwidth() == 3 and w.getnchannels() == 2 and w.getframerate() == 48000,
              "%s is 2-channel S24 at 48 kHz" % Path(path).name)
        return w.readframes(w.getnframes())


def tap_s24x2(slice0, slice1):
    """Two tap sample arrays (24-bit values << 8) -> S24 LE interleaved bytes, as in the WAV."""
    n = len(slice0)
    inter = array.array("i", bytes(8 * n))
    inter[0::2] = slice0
    inter[1::2] = slice1
    wide = inter.tobytes()
    out = bytearray(6 * n)
    out[0::3], out[1::3], out[2::3] = wide[1::4], wide[2::4], wide[3::4]
    return bytes(out)


def wire_vs_tap(recs, received, first_ts, frames):
    """A 2-channel S24 recording of channels 1,2 (`received`, starting at Dante timestamp
    `first_ts`, `frames` long) against the ring tap: (frames compared, frames differing,
    first differing timestamp). compared < frames means the tap lacks part of the window."""
    F = S24X2_FRAME
    compared = differing = 0
    first_bad = None
    for r in recs:
        lo, hi = max(r.position, first_ts), min(r.position + r.frames, first_ts + frames)
        if lo >= hi:
            continue
        exp = tap_s24x2(r.samples[0][lo - r.position:hi - r.position], r.samples[1][lo - r.position:hi - r.position])
        got = received[(lo - first_ts) * F:(hi - first_ts) * F]
        compared += hi - lo
        if got != exp:
            for i in range(hi - lo):
                if got[i * F:(i + 1) * F] != exp[i * F:(i + 1) * F]:
                    differing += 1
                    if first_bad is None:
                        first_bad = lo + i
    return compared, differing, first_bad


# --------------------------------------------------------------------------
# who drives the graph, from the profiler data pw-top shows (pw-top has no batch mode on
# 0.3.65). Nothing here depends on pw-profiler's human-readable wording, which changed in
# 1.x ("logging driver/follower" left stdout for the info log):
#   * where pw-profiler has --json (1.x), its JSON records name every driver and follower;
#   * otherwise (0.3.65) stdout names the driver ("logging driver N"), and the followers
#     come from the gnuplot scripts it writes on exit (Timing3.plot: title "name/id"), a
#     file both versions write the same way.
# Tests that need to know whether the Dante node drove also have its own ring tap
# (wake_ns != 0 for a cycle it drove).

_JSON_SUPPORT = {}


def _profiler_has_json(lab):
    if "json" not in _JSON_SUPPORT:
        r = lab.run(["pw-profiler", "--help"], timeout=10, check=False)
        _JSON_SUPPORT["json"] = "--json" in (r.stdout + r.stderr)
    return _JSON_SUPPORT["json"]


def _parse_profiler(out, plot_text="", json_mode=False):
    import re
    drivers, followers = [], []

    def add(lst, item):
        if item not in lst:
            lst.append(item)
    if json_mode:
        for line in out.splitlines():
            line = line.strip().rstrip(",")
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("type") == "driver":
                add(drivers, int(o["id"]))
            elif o.get("type") == "follower":
                add(followers, (int(o["id"]), str(o.get("name", ""))))
    else:
        for m in re.finditer(r"logging driver (\d+)", out):
            add(drivers, int(m.group(1)))
        for m in re.finditer(r'logging follower (\d+) \("([^"]*)"\)', out):
            add(followers, (int(m.group(1)), m.group(2)))
    for m in re.finditer(r'title "([^"]*)/(\d+)"', plot_text):
        add(followers, (int(m.group(2)), m.group(1)))
    return drivers, followers


def start_profiler(lab, seconds=2.0):
    """Start pw-profiler in the background for `seconds`; pass the result to finish_profiler()."""
    d = lab.work / ("prof-%d" % time.monotonic_ns())
    d.mkdir()
    json_mode = _profiler_has_json(lab)
    out = open(d / "stdout.txt", "wb")
    p = subprocess.Popen(["timeout", "-s", "INT", "-k", "3", str(seconds), "pw-profiler", "-o",
                          str(d / "profiler.log")] + (["--json"] if json_mode else []),
                         env=lab.env(), cwd=str(d), stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    lab._bg.append(p)
    p.prof_dir = d
    p.prof_seconds = seconds
    p.prof_json = json_mode
    return p


def finish_profiler(p):
    """Wait for start_profiler()'s run; return (driver_ids, [(follower_id, name)], stdout)."""
    try:
        p.wait(timeout=p.prof_seconds + 10)
    except subprocess.TimeoutExpired:
        PipeWireLab._kill(p)
    out = (p.prof_dir / "stdout.txt").read_text(errors="replace")
    plot = PipeWireLab._read(p.prof_dir / "Timing3.plot")
    shutil.rmtree(p.prof_dir, ignore_errors=True)
    return _parse_profiler(out, plot, p.prof_json) + (out,)


def profile_graph(lab, seconds=1.0):
    """Run pw-profiler for `seconds`; return (driver_ids, [(follower_id, name)])
    in the order pw-profiler reported them, plus its raw stdout."""
    return finish_profiler(start_profiler(lab, seconds))
