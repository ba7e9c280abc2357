"""Spectators through Janus bench: vizstream-demo -> vizstream-server
--janus-rtp -> a private Janus (scripts/janus.sh) -> headless Chromium
pages on /watch, in a network namespace as tests/browser/test_janus.py.

Prints, at WxH and FPS (default 640x360, 30 fps: many decoding pages on
one machine):
  - server CPU with 0, 4, 16 spectators through Janus, against the
    reference 0 (the encode and the RTP leg: flat, whatever the count);
  - Janus CPU per spectator;
  - server CPU with 1 and 4 direct viewers (WebRTC from the server), each
    past the first against the same reference;
  - how far a spectator's picture is behind a direct page's, in frames and
    ms (both pages read back-to-back, the frame numbers the demo draws).

Usage: bench_janus.py [SECONDS] [--size WxH] [--fps N] [--counts 0,4,16]
(needs root for the namespace)"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_browser as tb  # noqa: E402
import test_janus as tj  # noqa: E402
import vztest  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pids, seconds):
    c0, t0 = [cpu_seconds(p) for p in pids], time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    return [(cpu_seconds(p) - c) / dt for p, c in zip(pids, c0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seconds", nargs="?", type=float, default=10.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--counts", default="0,4,16")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    counts = [int(c) for c in args.counts.split(",")]
    if shutil.which("janus") is None:
        print("janus not installed (scripts/install-deps.sh): skipped")
        return
    tb.enter_namespace()
    run = lambda *c: subprocess.run(c, check=True, capture_output=True)  # noqa: E731
    run("ip", "link", "set", "lo", "up")
    run("ip", "link", "add", "vzj0", "type", "veth", "peer", "name", "vzj1")
    run("ip", "addr", "add", tj.ICE + "/24", "dev", "vzj0")
    run("ip", "link", "set", "vzj0", "up")
    run("ip", "link", "set", "vzj1", "up")
    procs = vztest.Processes()
    segment = vztest.unique_segment("bjanus")
    tmp = tempfile.TemporaryDirectory()
    procs.start([vztest.DEMO, "--segment", segment, "--size", args.size,
                 "--fps", str(args.fps), "--tags", "--quiet"])
    rtp, http = tj.free_udp_pair(), tj.free_tcp_port()
    janus = procs.start([tj.JANUS_SH, os.path.join(tmp.name, "janus"),
                         str(http), str(rtp), "127.0.0.1"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                        env=dict(os.environ, JANUS_ICE=tj.ICE))
    jurl = "http://127.0.0.1:%d/janus" % http
    for _ in range(100):
        try:
            urllib.request.urlopen(jurl + "/info", timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    server = procs.start([tb.SERVER, "--segment", segment, "--port", "0",
                          "--ice-address", "127.0.0.1", "--quiet",
                          "--max-viewers", "32", "--janus-rtp",
                          "127.0.0.1:%d" % rtp, "--janus-url", jurl],
                         stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().split("serving ")[1].split()[0]
    browser = tb.Browser(procs)
    period = 1000.0 / args.fps

    def frame(page):
        return browser.call("frame", page=page, rw=w, rh=h)["number"]

    def wait_frames(page, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if frame(page):
                return
            time.sleep(0.2)
        raise RuntimeError("no frames on page %s" % page)

    def encode_fps():
        """The main encode's frame rate now: a machine busy decoding many
        pages may leave the demo and the encode fewer frames."""
        with urllib.request.urlopen(url + "status", timeout=5) as r:
            return json.load(r)["variants"][0]["fps"]

    def lag_behind():
        """A spectator against a direct page, read back to back."""
        browser.call("open", page="d", url=url + "?view", width=320, height=180)
        wait_frames("d")
        lag = []
        for _ in range(60):
            a, s, b = frame("d"), frame("s0"), frame("d")
            if a and s and b:
                lag.append((a + b) / 2.0 - s)
            time.sleep(0.1)
        browser.call("close", page="d")
        if lag:
            m = statistics.median(lag)
            print("  a spectator's picture is %.1f frames (%.0f ms) behind a "
                  "direct page's (median of %d)" % (m, m * period, len(lag)))

    try:
        print("spectators through Janus, %s at %d fps, %.0f s each"
              % (args.size, args.fps, args.seconds))
        time.sleep(2)
        opened = 0
        base = None
        lagged = False
        for n in counts:
            while opened < n:
                browser.call("open", page="s%d" % opened, url=url + "watch",
                             width=320, height=180)
                opened += 1
            for i in range(n):
                wait_frames("s%d" % i)
            time.sleep(2)
            srv, jan = cpu_over([server.pid, janus.pid], args.seconds)
            if base is None:
                base = srv
            print("  %2d spectators: server %5.1f %% of a core (%.2fx the "
                  "%d-spectator reference; encode at %.1f fps), Janus %5.1f %%%s"
                  % (n, srv * 100, srv / base, counts[0], encode_fps(),
                     jan * 100,
                     ", %.2f %% per spectator" % (jan * 100 / n) if n else ""))
            if n and not lagged:
                lag_behind()
                lagged = True
        for i in range(opened):
            browser.call("close", page="s%d" % i)
        browser.call("open", page="v0", url=url + "?view", width=320,
                     height=180)
        wait_frames("v0")
        time.sleep(2)
        srv1, = cpu_over([server.pid], args.seconds)
        for i in range(1, 4):
            browser.call("open", page="v%d" % i, url=url + "?view",
                         width=320, height=180)
        for i in range(1, 4):
            wait_frames("v%d" % i)
        time.sleep(2)
        srv4, = cpu_over([server.pid], args.seconds)
        per = (srv4 - srv1) / 3
        print("  direct: 1 viewer %5.1f %%, 4 viewers %5.1f %% of a core: each "
              "past the first %.1f %% = %.2fx the 0-spectator reference"
              % (srv1 * 100, srv4 * 100, per * 100, per / base))
        with urllib.request.urlopen(url + "status", timeout=5) as r:
            edge = json.load(r)["janus"][0]
        print("  edge: %d packets, %d key-frame requests from Janus"
              % (edge["packets"], edge["key_requests"]))
    finally:
        browser.quit()
        procs.stop_all()
        subprocess.run(["ip", "link", "del", "vzj0"], capture_output=True)
        tmp.cleanup()


if __name__ == "__main__":
    main()
