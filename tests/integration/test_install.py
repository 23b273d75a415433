#!/usr/bin/env python3
"""`meson install` puts everything where PipeWire and systemd look, and the installed
module loads from PipeWire's own module directory.

The test re-runs itself in a private mount namespace where /usr is an overlay whose
writable layer is a temp dir: the install there is real (`meson install`, no DESTDIR, the
build's own prefix), yet nothing reaches the machine's /usr. Inside:
  * the module is in PipeWire's module dir, the plugin in SPA's plugin dir, the drop-in,
    the clock service's binary, and its systemd unit (whose ExecStart names that binary);
  * systemd-analyze verify accepts the installed unit, where systemd-analyze exists;
  * a PipeWire session with no SPA_PLUGIN_DIR/PIPEWIRE_MODULE_DIR override and the
    installed drop-in (device name filled in) lists the Dante sink.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, PipeWireLab, parse_args, main_wrapper, check, log, SINK, DEVICE,  # noqa: E402
                   SYSTEM_MODULE_DIR, SYSTEM_SPA_DIR, EXIT_SKIP)

INSIDE = "DANTE_TEST_INSTALL_OVERLAY"


def reexec_in_overlay():
    upper = Path(tempfile.mkdtemp(prefix="dante-install-"))
    (upper / "upper").mkdir()
    (upper / "work").mkdir()
    script = ('mount -t overlay overlay -o lowerdir=/usr,upperdir="$1/upper",workdir="$1/work" /usr && '
              'shift && exec "$@"')
    env = dict(os.environ, **{INSIDE: "1"})
    try:
        return subprocess.call(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                                str(upper), sys.executable, __file__] + sys.argv[1:], env=env)
    finally:
        shutil.rmtree(upper, ignore_errors=True)


def build_option(build, name):
    r = subprocess.run(["meson", "introspect", "--buildoptions", str(build)], capture_output=True, text=True,
                       timeout=60, check=True)
    for o in json.loads(r.stdout):
        if o["name"] == name:
            return o["value"]
    raise KeyError(name)


def body():
    a = parse_args(__doc__)
    build = build_dir(a)
    if os.environ.get(INSIDE) != "1":
        if os.path.realpath("/lib") != "/usr/lib":
            log("SKIP: /lib is not /usr/lib here (no merged /usr): only /usr is overlaid, so the unit "
                "would be installed for real")
            return EXIT_SKIP
        return reexec_in_overlay()
    prefix = Path(build_option(build, "prefix"))
    check(str(prefix).startswith("/usr"), "the build's prefix %s is under the overlaid /usr" % prefix)
    r = subprocess.run(["meson", "install", "--no-rebuild", "-C", str(build)], capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, "meson install succeeded (rc %d) %s" % (r.returncode, r.stderr[-500:]))

    module = Path(SYSTEM_MODULE_DIR) / "libpipewire-module-dante-sink.so"
    plugin = Path(SYSTEM_SPA_DIR) / "dante" / "libspa-dante.so"
    libexec = prefix / build_option(build, "libexecdir") / "pipewire-dante" / "pipewire-dante-ptp"
    dropin = prefix / build_option(build, "datadir") / "pipewire-dante" / "50-dante-sink.conf"
    for path in (module, plugin, libexec, dropin):
        check(path.exists(), "installed: %s" % path)
    check(os.access(libexec, os.X_OK), "the clock service is executable")
    # systemd's own unit dir where systemd.pc names it; else <prefix>/lib/systemd/system
    # (/usr/local/lib/systemd/system is on systemd's search path too)
    units = [p for p in (Path("/usr/lib/systemd/system/pipewire-dante-ptp@.service"),
                         Path("/lib/systemd/system/pipewire-dante-ptp@.service"),
                         prefix / "lib" / "systemd" / "system" / "pipewire-dante-ptp@.service") if p.exists()]
    check(bool(units), "the systemd unit is in systemd's system unit directory")
    exec_start = [ln for ln in units[0].read_text().splitlines() if ln.startswith("ExecStart=")][0]
    check(exec_start.split()[0] == "ExecStart=%s" % libexec, "its ExecStart runs the installed binary")
    if shutil.which("systemd-analyze"):
        v = subprocess.run(["systemd-analyze", "verify", str(units[0])], capture_output=True, text=True, timeout=60)
        check(v.returncode == 0 and not v.stderr.strip(),
              "systemd-analyze verify accepts the installed unit %s" % v.stderr.strip()[:300])
    h = subprocess.run([str(libexec), "--help"], capture_output=True, text=True, timeout=10)
    check(h.returncode == 0 and "--interface" in h.stdout, "the installed clock service runs")

    text = dropin.read_text().replace('#dante.device-name  = "my-pc"', 'dante.device-name = "%s"' % DEVICE)
    check('dante.device-name = "%s"' % DEVICE in text, "the installed drop-in takes a device name")
    with PipeWireLab(a.repo, build=build, installed=True, dropin_text=text, keep=a.keep,
                     with_wireplumber=False, with_pulse=False) as lab:
        lab.wait_node(SINK, timeout=10)
        check(True, "PipeWire loaded the installed module from %s: %s is listed" % (SYSTEM_MODULE_DIR, SINK))
        env = lab.env()
        check(env["PIPEWIRE_MODULE_DIR"] == SYSTEM_MODULE_DIR and env["SPA_PLUGIN_DIR"] == SYSTEM_SPA_DIR,
              "with no build-tree directory in its search paths")
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
