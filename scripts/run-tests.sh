#!/usr/bin/env bash
# Run the whole test suite under meson, then the C suites (library,
# elements, the server's unit tests) again built with AddressSanitizer +
# UndefinedBehaviorSanitizer and leak detection, the server's black-box
# tests against that instrumented server, and the element suites under
# valgrind; end with one summary line over every run.
set -uo pipefail
build=${1:-build}
jobs=${2:-2}
asan=${BUILD_ASAN:-${build}-asan}
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

meson test -C "$build" --num-processes "$jobs" --print-errorlogs 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

echo
echo "== C suites under ASan + UBSan ($asan) =="
if [[ ! -f "$asan/build.ninja" ]]; then
  # No system plugins: the C suites need only ours, and scanning the
  # system's inside an instrumented process reports their load-time
  # allocations as leaks.
  meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug -Dgst_system_plugins=false >/dev/null || status=1
fi
ninja -C "$asan" -j "$jobs" >/dev/null || status=1
# GST_REGISTRY_FORK=no: the system's plugin scanner is not built with ASan
# and cannot load our instrumented plugin; scan in the test process.
# CK_FORK=no: gst-check runs each test in a forked child by default, whose
# leaks are never reported; in one process they are.
GST_REGISTRY_FORK=no CK_FORK=no VZ_TEST_TIME_SCALE=5 \
ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$top/tests/sanitizers/lsan.supp \
  meson test -C "$asan" --suite lib --suite elements --suite server-unit \
  --num-processes "$jobs" \
  --print-errorlogs 2>&1 | tee -a "$log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1

echo
echo "== vizstream-server under ASan + UBSan ($asan) =="
# The server's black-box tests (and the browser tests that reach most of
# it) again, against the instrumented server of $asan (VZ_SERVER_BUILD)
# with this build's plugins. Every report goes to a file: a memory error,
# undefined behaviour or a leak at exit in any server started by any test
# fails the run, whatever the test saw. Suppressions explained in
# tests/sanitizers/lsan-server.supp.
san_logs=$(mktemp -d)
san_test() {
  VZ_SERVER_BUILD=$(cd "$asan" && pwd) VZ_TEST_TIME_SCALE=5 \
  ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:log_path=$san_logs/asan \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$san_logs/ubsan \
  LSAN_OPTIONS=suppressions=$top/tests/sanitizers/lsan-server.supp:print_suppressions=0 \
    meson test -C "$build" --no-rebuild --num-processes "$jobs" \
    --print-errorlogs "$@" 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
}
san_test --suite server
san_test browser-two_pages_one_leaves browser-websocket_transport \
  browser-mjpeg_transport browser-error_in_one_viewer_bin \
  browser-click_and_drag_reach_renderer browser-congested_link_lowers_bitrate \
  browser-h264_profile_follows_viewers browser-still_picture_keeps_its_size \
  janus-two_edges
if compgen -G "$san_logs/*" >/dev/null; then
  echo "sanitizer reports from vizstream-server:"
  cat "$san_logs"/*
  status=1
else
  echo "no sanitizer report from any vizstream-server run"
fi
rm -rf "$san_logs"

echo
echo "== element suites under valgrind memcheck =="
if command -v valgrind >/dev/null; then
  # One process (CK_FORK=no) so that leaks are seen; definite leaks and
  # memory errors fail the run. glib's suppressions and ours (explained in
  # tests/sanitizers/valgrind.supp).
  CK_FORK=no VZ_TEST_TIME_SCALE=20 meson test -C "$build" --suite elements --num-processes "$jobs" \
    --timeout-multiplier 6 --print-errorlogs --wrap="valgrind --quiet \
--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --num-callers=30 \
--suppressions=/usr/share/glib-2.0/valgrind/glib.supp \
--suppressions=$top/tests/sanitizers/valgrind.supp" 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
else
  echo "valgrind not installed (scripts/install-deps.sh installs it)"
  status=1
fi

summary=$(python3 "$top/scripts/meson-summary.py" < "$log")
sstatus=$?
echo
echo "$summary"
[[ $status -eq 0 && $sstatus -eq 0 ]]
