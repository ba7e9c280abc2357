"""Glass-to-glass bench: vizstream-demo -> vizstream-server -> headless
Chromium, on loopback inside a network namespace (as the browser tests).

Prints, for VP8 and H.264 at 1280x720, 30 fps:
  - glass-to-glass latency, renderer publish -> frame shown in the page
    (requestVideoFrameCallback; the frame number the demo draws into the
    pixels ties the frame to its publish time), p50/p95, and as frame
    periods (the reference: one frame period at 30 fps);
  - the interaction round trip, page event -> renderer -> the first frame
    shown that the event changed (the demo draws its event count into the
    pixels), against the glass-to-glass p50 of the same run;
  - server CPU with 1, 2, 4 and 8 pages, per viewer, against the cost of
    the encode itself (1 viewer).

Usage: bench_browser.py [SECONDS]   (needs root for the namespace)"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_browser as tb  # noqa: E402
import vztest  # noqa: E402

W, H, FPS = 1280, 720, 30
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(procs, segment, codec):
    server = procs.start([tb.SERVER, "--segment", segment, "--port", "0",
                          "--ice-address", "127.0.0.1", "--codec", codec,
                          "--quiet", "--max-viewers", "16"],
                         stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    return server, line.split("serving ")[1].split()[0]


def wait_frames(browser, page, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if browser.call("frame", page=page, rw=W, rh=H)["number"]:
            return True
        time.sleep(0.2)
    raise RuntimeError("no frames on page %s" % page)


def main():
    tb.enter_namespace()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    procs = vztest.Processes()
    segment = vztest.unique_segment("bench")
    procs.start([vztest.DEMO, "--segment", segment, "--size", "%dx%d" % (W, H),
                 "--fps", str(FPS), "--tags", "--quiet"])
    browser = tb.Browser(procs)
    period = 1000.0 / FPS
    try:
        print("glass-to-glass on loopback, %dx%d at %d fps, %.0f s per codec"
              % (W, H, FPS, SECONDS))
        for codec in ("vp8", "h264"):
            server, url = start(procs, segment, codec)
            browser.call("open", page="l", url=url + "?timing")
            wait_frames(browser, "l")
            time.sleep(2)  # clock offset settles (pings every 2 s)
            lat = browser.call("latency", page="l", rw=W, rh=H, seconds=SECONDS)
            rtts = []
            for _ in range(15):
                r = browser.call("rtt", page="l", rw=W, rh=H)
                if r is not None:
                    rtts.append(r)
                time.sleep(0.2)
            browser.call("close", page="l")
            procs.stop(server)
            if not lat:
                print("  %s: no latency samples" % codec)
                continue
            p50, p95 = statistics.median(lat), pct(lat, 95)
            print("  %-4s latency  p50 %6.1f ms  p95 %6.1f ms  (%d frames)"
                  "  = %.1f / %.1f frame periods"
                  % (codec, p50, p95, len(lat), p50 / period, p95 / period))
            if rtts:
                r50 = statistics.median(rtts)
                print("  %-4s round trip p50 %6.1f ms  p95 %6.1f ms  (%d)"
                      "  = %.2fx the glass-to-glass p50"
                      % (codec, r50, pct(rtts, 95), len(rtts), r50 / p50))

        print("server CPU per viewer (h264, %.0f s each)" % SECONDS)
        server, url = start(procs, segment, "h264")
        base = None
        opened = 0
        for n in (1, 2, 4, 8):
            while opened < n:
                browser.call("open", page="v%d" % opened, url=url,
                             width=480, height=270)
                opened += 1
            for i in range(n):
                wait_frames(browser, "v%d" % i)
            time.sleep(2)
            c0, t0 = cpu_seconds(server.pid), time.monotonic()
            time.sleep(SECONDS)
            cpu = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
            if base is None:
                base = cpu
                print("  1 viewer : %5.1f %% of a core (the encode + 1 "
                      "viewer: the reference)" % (cpu * 100))
            else:
                per = (cpu - base) / (n - 1)
                print("  %d viewers: %5.1f %% of a core; each viewer past "
                      "the first %.1f %% = %.2fx the reference"
                      % (n, cpu * 100, per * 100, per / base))
        procs.stop(server)
    finally:
        browser.quit()
        procs.stop_all()


if __name__ == "__main__":
    main()
