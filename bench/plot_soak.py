#!/usr/bin/python3
"""Plots a fault soak's record (bench/soak.py --out DIR) as one PNG: the pipewire
process's RSS and open fds over the run, with each fault marked where it was injected
(red when it did not recover) and each failed steady interval shaded; and every fault's
recovery time by kind.

  /usr/bin/python3 bench/plot_soak.py DIR/soak.json OUT.png

Needs matplotlib (Debian: python3-matplotlib, hence Debian's own python3).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    record = json.load(open(argv[1]))
    samples, faults, intervals = record["samples"], record["faults"], record["intervals"]
    minutes = [s["t"] / 60 for s in samples]

    fig, (mem, fds, rec) = plt.subplots(3, 1, figsize=(10, 9), gridspec_kw={"height_ratios": [2, 1, 2]})
    summary = record.get("summary", {})
    fig.suptitle("Fault soak: %.0f min, %d faults, %d steady intervals (%d failed)" % (
        summary.get("duration_s", samples[-1]["t"] if samples else 0) / 60, len(faults), len(intervals),
        sum(1 for i in intervals if not i.get("ok", True))))

    mem.plot(minutes, [s["rss_kb"] / 1024 for s in samples], color="tab:blue")
    mem.set_ylabel("pipewire RSS (MiB)")
    fds.plot(minutes, [s["fds"] for s in samples], color="tab:green", drawstyle="steps-post")
    fds.set_ylabel("open fds")
    fds.set_xlabel("minutes")
    for ax in (mem, fds):
        for f in faults:
            ax.axvline(f["t"] / 60, color="tab:gray" if f["ok"] else "tab:red", linewidth=0.5, alpha=0.6)
        for i in intervals:
            if not i.get("ok", True):
                ax.axvspan(i["t0"] / 60, i["t1"] / 60, color="tab:red", alpha=0.2)
        ax.grid(True, alpha=0.3)
    low, high = mem.get_ylim()
    mem.set_ylim(0, high * 1.1)  # from zero: a slope shows as what it is, not magnified

    kinds = sorted({f["kind"] for f in faults})
    for row, kind in enumerate(kinds):
        these = [f for f in faults if f["kind"] == kind]
        ok = [f["recovery_s"] for f in these if f["ok"] and f["recovery_s"] is not None]
        bad = [f["recovery_s"] or 0 for f in these if not f["ok"]]
        rec.scatter(ok, [row] * len(ok), color="tab:blue", s=18)
        if bad:
            rec.scatter(bad, [row] * len(bad), color="tab:red", marker="x", s=30)
    rec.set_yticks(range(len(kinds)))
    rec.set_yticklabels(kinds)
    rec.set_xlabel("recovery (s): from the fault to its defined end state (red x: not recovered)")
    rec.grid(True, axis="x", alpha=0.3)

    fig.tight_layout()
    fig.savefig(argv[2], dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
