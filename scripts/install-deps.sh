#!/usr/bin/env bash
# Install the Debian 12 packages gst-vizstream needs to build, test and run
# its demo, when any is missing. Safe to run again: it does nothing when all
# are present. Needs root (or sudo) only when something must be installed.
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  exit 1 if something is missing
set -euo pipefail

packages=(
  # build
  gcc make meson ninja-build pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  # shmframesrc's I420/NV12 output (optional: without it, RGB only)
  libyuv-dev
  # run and test: GStreamer tools and the plugins our pipelines use
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  # tests: read streams back, compare pictures, drive pipelines from Python
  ffmpeg python3 python3-numpy python3-gi gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0
  # Python renderers: VTK (renders off-screen through GLX, so Xvfb)
  python3-vtk9 xvfb xauth python3-matplotlib
  # notebooks: the Jupyter example and its headless test (nbclient, a kernel);
  # pip install ./python without the network (setuptools), in a venv
  jupyter-notebook python3-nbclient python3-ipykernel python3-setuptools
  python3-pip python3-venv
  # fuzzing: libFuzzer with ASan/UBSan; memcheck
  clang libclang-rt-14-dev valgrind
  # glreadbacksrc: GstGL on EGL, headless through Mesa's llvmpipe
  libegl-dev libgles-dev libgl1-mesa-dri gstreamer1.0-gl
  # vizstream-server: HTTP/WebSocket, JSON, webrtcbin and its ICE agent
  libsoup-3.0-dev libjson-glib-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-nice libglib2.0-dev-bin
  # --tls-cert/--tls-key: GLib's TLS backend
  glib-networking
  # broadcast: a private nginx-rtmp (scripts/nginx-rtmp.sh)
  nginx libnginx-mod-rtmp
  # spectators through Janus (scripts/janus.sh; /watch serves janus.js and
  # the webrtc-adapter it wants from their Debian paths)
  janus libjs-janus-gateway libjs-webrtc-adapter
  # browser tests: Chromium in a loopback-only network namespace
  chromium iproute2 util-linux
  # TLS tests: a CA made with openssl, trusted in Chromium's NSS database
  openssl libnss3-tools
  # TURN tests: a private coturn (tests/browser/test_turn.py)
  coturn
)
# Node.js drives Chromium (playwright-core); Debian's when there is none.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

browser_modules() {
  # playwright-core, pinned by tests/browser/package-lock.json; it drives
  # Debian's /usr/bin/chromium and downloads no browser.
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if [[ ! -d "$dir/node_modules/playwright-core" ]]; then
    [[ "${1:-}" == "--check" ]] && { echo "missing: tests/browser/node_modules" >&2; return 1; }
    echo "install-deps: npm ci in tests/browser" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [[ ${#missing[@]} -eq 0 ]]; then
  browser_modules "${1:-}"
  exit $?
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
browser_modules
