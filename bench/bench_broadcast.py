"""What each broadcast path adds to the latency, side by side in one run:
vizstream-demo (640x360, 30 fps) -> vizstream-server --rtmp -> a private
nginx-rtmp, read at once by three ffmpeg players:

  MJPEG  http://server/mjpeg                 (the reference: one JPEG away)
  RTMP   rtmp://nginx/live/bench             (player with nobuffer/low_delay)
  HLS    http://nginx/hls/bench.m3u8         (1 s fragments, 6 s playlist)

Each player decodes to raw frames; the frame number the demo draws into
the pixels says which renderer frame arrived when. For every frame seen
on RTMP and HLS, the time it arrived minus the time the same frame arrived
on MJPEG is what that path adds; printed as p50/p95.

Usage: bench_broadcast.py [SECONDS]"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import vztest  # noqa: E402

W, H = 640, 360
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20
SERVER = os.path.join(vztest.BUILD, "server", "vizstream-server")
NGINX = os.path.join(vztest.SOURCE, "scripts", "nginx-rtmp.sh")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def player(procs, args, seen, stop):
    p = procs.start(["ffmpeg", "-v", "error", "-fflags", "nobuffer", "-flags",
                     "low_delay"] + args + ["-f", "rawvideo", "-pix_fmt",
                                            "rgb24", "-s", "%dx%d" % (W, H),
                                            "-fps_mode", "passthrough", "-"],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    size = W * H * 3
    while not stop.is_set():
        data = vztest.read_exact(p.stdout, size)
        if len(data) < size:
            break
        n = vztest.decode_tag(np.frombuffer(data, np.uint8).reshape(H, W, 3), W, H)
        if n is not None and n not in seen:
            seen[n] = time.monotonic()


def main():
    procs = vztest.Processes()
    seg = vztest.unique_segment("bb")
    rtmp_port, http_port = free_port(), free_port()
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            procs.start([NGINX, os.path.join(tmp, "nginx"), str(rtmp_port),
                         str(http_port)], stdout=subprocess.DEVNULL)
            procs.start([vztest.DEMO, "--segment", seg, "--size", "%dx%d" % (W, H),
                         "--fps", "30", "--tags", "--quiet"])
            time.sleep(1)
            rtmp = "rtmp://127.0.0.1:%d/live/bench" % rtmp_port
            srv = procs.start([SERVER, "--segment", seg, "--port", "0", "--quiet",
                               "--rtmp", rtmp, "--rtmp-key-interval", "1",
                               "--mjpeg-fps", "30"], stdout=subprocess.PIPE,
                              text=True)
            url = srv.stdout.readline().split("serving ")[1].split()[0]
            time.sleep(4)  # RTMP up, a few HLS fragments
            paths = {"MJPEG": ["-f", "mpjpeg", "-i", url + "mjpeg"],
                     "RTMP": ["-rw_timeout", "10000000", "-i", rtmp],
                     "HLS": ["-i", "http://127.0.0.1:%d/hls/bench.m3u8" % http_port]}
            seen = {k: {} for k in paths}
            threads = [threading.Thread(target=player, daemon=True,
                                        args=(procs, a, seen[k], stop))
                       for k, a in paths.items()]
            for t in threads:
                t.start()
            time.sleep(SECONDS)
            stop.set()
        finally:
            procs.stop_all()
    ref = seen["MJPEG"]
    print("latency each path adds, vs MJPEG (demo %dx%d 30 fps, %.0f s, "
          "players: ffmpeg nobuffer/low_delay)" % (W, H, SECONDS))
    print("  MJPEG: %d frames seen (the reference)" % len(ref))
    for name in ("RTMP", "HLS"):
        d = [(t - ref[n]) * 1000 for n, t in seen[name].items() if n in ref]
        if not d:
            print("  %-5s no frames in common with MJPEG" % name)
            continue
        d.sort()
        print("  %-5s +%6.0f ms p50  +%6.0f ms p95  (%d frames)"
              % (name, statistics.median(d), d[int(0.95 * (len(d) - 1))], len(d)))


if __name__ == "__main__":
    main()
