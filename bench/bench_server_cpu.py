"""vizstream-server's CPU per encoded frame, with the encoder's format
from shmframesrc (I420 converted in its one copy with libyuv: the server's
converters pass frames through) against the reference in the same run:
the same source pinned to RGBA (--pipeline 'shmframesrc ... ! capsfilter caps=
video/x-raw,format=RGBA'), converted by videoconvertscale in the encode
branch as before.

One viewer takes the video over the WebSocket (acknowledging every frame,
as a page does), vizstream-demo renders 1280x720 (or --size) at 30 fps.
Rounds alternate between the two modes; medians are printed.

Usage: bench_server_cpu.py [--size WxH] [--seconds S] [--rounds N]"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "server"))
import vztest  # noqa: E402
from test_security import WebSocket  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status(url):
    with urllib.request.urlopen(url + "status", timeout=5) as r:
        return json.load(r)


def pump(ws, seconds):
    """Reads and acknowledges video frames for a while."""
    end = time.monotonic() + seconds
    frames = 0
    while time.monotonic() < end:
        ws.sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            op, data = ws.recv()
        except (TimeoutError, OSError):
            break
        if op == 2:
            ws.send(json.dumps({"type": "ack",
                                "n": struct.unpack("<I", data[4:8])[0]}))
            frames += 1
    return frames


def one_round(procs, segment, mode, seconds):
    src = (["--segment", segment] if mode == "i420" else
           ["--segment", segment, "--pipeline",
            "shmframesrc segment=%s keep-waiting=true ! "
            "capsfilter caps=video/x-raw,format=RGBA" % segment])
    server = procs.start([vztest.SERVER, "--port", "0", "--quiet"] + src,
                         stdout=subprocess.PIPE, text=True)
    m = re.search(r"serving (http://([\d.]+):(\d+)/)", server.stdout.readline())
    url, host, port = m.group(1), m.group(2), int(m.group(3))
    ws = WebSocket(host, port)
    ws.send(json.dumps({"type": "hello", "transport": "ws"}))
    pump(ws, 3.0)                       # settle: negotiation, first frames
    f0 = status(url)["variants"][0]["frames"]
    c0 = cpu_seconds(server.pid)
    shown = pump(ws, seconds)
    c1 = cpu_seconds(server.pid)
    st = status(url)
    f1 = st["variants"][0]["frames"]
    ws.close()
    procs.stop(server)
    return (c1 - c0) / max(1, f1 - f0) * 1000.0, f1 - f0, shown, st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    procs = vztest.Processes()
    segment = vztest.unique_segment("cpu")
    results = {"i420": [], "rgba": []}
    try:
        procs.start([vztest.DEMO, "--segment", segment, "--size", a.size,
                     "--fps", "30", "--quiet"])
        time.sleep(1.0)
        for r in range(a.rounds):
            for mode in ("i420", "rgba"):
                ms, frames, shown, st = one_round(procs, segment, mode,
                                                  a.seconds)
                results[mode].append(ms)
                print("round %d %-4s: %.2f ms of server CPU per frame "
                      "(%d frames encoded, %d sent, encoder %s)"
                      % (r + 1, mode, ms, frames, shown, st["encoder"]))
    finally:
        procs.stop_all()
    i420 = statistics.median(results["i420"])
    rgba = statistics.median(results["rgba"])
    print()
    print("%s at 30 fps, one viewer (video over the WebSocket), medians of %d"
          % (a.size, a.rounds))
    print("  shmframesrc I420 (libyuv in its copy), no conversion in the "
          "server: %.2f ms/frame" % i420)
    print("  reference: the same frames as RGBA, videoconvertscale in the "
          "server:  %.2f ms/frame" % rgba)
    print("  ratio %.2fx (saved %.2f ms/frame, %.0f %% of a core at 30 fps)"
          % (i420 / rgba, rgba - i420, (rgba - i420) * 30 / 10.0))


if __name__ == "__main__":
    main()
