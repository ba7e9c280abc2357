"""1080p30 end to end (issue 18, item 5): vizstream-demo 1920x1080 at 30
fps -> vizstream-server (H.264, its defaults) -> one headless Chromium page
with a 1920x1080 viewport (so the main encode is the full size, nothing
scaled), all on loopback in a network namespace, on this machine's cores.

Per round, over SECONDS: frames the renderer published (read from the
segment), frames the server encoded (/status), frames the page presented
(requestVideoFrameCallback's presentedFrames, no pixel readback), and the
server's CPU per encoded frame. The reference, in the same run, rounds
alternating: the bare encoder, the same x264enc settings and bitrate as
the server's encode, in a pipeline of its own reading the same segment
(`shmframesrc ! I420 ! x264enc ! fakesink`), its CPU per frame.
Prints server / bare encoder with the aim (<= 1.15x) and the frames the
server dropped (aim: none).

Usage: bench_1080p.py [SECONDS] [ROUNDS]   (needs root for the namespace)"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import ctypes
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import test_browser as tb  # noqa: E402
import vztest  # noqa: E402

W, H, FPS = 1920, 1080, 30
# 0.06 bits per pixel at 1920x1080x30 is 3.7 Mbit/s: below that the
# server's ladder sends a smaller size (docs/server.md).
BITRATE = 4000
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3

# The server's x264enc settings (server/vs-encoder.c; key-int-max is its
# 4 s GOP at 30 fps) and the profile it sends Chromium (Main); the bitrate
# is the server's own, read in the round.
X264 = ("x264enc tune=zerolatency speed-preset=veryfast vbv-buf-capacity=300 "
        "threads=2 key-int-max=%d" % (4 * FPS))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Published:
    """The newest frame number in the segment (libvizstream's reader)."""

    def __init__(self, segment):
        import vizstream
        self.lib = vizstream._lib
        self.frame = vizstream._Frame()
        self.reader = ctypes.c_void_p()
        self.lib.vz_reader_open.argtypes = [ctypes.c_char_p, ctypes.c_uint,
                                            ctypes.POINTER(ctypes.c_void_p)]
        self.lib.vz_reader_peek.argtypes = [ctypes.c_void_p, ctypes.POINTER(vizstream._Frame)]
        self.lib.vz_reader_close.argtypes = [ctypes.c_void_p]
        end = time.monotonic() + 10
        while self.lib.vz_reader_open(segment.encode(), 0, ctypes.byref(self.reader)) != 0:
            if time.monotonic() > end:
                raise RuntimeError("segment %s never appeared" % segment)
            time.sleep(0.1)

    def now(self):
        for _ in range(100):
            if self.lib.vz_reader_peek(self.reader, ctypes.byref(self.frame)) == 0:
                return self.frame.frame_number
            time.sleep(0.001)
        raise RuntimeError("could not read the segment's newest frame")

    def close(self):
        self.lib.vz_reader_close(self.reader)


def tree_cpu_seconds(root):
    """CPU seconds of root and every process below it (the browser)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    total = 0.0
    for pid in parent:
        p = pid
        while p > 1 and p != root:
            p = parent.get(p, 0)
        if p == root:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
    return total


def status(url):
    with urllib.request.urlopen(url + "status", timeout=5) as r:
        return json.load(r)


COUNT_JS = textwrap.dedent("""(() => {
    const v = document.getElementById('video');
    if (!window.__vzCount) {
      window.__vzCount = { presented: 0 };
      const cb = (now, meta) => { window.__vzCount.presented = meta.presentedFrames;
                                  v.requestVideoFrameCallback(cb); };
      v.requestVideoFrameCallback(cb);
    }
    return window.__vzCount.presented; })()""")


def server_round(procs, browser, segment, published):
    server = procs.start([tb.SERVER, "--segment", segment, "--port", "0",
                          "--ice-address", "127.0.0.1", "--quiet", "--bitrate", str(BITRATE)],
                         stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().split("serving ")[1].split()[0]
    try:
        browser.call("open", page="p", url=url, width=W, height=H)
        end = time.monotonic() + 30
        while not browser.js("p", COUNT_JS):
            if time.monotonic() > end:
                raise RuntimeError("the page shows no frames")
            time.sleep(0.2)
        time.sleep(3)                  # settle: rate control, size ladder
        p0 = browser.js("p", COUNT_JS)
        st0 = status(url)
        v0 = st0["variants"][0]
        n0, c0, t0 = published.now(), cpu_seconds(server.pid), time.monotonic()
        b0 = tree_cpu_seconds(browser.proc.pid)
        time.sleep(SECONDS)
        c1, n1, t1 = cpu_seconds(server.pid), published.now(), time.monotonic()
        b1 = tree_cpu_seconds(browser.proc.pid)
        st1 = status(url)
        v1 = st1["variants"][0]
        p1 = browser.js("p", COUNT_JS)
        page = browser.js("p", "JSON.stringify(window.vizstream.stats)")
        browser.call("close", page="p")
    finally:
        procs.stop(server)
    encoded = v1["frames"] - v0["frames"]

    def delta(new, old, key):
        return (new.get(key) or 0) - (old.get(key) or 0)
    page = json.loads(page or "{}")
    return {"ms": (c1 - c0) / max(1, encoded) * 1e3, "encoded": encoded,
            "published": n1 - n0, "presented": p1 - p0, "seconds": t1 - t0,
            "kbps": v1["target_kbps"], "browser_cpu": (b1 - b0) / (t1 - t0),
            "size": (v1["width"], v1["height"]),
            "encoder": st1.get("encoder") or v1.get("encoder"),
            # where the frames the server did not encode went
            "missed": delta(st1, st0, "source_missed"),
            "capped": delta(v1, v0, "dropped_rate_cap"),
            "busy": delta(v1, v0, "dropped_busy"),
            "overruns": sum(v.get("overruns", 0) for v in st1.get("viewers") or []),
            "plis": page.get("plis")}


BARE = textwrap.dedent("""
    import sys, time, gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    p = Gst.parse_launch(sys.argv[1])
    n = [0]
    def probe(pad, info):
        n[0] += 1
        return Gst.PadProbeReturn.OK
    p.get_by_name("enc").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    p.set_state(Gst.State.PLAYING)
    time.sleep(float(sys.argv[2]))
    n0, c0 = n[0], time.process_time()
    time.sleep(float(sys.argv[3]))
    n1, c1 = n[0], time.process_time()
    p.set_state(Gst.State.NULL)
    print("BARE %d %.6f" % (n1 - n0, c1 - c0))
""")


def bare_round(segment, kbps):
    desc = ("shmframesrc segment=%s keep-waiting=true ! video/x-raw,format=I420 ! "
            "queue max-size-buffers=1 leaky=downstream ! %s name=enc bitrate=%d ! "
            "video/x-h264,profile=main ! fakesink"
            % (segment, X264, kbps))
    out = subprocess.run(["/usr/bin/python3", "-c", BARE, desc, "3", str(SECONDS)],
                         capture_output=True, text=True, timeout=SECONDS + 60)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("BARE")]
    if not line:
        raise RuntimeError("bare encoder failed: %s" % out.stderr[-2000:])
    frames, cpu = line[0].split()[1:]
    return {"ms": float(cpu) / max(1, int(frames)) * 1e3, "encoded": int(frames)}


def main():
    tb.enter_namespace()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    procs = vztest.Processes()
    segment = vztest.unique_segment("b1080")
    procs.start([vztest.DEMO, "--segment", segment, "--size", "%dx%d" % (W, H),
                 "--fps", str(FPS), "--quiet"])
    published = Published(segment)
    browser = tb.Browser(procs)
    server_ms, bare_ms, dropped = [], [], []
    try:
        print("1080p30 end to end: demo %dx%d at %d fps -> server (H.264) -> one Chromium "
              "page %dx%d; %.0f s a round, %d rounds" % (W, H, FPS, W, H, SECONDS, ROUNDS))
        for r in range(ROUNDS):
            s = server_round(procs, browser, segment, published)
            b = bare_round(segment, s["kbps"])
            server_ms.append(s["ms"])
            bare_ms.append(b["ms"])
            dropped.append(s["published"] - s["encoded"])
            print("round %d: server %.2f ms CPU/frame (%d published, %d encoded at %dx%d, "
                  "%d presented in the page, %.1f fps shown, %d kbit/s, %s; Chromium %.0f %% of a "
                  "core); bare encoder "
                  "%.2f ms/frame (%d frames)"
                  % (r + 1, s["ms"], s["published"], s["encoded"], s["size"][0], s["size"][1],
                     s["presented"], s["presented"] / s["seconds"], s["kbps"], s["encoder"],
                     s["browser_cpu"] * 100,
                     b["ms"], b["encoded"]))
            print("  not encoded: %d missed by the source, %d above the rate cap, %d "
                  "with the encode busy; viewer queue overruns %d (since it joined), "
                  "page PLIs %s" % (s["missed"], s["capped"], s["busy"], s["overruns"],
                                    s["plis"]))
    finally:
        published.close()
        browser.quit()
        procs.stop_all()
    sm, bm = statistics.median(server_ms), statistics.median(bare_ms)
    print("server %.2f ms per frame / bare encoder %.2f ms = %.2fx (aim <= 1.15); frames "
          "published but not encoded per round: %s (aim: 0)"
          % (sm, bm, sm / bm, ", ".join(str(d) for d in dropped)))


if __name__ == "__main__":
    main()
