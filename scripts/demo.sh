#!/usr/bin/env bash
# make demo: the demo renderer and a pipeline that shows it.
#   with a display: a window (shmframesrc ! videoconvert ! autovideosink)
#   without one:    DEMO_SECONDS (default 10) of it encoded to build/demo.webm
set -euo pipefail
build=${1:-build}
segment=${2:-vizstream-demo}
size=${3:-1280x720}
fps=${4:-30}
export GST_PLUGIN_PATH="$PWD/$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

"$build/examples/demo/vizstream-demo" --segment "$segment" --size "$size" \
  --fps "$fps" --quiet &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null || true' EXIT

echo "vizstream-demo is publishing $size at $fps fps on segment '$segment' (pid $demo_pid)."
echo "Any pipeline can read it, e.g.:"
echo "  GST_PLUGIN_PATH=$build/gst gst-launch-1.0 shmframesrc segment=$segment ! videoconvert ! autovideosink"
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  echo "Showing it in a window; close the window or press Ctrl-C to stop."
  gst-launch-1.0 -q shmframesrc segment="$segment" ! videoconvert ! autovideosink
else
  seconds=${DEMO_SECONDS:-10}
  out="$build/demo.webm"
  echo "No display: recording $seconds s to $out ..."
  gst-launch-1.0 -q shmframesrc segment="$segment" num-buffers=$((seconds * fps)) \
    ! videoconvert ! vp8enc deadline=1 cpu-used=8 ! webmmux ! filesink location="$out"
  echo "Wrote $out ($(ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=width,height,nb_read_frames -of csv=p=0 "$out" | \
    awk -F, '{print $1 "x" $2 ", " $3 " frames"}')). Play it with: ffplay $out"
fi
