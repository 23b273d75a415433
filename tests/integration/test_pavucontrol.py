#!/usr/bin/env python3
"""pavucontrol (as a person sees it) lists the Dante Transmitter.

Starts the lab (pipewire + wireplumber + pipewire-pulse), an Xvfb server on a
free display (-displayfd, no TCP), `pavucontrol --tab=3` (Output Devices),
takes a screenshot with ImageMagick's `import -window root`, saves it as
<artifacts>/pavucontrol.png and OCRs it with tesseract: the text
"Dante Transmitter" must appear (retrying on the window trimmed and upscaled 3x).
Exits 77 (skip) if tesseract is not installed.

--desktop: the desktop case. The session and pavucontrol run as `nobody` without any
capability, the sink is on dante.interface in a private network namespace, and its clock
comes from pipewire-dante-ptp started as root the way its unit starts it
(test_desktop_user.py); the screenshot is pavucontrol-desktop.png. The device has 2 RX
channels there too, so pavucontrol's Input Devices tab (`--tab=4`) must show the "Dante
Receiver" as well (pavucontrol-desktop-input.png).
"""
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (build_dir, make_lab, parse_args, main_wrapper, check, log, lab_args, SINK,  # noqa: E402
                   LabError, EXIT_SKIP)

WANT = "Dante Transmitter"
WANT_SOURCE = "Dante Receiver"


def convert_bin():
    # /usr/local/bin/convert may be a stand-in; use ImageMagick's own binary
    for c in ("/usr/bin/convert", "/usr/bin/convert-im6.q16", "/usr/bin/magick"):
        if os.path.exists(c):
            return c
    return shutil.which("convert")


def ocr(lab, png):
    r = lab.run(["tesseract", str(png), "stdout"], timeout=60, check=False)
    return r.stdout


def found(text, want):
    return want.lower() in re.sub(r"\s+", " ", text).lower()


def start_xvfb(lab):
    rfd, wfd = os.pipe()
    logf = open(lab.logdir / "xvfb.log", "wb")
    p = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x800x24",
                          "-nolisten", "tcp", "-noreset"],
                         pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                         start_new_session=True, env=lab.env(), cwd=str(lab.work))
    logf.close()
    os.close(wfd)
    lab._bg.append(p)   # stopped with the lab
    import select
    buf = b""
    deadline = time.monotonic() + 15
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or p.poll() is not None:
            os.close(rfd)
            raise LabError("Xvfb did not report a display: %s" % lab._read(lab.logdir / "xvfb.log")[-1000:])
        r, _, _ = select.select([rfd], [], [], left)
        if r:
            chunk = os.read(rfd, 64)
            if not chunk:
                break
            buf += chunk
    os.close(rfd)
    return ":" + buf.decode().strip(), p


def body():
    def extra(ap):
        ap.add_argument("--artifacts", default=None, help="dir for pavucontrol.png (default <build>/tests/artifacts)")
        ap.add_argument("--desktop", action="store_true",
                        help="as an unprivileged user, on pipewire-dante-ptp's clock")
    a = parse_args(__doc__, extra=extra)
    if not shutil.which("tesseract"):
        log("SKIP: tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")
        return EXIT_SKIP
    for tool in ("Xvfb", "pavucontrol", "import"):
        if not shutil.which(tool):
            log("SKIP: %s not installed" % tool)
            return EXIT_SKIP
    build = build_dir(a)
    if a.artifacts:
        artifacts = Path(a.artifacts)
    elif build.is_dir():
        artifacts = build / "tests" / "artifacts"
    else:   # don't create a build dir that isn't there (e.g. --fake-sink before a build)
        import tempfile
        artifacts = Path(tempfile.gettempdir()) / "pwlab-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    png = artifacts / ("pavucontrol-desktop.png" if a.desktop else "pavucontrol.png")

    with contextlib.ExitStack() as stack:
        if a.desktop:
            from netlab import NetLab
            from test_desktop_user import start_service, USER
            net = stack.enter_context(NetLab("pavu"))
            lab = stack.enter_context(make_lab(a, module_args=lab_args(**{"dante.interface": net.tx_if,
                                                                          "dante.rx.channels": 2}),
                                               netns=net.tx, user=USER))
            start_service(lab, net, build.resolve())
            lab.wait_node(SINK, timeout=10)
            lab.wait_for(lambda: lab.node_props(SINK).get("dante.clock.state") == "master", 15,
                         "the sink to lead on pipewire-dante-ptp's clock")
            check(True, "the sink (in nobody's session) runs on %s" % lab.node_props(SINK).get("dante.clock.provider"))
        else:
            lab = stack.enter_context(make_lab(a, module_args=lab_args()))
            lab.wait_node(SINK, timeout=10)
        screenshot(lab, png, "sinks", SINK, 3, WANT)
        if a.desktop:
            source = SINK.replace("dante_sink.", "dante_source.", 1)
            screenshot(lab, png.with_name("pavucontrol-desktop-input.png"), "sources", source, 4, WANT_SOURCE)
    return 0


