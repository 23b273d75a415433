#!/usr/bin/env python3
"""A bad module argument makes the Dante module refuse to load, loudly.

For each case (audio.rate = 12345, dante.bogus = 1, audio.format = "F64",
dante.clock.source = ptp without dante.interface):
start only pipewire (no wireplumber / pipewire-pulse) with the module in
context.modules; pipewire must exit non-zero (or at least not create the
dante_sink.lab-tx node), and its log must name the offending arg.
A control run with good args first proves the module loads at all.
"""
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_wrapper, check, log, lab_args, SINK)  # noqa: E402

CASES = [
    ("audio.rate", {"audio.rate": 12345}),
    ("dante.bogus", {"dante.bogus": 1}),
    ("audio.format", {"audio.format": "F64"}),
    # The built-in PTP engine only runs on a named interface.
    ("dante.interface", {"dante.clock.source": "ptp"}),
]


def body():
    a = parse_args(__doc__)
    failures = []

    log("control: good args")
    with make_lab(a, module_args=lab_args(), with_pulse=False, with_wireplumber=False) as lab:
        rc = lab.procs["pipewire"].poll()
        check(rc is None, "pipewire keeps running with good args (rc %r)" % rc)
        lab.wait_node(SINK, timeout=10)
        check(True, "node %s exists with good args" % SINK)

    for argname, bad in CASES:
        log("case: %s" % ", ".join("%s = %r" % kv for kv in bad.items()))
        with make_lab(a, module_args=lab_args(**bad), with_pulse=False, with_wireplumber=False) as lab:
            rc = lab.exit_code("pipewire", timeout=8)
            node = None
            if rc is None:
                node = lab.find_node(SINK)
            text = lab.log_text()
            # an error-level line ("[E]") naming the arg
            lines = [ln for ln in text.splitlines() if argname in ln and ln.startswith("[E]")]
            log("    pipewire exit code: %s" % ("still running after 8 s" if rc is None else rc))
            for ln in lines[:5]:
                log("    log: " + ln)
            if rc is None:
                ok = node is None
                msg = "pipewire did not exit but did not create %s" % SINK if ok else \
                    "pipewire kept running AND created %s despite %s" % (SINK, argname)
            else:
                ok = rc != 0
                msg = "pipewire exited non-zero (%d)" % rc if ok else "pipewire exited 0"
            if ok:
                log("  ok: " + msg)
            else:
                log("  FAILED: " + msg)
                failures.append("%s: %s" % (argname, msg))
            if lines:
                log("  ok: an error line in the log names %s" % argname)
            else:
                log("  FAILED: no error line in the log names %s; log tail:" % argname)
                for ln in text.splitlines()[-15:]:
                    log("    | " + ln)
                failures.append("%s: log does not name the arg" % argname)
    check(not failures, "all bad-arg cases rejected and named" + ("" if not failures else ": " + "; ".join(failures)))
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
