#!/usr/bin/env python3
"""Adds up meson test logs and prints each failure (with the lines of its output that say
why, since CI shows only the end of its log) and skip, a subtotal per distribution, and
the closing line 'N passed, N failed, N skipped' for all of them together.
Args: testlog.json files, each optionally labelled with where it ran: 'debian13:PATH'
(unlabelled: 'debian12'). Exit 1 if anything failed or no test ran at all."""
import json
import re
import sys

# Lines of a failed test's output worth repeating at the end: our tests' "FAIL:" lines,
# sanitizer reports and doctest's failed checks.
WHY = re.compile(r"^\s*(FAIL|ERROR: AddressSanitizer|SUMMARY: |.*runtime error:|.*ERROR: CHECK|.*\bTIMEOUT\b)")
MAX_WHY_LINES = 6
# And the measurements our tests logged (indented lines) just before the first FAIL, so a
# failure on a machine nobody can log into can still be explained.
MEASURED = re.compile(r"^    \S")
MAX_MEASURED_LINES = 8


def why_failed(test):
    text = (test.get("stdout") or "") + "\n" + (test.get("stderr") or "")
    all_lines = text.splitlines()
    lines = [ln.rstrip()[:300] for ln in all_lines if WHY.match(ln)]
    if not lines:  # no line says it: the end of the output, as meson would show
        return [ln.rstrip()[:300] for ln in text.strip().splitlines()[-3:]]
    first_fail = next(i for i, ln in enumerate(all_lines) if WHY.match(ln))
    measured = [ln.rstrip()[:300] for ln in all_lines[:first_fail] if MEASURED.match(ln)]
    return measured[-MAX_MEASURED_LINES:] + lines[:MAX_WHY_LINES]


totals = {}  # label -> [passed, failed, skipped]
for arg in sys.argv[1:]:
    m = re.match(r"^([a-z0-9]+):(.+)$", arg)
    label, path = (m.group(1), m.group(2)) if m else ("debian12", arg)
    t_label = totals.setdefault(label, [0, 0, 0])
    build = path.split("/")[-3] if path.count("/") >= 2 else path
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"missing test log {path} ({label}): that run did not happen")
        t_label[1] += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        result = t.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            t_label[0] += 1
        elif result == "SKIP":
            t_label[2] += 1
            print(f"skipped: {label}: {build}: {t.get('name')}")
        else:
            t_label[1] += 1
            print(f"FAILED: {label}: {build}: {t.get('name')} ({result})")
            for why in why_failed(t):
                print(f"    | {why}")
passed, failed, skipped = (sum(v[i] for v in totals.values()) for i in range(3))
if len(totals) > 1:
    for label, (p, f, s) in totals.items():
        print(f"  {label}: {p} passed, {f} failed, {s} skipped")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
