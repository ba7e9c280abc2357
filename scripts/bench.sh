#!/usr/bin/env bash
# make bench: every benchmark, each printing its figures beside a reference
# measured in the same run, with the ratios. Not timed tests.
set -euo pipefail
build=${1:-build}
export GST_PLUGIN_PATH="$PWD/$build/gst:$PWD/$build/ext/gl${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

echo "== frame path (publish -> buffer leaving the source) =="
"$build/bench/bench-framepath" --size 1920x1080 --frames 240 --rate 60

echo
echo "== shmframesrc to I420: converted in the element vs memcpy vs videoconvert =="
"$build/bench/bench-convert" --sizes 1920x1080,1280x720 --frames 180 --rate 60

echo
echo "== events (producer -> renderer) =="
"$build/bench/bench-events"

echo
echo "== Python renderers =="
PYTHONPATH="$PWD/python" VZ_BUILD_ROOT="$PWD/$build" \
  xvfb-run -a -s "-screen 0 1280x1024x24" /usr/bin/python3 bench/bench_python.py

echo
echo "== browsers (vizstream-server -> headless Chromium, loopback) =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_browser.py "${BENCH_SECONDS:-10}"

echo
echo "== vizstream-server CPU per frame: I420 from shmframesrc vs RGBA converted in the server =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  GST_PLUGIN_PATH_1_0="$PWD/$build/gst" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_server_cpu.py

echo
echo "== one viewer behind a slow link (veth + tbf): latency, stalls, use of the link =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_links.py --rates 300,1000,3000 --duration 30 \
  --server-arg=--bitrate --server-arg=2500
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_links.py --step --duration 30 --settle 15 \
  --server-arg=--bitrate --server-arg=2500

echo
echo "== the picture a viewer gets per link: SSIM of the ladder's pick vs the best size and frame rate, three contents =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_ladder.py

echo
echo "== quality per bit: MJPEG vs VP8 vs H.264 (SSIM vs the source frames) =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_quality.py

echo
echo "== encoder settings: bits at SSIM 0.95 and CPU per frame, x264 presets/VBV/intra-refresh/High, vp8enc cpu-used/buffer/key frames, on three contents =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_encoders.py

echo
echo "== broadcast paths: what RTMP and HLS add vs MJPEG =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_broadcast.py

echo
echo "== spectators through Janus: server and Janus CPU per spectator, vs direct viewers =="
VZ_BUILD_ROOT="$PWD/$build" VZ_SOURCE_ROOT="$PWD" \
  LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/bench_janus.py "${BENCH_SECONDS:-10}"

echo
echo "== glreadbacksrc: a GL render loop streaming vs not, PBO ring vs glReadPixels =="
if [[ -x "$build/bench/bench-glreadback" ]]; then
  "$build/bench/bench-glreadback" --frames 150 --rate 60
else
  echo "not built (no gstreamer-gl-1.0)"
fi
