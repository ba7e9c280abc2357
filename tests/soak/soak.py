"""Soak and churn: vizstream-demo + vizstream-server with headless Chromium
pages joining and leaving in a loop (WebRTC and WebSocket), resize requests
and renderer restarts, for SECONDS (60 in make test, 600 in make soak).
The server's and the renderer's resident memory and open file descriptors
are sampled every 2 s; at the end, with every page gone, the server must be
back near where it was after warm-up (nothing leaks per viewer), and the
renderer must not have grown.

Usage: soak.py [SECONDS] [REPORT.json]   (root: it makes a network namespace)"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_browser as tb  # noqa: E402
import vztest  # noqa: E402

W, H = 640, 360
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60
REPORT = sys.argv[2] if len(sys.argv) > 2 else None


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    tb.enter_namespace()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    random.seed(7)
    procs = vztest.Processes()
    seg = vztest.unique_segment("soak")
    demo_args = [vztest.DEMO, "--segment", seg, "--size", "%dx%d" % (W, H),
                 "--fps", "30", "--tags", "--quiet"]
    demo = procs.start(demo_args)
    log_path = "/tmp/vz-soak-server-%d.log" % os.getpid()
    log = open(log_path, "w")
    server = procs.start([tb.SERVER, "--segment", seg, "--port", "0", "--quiet",
                          "--ice-address", "127.0.0.1", "--allow-resize",
                          "--control", "all"], stdout=subprocess.PIPE,
                         stderr=log, text=True)
    url = server.stdout.readline().split("serving ")[1].split()[0]
    browser = tb.Browser(procs)
    samples = []
    pages = []
    counter = {"opened": 0, "closed": 0, "resizes": 0, "restarts": 0,
               "frames_seen": 0}

    def sample(phase):
        s = {"t": round(time.monotonic() - t0, 1), "phase": phase,
             "pages": len(pages), "server_rss_kb": rss_kb(server.pid),
             "server_fds": fds(server.pid), "demo_rss_kb": rss_kb(demo.pid),
             "demo_fds": fds(demo.pid)}
        samples.append(s)
        return s

    def status():
        import urllib.request
        with urllib.request.urlopen(url + "status", timeout=5) as r:
            return json.load(r)

    def open_page():
        name = "p%d" % counter["opened"]
        transport = "ws" if counter["opened"] % 3 == 2 else "webrtc"
        browser.call("open", page=name, url=url + "?transport=" + transport,
                     width=480, height=270)
        pages.append(name)
        counter["opened"] += 1

    def close_page():
        browser.call("close", page=pages.pop(0))
        counter["closed"] += 1

    def wait_viewers(n, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(status()["viewers"]) == n:
                return True
            time.sleep(0.2)
        raise RuntimeError("server still has %d viewers, not %d"
                           % (len(status()["viewers"]), n))

    t0 = time.monotonic()
    try:
        # Warm-up: as many viewers at once as the churn will have (threads,
        # malloc arenas, codec and DTLS state get made), all gone again;
        # then the baseline with none.
        for _ in range(4):
            open_page()
        time.sleep(6)
        while pages:
            close_page()
        wait_viewers(0)
        time.sleep(2)
        base = sample("baseline")
        next_sample = time.monotonic() + 2
        next_resize = time.monotonic() + 10
        next_restart = time.monotonic() + 20
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            if len(pages) < 4 and (not pages or random.random() < 0.6):
                open_page()
            elif pages:
                close_page()
            if time.monotonic() > next_resize and pages:
                w = random.choice([320, 480, 640])
                h = w * 9 // 16 // 2 * 2
                browser.js(pages[-1], "window.vizstream.forceSend({event:"
                           "'ResizeRequest',width:%d,height:%d})" % (w, h))
                counter["resizes"] += 1
                next_resize = time.monotonic() + 10
            if time.monotonic() > next_restart:
                procs.stop(demo, signal.SIGKILL)
                demo = procs.start(demo_args)
                counter["restarts"] += 1
                next_restart = time.monotonic() + 20
            time.sleep(random.uniform(1.0, 3.0))
            if pages:
                f = browser.call("frame", page=pages[-1])
                counter["frames_seen"] += 1 if f and f.get("number") else 0
            if time.monotonic() > next_sample:
                sample("churn")
                next_sample = time.monotonic() + 2
        while pages:
            close_page()
        wait_viewers(0)
        time.sleep(3)
        final = sample("final")
    finally:
        browser.quit()
        procs.stop_all()
        log.close()
    with open(log_path) as f:
        complaints = [line.strip() for line in f
                      if "CRITICAL" in line or "WARNING **" in line]
    os.unlink(log_path)

    grew_kb = final["server_rss_kb"] - base["server_rss_kb"]
    peak = max(s["server_rss_kb"] for s in samples)
    report = {"seconds": SECONDS, "counts": counter, "baseline": base,
              "final": final, "server_rss_peak_kb": peak, "samples": samples}
    print("soak %.0f s: %d pages opened, %d closed, %d resizes, %d renderer "
          "restarts" % (SECONDS, counter["opened"], counter["closed"],
                        counter["resizes"], counter["restarts"]))
    print("server RSS %d -> %d kB (peak %d, %+d kB), fds %d -> %d; renderer "
          "RSS %d kB, fds %d" % (base["server_rss_kb"], final["server_rss_kb"],
                                 peak, grew_kb, base["server_fds"],
                                 final["server_fds"], final["demo_rss_kb"],
                                 final["demo_fds"]))
    ok = True
    # Bounds: what one more viewer's worth of caches could explain, no more.
    if final["server_fds"] > base["server_fds"] + 4:
        print("FAIL: the server kept file descriptors")
        ok = False
    # Memory: glibc's per-thread malloc arenas and caches grow in the first
    # minutes (about half of it goes with MALLOC_ARENA_MAX=2), then level
    # off. A leaked viewer (webrtcbin, its sockets and threads) would show
    # in the descriptors above; here: a bound per session, and on long runs
    # the second half's growth per session.
    sessions = max(1, counter["opened"] - 4)
    if grew_kb > 20000 + 700 * sessions:
        print("FAIL: the server's memory grew by %d kB over %d sessions"
              % (grew_kb, sessions))
        ok = False
    churn = [x for x in samples if x["phase"] == "churn"]
    if SECONDS >= 300 and len(churn) > 10:
        half = churn[len(churn) // 2:]
        per = (half[-1]["server_rss_kb"] - half[0]["server_rss_kb"]) / max(
            1, sessions / 2)
        report["second_half_kb_per_session"] = per
        print("second half: %+.0f kB per session" % per)
        if per > 300:
            print("FAIL: the server still grows by %.0f kB per session" % per)
            ok = False
    if complaints:
        print("FAIL: the server complained:\n  " + "\n  ".join(complaints[:10]))
        ok = False
    if counter["frames_seen"] == 0:
        print("FAIL: no page ever showed a frame")
        ok = False
    if REPORT:
        with open(REPORT, "w") as f:
            json.dump(report, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
