#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo: the demo renderer and vizstream-server; open the printed URL in
# a browser to watch it and drive it (drag to rotate, shift-drag to pan,
# wheel to zoom, r to reset, space to pause, s to spin: the caption at the
# bottom of the picture says so too). Ctrl-C stops both.
#   DEMO_PORT (8080), DEMO_BIND (127.0.0.1; 0.0.0.0 to let other machines
#   in), DEMO_CODEC (h264 or vp8), DEMO_ARGS (more vizstream-server options)
set -euo pipefail
build=${1:-build}
segment=${2:-vizstream-demo}
size=${3:-1280x720}
fps=${4:-30}
port=${DEMO_PORT:-8080}
bind=${DEMO_BIND:-127.0.0.1}
codec=${DEMO_CODEC:-h264}
export GST_PLUGIN_PATH="$PWD/$build/gst:$PWD/$build/ext/gl${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export LD_LIBRARY_PATH="$PWD/$build/lib/vizstream${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

"$build/examples/demo/vizstream-demo" --segment "$segment" --size "$size" \
  --fps "$fps" --quiet &
demo_pid=$!
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  kill "$demo_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "vizstream-demo: publishing $size at $fps fps on segment '$segment' (pid $demo_pid)"
# shellcheck disable=SC2086
"$build/server/vizstream-server" --segment "$segment" --port "$port" \
  --bind "$bind" --codec "$codec" --allow-resize ${DEMO_ARGS:-} &
server_pid=$!
sleep 1
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "vizstream-server did not start (is port $port taken? try DEMO_PORT=8090 make demo)" >&2
  exit 1
fi
echo
echo "    Open http://$([[ $bind == 0.0.0.0 ]] && hostname -I | awk '{print $1}' || echo "$bind"):$port/ in a browser."
echo "    Drag to rotate, shift-drag to pan, wheel to zoom; r resets, space pauses."
echo "    Add ?stats for fps, bitrate, round trip and latency; Ctrl-C stops."
echo
wait "$server_pid"
