#!/usr/bin/env python3
"""Turn meson test's summaries (one or several runs, read from a log on
stdin) into the one line CI reads, summed over the runs:
'N passed, N failed, N skipped'. Timeouts and unexpected passes count as
failures; expected failures as passes."""
import re
import sys

counts = {}
for line in sys.stdin:
    m = re.match(r"^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout):\s+(\d+)\s*$", line.strip())
    if m:
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
if not counts:
    print("0 passed, 1 failed")
    print("meson-summary: no meson test summary found", file=sys.stderr)
    sys.exit(1)
passed = counts.get("Ok", 0) + counts.get("Expected Fail", 0)
failed = counts.get("Fail", 0) + counts.get("Timeout", 0) + counts.get("Unexpected Pass", 0)
skipped = counts.get("Skipped", 0)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
