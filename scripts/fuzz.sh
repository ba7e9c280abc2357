#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# SECONDS (default 10; `make fuzz` runs longer). Seeds come from
# tests/fuzz/corpus/<target>; new inputs go to build-fuzz/corpus, never
# into the source tree. A crash fails the run and leaves its input in
# build-fuzz/ to be turned into a regression test.
set -euo pipefail
seconds=${1:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_BUILD:-$top/build-fuzz}
mkdir -p "$out"
lib=("$top"/lib/vizstream/vz-*.c)
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -I"$top/lib/vizstream" -std=gnu11)
status=0
for target in json queue segment signalling; do
  exe="$out/fuzz-$target"
  if [[ $target == signalling ]]; then
    # vizstream-server's parser of what pages send (json-glib)
    # shellcheck disable=SC2046
    clang "${flags[@]}" -I"$top/server" "$top/tests/fuzz/fuzz-$target.c" \
      "$top/server/vs-signal.c" $(pkg-config --cflags --libs json-glib-1.0) \
      -o "$exe"
  else
    clang "${flags[@]}" "$top/tests/fuzz/fuzz-$target.c" "${lib[@]}" -lm -o "$exe"
  fi
  mkdir -p "$out/corpus/$target"
  echo "fuzz-$target: ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/crash-$target-" \
      "$out/corpus/$target" "$top/tests/fuzz/corpus/$target" \
      > "$out/fuzz-$target.log" 2>&1; then
    echo "fuzz-$target FAILED: see $out/fuzz-$target.log"
    tail -30 "$out/fuzz-$target.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$out/fuzz-$target.log" | tail -2
  fi
done
exit $status
