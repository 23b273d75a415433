#!/usr/bin/env python3
"""The Dante sink is visible to PulseAudio clients and in the PipeWire graph.

Checks: `pactl list short sinks` lists dante_sink.lab-tx; `pactl list sinks`
shows the description "Dante Transmitter (lab-tx)" with 2 channels at 48000 Hz;
pw-dump shows the node with media.class Audio/Sink.
"""
import re
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_wrapper, check, log,  # noqa: E402
                   lab_args, SINK, DESCRIPTION)


def pactl_sink_block(text, name):
    """The `pactl list sinks` block whose Name: is `name`."""
    for block in re.split(r"\n(?=Sink #)", text):
        if re.search(r"^\s*Name:\s*%s\s*$" % re.escape(name), block, re.M):
            return block
    return None


def body():
    a = parse_args(__doc__)
    with make_lab(a, module_args=lab_args()) as lab:
        log("lab up in %s; waiting for node %s" % (lab.tmp, SINK))
        lab.wait_node(SINK, timeout=10)

        # pulse may see the node a moment after pipewire does
        def short_has():
            out = lab.run(["pactl", "list", "short", "sinks"]).stdout
            return out if any(ln.split("\t")[1:2] == [SINK] for ln in out.splitlines()) else None
        try:
            short = lab.wait_for(short_has, 10, "pactl list short sinks to list %s" % SINK)
        except Exception:
            short = lab.run(["pactl", "list", "short", "sinks"]).stdout
            log("pactl list short sinks:\n" + short)
            check(False, "`pactl list short sinks` lists %s" % SINK)
        log("pactl list short sinks:\n" + short.rstrip())
        check(True, "`pactl list short sinks` lists %s" % SINK)

        full = lab.run(["pactl", "list", "sinks"]).stdout
        block = pactl_sink_block(full, SINK)
        check(block is not None, "`pactl list sinks` has a block for %s" % SINK)
        log("\n".join("    " + ln for ln in block.splitlines()[:12]))
        m = re.search(r"^\s*Description:\s*(.*)$", block, re.M)
        desc = m.group(1).strip() if m else None
        check(desc == DESCRIPTION, "description is %r (got %r)" % (DESCRIPTION, desc))
        m = re.search(r"^\s*Sample Specification:\s*(\S+)\s+(\d+)ch\s+(\d+)Hz", block, re.M)
        check(m is not None, "sample specification present")
        check(m.group(2) == "2", "2 channels (got %s, format %s)" % (m.group(2), m.group(1)))
        check(m.group(3) == "48000", "48000 Hz (got %s)" % m.group(3))

        node = lab.find_node(SINK)
        props = node["info"]["props"]
        check(props.get("media.class") == "Audio/Sink",
              "pw-dump: media.class of %s is Audio/Sink (got %r)" % (SINK, props.get("media.class")))
        check(props.get("node.description") == DESCRIPTION,
              "pw-dump: node.description is %r (got %r)" % (DESCRIPTION, props.get("node.description")))
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
