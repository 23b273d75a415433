#!/usr/bin/env python3
"""Wake-up statistics from a ring-tap file (format: src/tx/ring_tap.hpp), stdlib only.

usage: tap_stats.py TAP QUANTUM RUN_NAME

Per driving record (wake_ns != 0, not the first of a contiguous run): wake error =
wake_ns - nsec, the timer's lateness against the media-clock deadline it was armed for.
Also: cycle sizes, position breaks (split into whole missed cycles, i.e. graph cycles
whose process() never ran, and anything else), records of pure silence between the
first and last audible record (upstream underruns: the player did not deliver), and the
cadence of the nominal deadlines. Prints '##' lines and one 'RESULT|...' line.
"""
import struct
import sys

path, q, run = sys.argv[1], int(sys.argv[2]), sys.argv[3]
H = struct.Struct("<QQQII")
recs = []      # (position, nsec, wake_ns, frames, silent)
with open(path, "rb") as f:
    data = f.read()
off = 0
while off + H.size <= len(data):
    pos, nsec, wake, frames, ch = H.unpack_from(data, off)
    body = frames * ch * 4
    start = off + H.size
    if start + body > len(data):
        break
    silent = not data[start:start + body].strip(b"\x00")
    recs.append((pos, nsec, wake, frames, silent))
    off = start + body
if not recs:
    print("##   NO TAP RECORDS")
    print("RESULT|%s|0|-|-|-|-|-|-|-|-|-" % run)
    sys.exit(0)

frames_hist = {}
for r in recs:
    frames_hist[r[3]] = frames_hist.get(r[3], 0) + 1
missed_cycles = 0
other_breaks = 0
starts = {0}
for i, (a, b) in enumerate(zip(recs, recs[1:])):
    if b[0] == a[0] + a[3]:
        continue
    starts.add(i + 1)
    gap = b[0] - (a[0] + a[3])
    if 0 < gap and a[3] and gap % a[3] == 0 and gap // a[3] <= 4:
        missed_cycles += gap // a[3]
    else:
        other_breaks += 1
breaks = len(starts) - 1
audible = [i for i, r in enumerate(recs) if not r[4]]
underruns = sum(1 for r in recs[audible[0]:audible[-1] + 1] if r[4]) if audible else 0
driving = [r for i, r in enumerate(recs) if r[2] != 0 and i not in starts]
followers = sum(1 for r in recs if r[2] == 0)
err = sorted((r[2] - r[1]) / 1000.0 for r in driving)  # us


def pct(p):
    return err[min(len(err) - 1, int(round(p / 100.0 * (len(err) - 1))))]


cad = [(b[1] - a[1]) - a[3] * 1e9 / 48000 for a, b in zip(recs, recs[1:]) if b[0] == a[0] + a[3]]
span = (recs[-1][1] - recs[0][1]) / 1e9
print("##   records %d over %.1f s (audible %.1f s), frames per cycle %s, follower records %d" %
      (len(recs), span, (recs[audible[-1]][1] - recs[audible[0]][1]) / 1e9 if audible else 0,
       dict(sorted(frames_hist.items())), followers))
print("##   positions: %d breaks = %d whole missed cycles (process() not run) + %d other jumps; "
      "%d silent records inside the audio (player underruns)" % (breaks, missed_cycles, other_breaks, underruns))
if not err:
    print("RESULT|%s|0|-|%d|%d|-|-|-|-|-|-" % (run, breaks, underruns))
    sys.exit(0)
over = sum(1 for e in err if e > 50)
late_q = sum(1 for e in err if e > q / 48.0 * 1000)  # a whole quantum late
print("##   wake error us: min %.1f p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f; >50us: %d (%.2f%%); "
      ">1 quantum: %d" % (err[0], pct(50), pct(90), pct(99), pct(99.9), err[-1], over, 100.0 * over / len(err), late_q))
print("##   deadline cadence (nsec step - frames/rate): max |%.1f| ns" % max((abs(c) for c in cad), default=0))
print("RESULT|%s|%d|%s|%d|%d|%.1f|%.1f|%.1f|%.1f|%.2f|%s" % (
    run, len(driving), "/".join(str(k) for k in sorted(frames_hist)), breaks, underruns, pct(50), pct(99),
    pct(99.9), err[-1], 100.0 * over / len(err), "yes" if pct(99) <= 50 else "NO"))
