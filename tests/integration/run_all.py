#!/usr/bin/env python3
"""Run every tests/integration/test_*.py in turn; print one summary line
"N passed, N failed, N skipped". Extra args are passed to each test
(e.g. --repo, --build, --keep, --fake-sink)."""
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    tests = sorted(HERE.glob("test_*.py"))
    res = {}
    for t in tests:
        print("=" * 20, t.name, flush=True)
        t0 = time.monotonic()
        try:
            rc = subprocess.run([sys.executable, str(t)] + sys.argv[1:], timeout=150).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        res[t.name] = rc
        print("==> %s: %s (%.1f s)" % (t.name, {0: "PASS", 77: "SKIP"}.get(rc, "FAIL rc=%s" % rc),
                                       time.monotonic() - t0), flush=True)
    p = sum(1 for v in res.values() if v == 0)
    s = sum(1 for v in res.values() if v == 77)
    f = len(res) - p - s
    print("%d passed, %d failed, %d skipped" % (p, f, s))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