def screenshot(lab, png, kind, node, tab, want):
    """pavucontrol's devices tab `tab`, OCRed: it must list `want` (pulse lists `node`
    among its `kind` first)."""
    lab.wait_for(lambda: node in lab.run(["pactl", "list", "short", kind]).stdout, 10,
                 "pulse to list %s" % node)
    display, xvfb = start_xvfb(lab)
    log("Xvfb on %s" % display)
    env = lab.env()
    env.update({"DISPLAY": display, "GSETTINGS_BACKEND": "memory", "NO_AT_BRIDGE": "1"})
    logf = open(lab.logdir / "pavucontrol.log", "wb")
    pv = subprocess.Popen(lab.as_user(["pavucontrol", "--tab=%d" % tab]), env=env, stdin=subprocess.DEVNULL,
                          stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                          cwd=str(lab.work))
    logf.close()
    lab._bg.append(pv)

    # wait for a pavucontrol window to be mapped
    def mapped():
        if pv.poll() is not None:
            raise LabError("pavucontrol exited (rc %s): %s" %
                           (pv.returncode, lab._read(lab.logdir / "pavucontrol.log")[-1500:]))
        if not shutil.which("xwininfo"):
            return True
        r = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                           text=True, timeout=10)
        return "Volume Control" in r.stdout
    lab.wait_for(mapped, 20, "pavucontrol window", interval=0.5)

    text = ""
    tmp = lab.work / "shot.png"
    big = lab.work / "shot-big.png"
    ok = False
    for attempt in range(4):
        time.sleep(2.0 if attempt == 0 else 2.5)   # let it connect and draw the sink list
        subprocess.run(["import", "-display", display, "-window", "root", str(tmp)], env=env,
                       timeout=20, check=True, capture_output=True)
        shutil.copyfile(tmp, png)
        text = ocr(lab, tmp)
        if found(text, want):
            ok = True
            break
        cv = convert_bin()
        if cv:
            # The window only (-trim drops the black root around it), 3x: tesseract misreads
            # the small text next to the device icon otherwise.
            subprocess.run([cv, str(tmp), "-trim", "+repage", "-resize", "300%", str(big)], timeout=30, check=True,
                           capture_output=True)
            text2 = ocr(lab, big)
            if found(text2, want):
                text = text2
                ok = True
                log("  (found on the trimmed, 3x upscaled image)")
                break
            text = text + "\n--- trimmed, 3x ---\n" + text2
        log("  attempt %d: %r not in OCR text yet" % (attempt + 1, want))
    # pavucontrol is a single-instance GTK application: a second one started while this one
    # runs only raises this window and exits. Stop it (and its display) for the next shot.
    lab._kill(pv)
    lab._kill(xvfb)
    log("screenshot: %s" % png)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    log("OCR text (first 25 lines):\n" + "\n".join("    " + ln for ln in lines[:25]))
    check(ok, "OCR of pavucontrol's %s tab shows %r" % ("Output Devices" if tab == 3 else "Input Devices", want))


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
