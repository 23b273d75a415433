#!/usr/bin/env python3
"""The module also runs in a process of its own (`pipewire -c dante-sink.conf`, or
pw-cli's load-module): it then exports the sink to the running server.

Starts the lab's daemon without the module, then a second `pipewire -c CONF` process whose
config loads the module (the shape of conf/dante-sink.conf). Checks: pactl lists the sink;
pw-cat plays into it and the audio lands in its TX rings with the node driving; stopping
the process removes the sink from the graph.
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pwlab import (make_lab, parse_args, main_wrapper, check, log, make_wav, read_tap,  # noqa: E402
                   render_module_conf)

DEVICE = "proc-tx"
# The daemon's own sink, as a user's sound card would be (wireplumber also waits for one
# before it publishes its "default" metadata).
OTHER_SINK = """context.objects = [
  { factory = adapter
    args = { factory.name = support.null-audio-sink node.name = "lab-speakers" media.class = Audio/Sink
             audio.channels = 2 audio.rate = 48000 audio.position = [ FL FR ] } }
]
"""
SINK = "dante_sink." + DEVICE


def body():
    a = parse_args(__doc__)
    with make_lab(a, with_module=False, extra_conf=OTHER_SINK) as lab:
        tap = lab.tmp / "tap.bin"
        conf = lab.work / "dante-sink.conf"
        repo_conf = (Path(a.repo) / "conf" / "dante-sink.conf").read_text()
        # the shipped config, with its module args filled in
        head = repo_conf[:repo_conf.index("    {   name = libpipewire-module-dante-sink")]
        module = render_module_conf({"dante.device-name": DEVICE, "dante.debug.ring-tap": str(tap)})
        entry = module[module.index("[\n") + 2:module.rindex("]")]
        conf.write_text(head + entry + "]\n")
        proc = lab.spawn(["pipewire", "-c", str(conf)], name="dante-process", loads_module=True)
        lab.wait_for(lambda: lab.find_node(SINK) is not None or proc.poll() is not None, 10, "the exported sink")
        check(proc.poll() is None, "the separate process keeps running (%s)" % lab._read(proc.lab_log)[-400:])
        short = lab.run(["pactl", "list", "short", "sinks"]).stdout
        lab.wait_for(lambda: SINK in lab.run(["pactl", "list", "short", "sinks"]).stdout, 10, "pactl to list it")
        check(True, "pactl lists %s, served from another process" % SINK)
        log(short.rstrip())

        wav = lab.work / "signal.wav"
        sig = make_wav(wav, frames=48000, pad_after=8192)
        play = lab.run(["timeout", "20", "pw-cat", "--playback", "--target", SINK, str(wav)], timeout=30, check=False)
        check(play.returncode == 0, "pw-cat played into it (rc %s)" % play.returncode)
        recs = read_tap(tap)
        audio = [r for r in recs if any(r.samples[0])]
        check(audio and all(r.wake_ns for r in audio), "the audio reached its TX rings with the node driving")
        ch0 = [v for r in recs for v in r.samples[0]]
        first = next(i for i, v in enumerate(ch0) if v)
        check(ch0[first:first + len(sig[0])] == [v << 8 for v in sig[0]], "bit-exact, contiguous")

        proc.terminate()
        proc.wait(timeout=10)
        lab.wait_for(lambda: lab.find_node(SINK) is None, 10, "the sink to leave the graph")
        check(True, "stopping the process removes the sink")


if __name__ == "__main__":
    sys.exit(main_wrapper(body))
