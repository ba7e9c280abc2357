#!/usr/bin/env bash
# Run the whole test suite under meson and end with one summary line.
set -uo pipefail
build=${1:-build}
jobs=${2:-2}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
meson test -C "$build" --num-processes "$jobs" --print-errorlogs 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(python3 "$(dirname "$0")/meson-summary.py" < "$log")
sstatus=$?
echo
echo "$summary"
[[ $status -eq 0 && $sstatus -eq 0 ]]
