"""Sessions on demand (issue 19, item 5): vizstream-server --launch, headless
Chromium, all on loopback in a network namespace, on this machine's cores.

1. Time from /new to the first frame shown: a page opens new?width=W&
   height=H; the page's own clock (performance.now(), from the start of
   the navigation, the /new wait and the 303 included) at its first frame
   shown (window.vizstream.firstFrameMs), and the server's "ready in"
   (from fork to a valid segment). For vizstream-demo and for the Python
   VTK example (examples/python/vtk_network.py; needs a display: run the
   bench under xvfb-run -a, else VTK is left out).
2. Cost of an idle session (no viewer): N sessions started with /new, then
   over SECONDS: each session's processes' memory (RSS, from
   /proc/PID/status) and CPU, and what the server's RSS and CPU grew by.

Usage: bench_sessions.py [ROUNDS] [N] [SECONDS]   (needs root for the
namespace)"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_browser as tb  # noqa: E402
import vztest  # noqa: E402
from test_sessions import session_pids  # noqa: E402

SOURCE = os.path.join(HERE, "..")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
N = int(sys.argv[2]) if len(sys.argv) > 2 else 4
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
W, H = 640, 360
RENDERERS = {
    "demo": "%s --segment {segment} --size {width}x{height} --fps 30 --quiet"
            % vztest.DEMO,
    "vtk": "/usr/bin/python3 %s --segment {segment} --size {width}x{height} "
           "--nodes 20000 --fps 30" % os.path.join(SOURCE, "examples",
                                                   "python", "vtk_network.py"),
}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_server(procs, launch, logs, log):
    server = procs.start(
        [vztest.SERVER, "--port", "0", "--ice-address", "127.0.0.1",
         "--launch", launch, "--launch-log-dir", logs, "--max-sessions", "32",
         "--session-idle-timeout", "600"],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env=dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "python")))
    m = re.search(r"serving (http://\S+)", server.stdout.readline())
    if not m:
        raise RuntimeError("the server did not start")
    return server, m.group(1)


def first_frames(browser, base, log_path):
    """[(ms to the first frame shown, server's ready seconds)] a round."""
    out = []
    for r in range(ROUNDS):
        page = "r%d" % r
        browser.call("open", page=page, url=base + "new?width=%d&height=%d"
                     % (W, H))
        end = time.monotonic() + 60
        ms = None
        while time.monotonic() < end and ms is None:
            try:
                ms = browser.js(page, "window.vizstream && "
                                "window.vizstream.firstFrameMs")
            except RuntimeError:
                pass
            time.sleep(0.02)
        if ms is None:
            raise RuntimeError("no frame shown within 60 s")
        href = browser.js(page, "location.href")
        sid = re.search(r"/s/([0-9a-f]{32})/", href).group(1)
        with open(log_path) as f:
            ready = float(re.search(r"session %s ready in ([\d.]+) s" % sid,
                                    f.read()).group(1))
        out.append((ms, ready))
        browser.call("close", page=page)
    return out


def idle_cost(base, server):
    """Per idle session: (renderer RSS MiB, renderer CPU %, server RSS MiB
    growth per session, server CPU % per session)."""
    rss0, cpu0, t0 = rss_mib(server.pid), cpu_seconds(server.pid), time.monotonic()
    time.sleep(2)
    server_idle_cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - t0)
    rss0 = rss_mib(server.pid)
    sids = []
    for _ in range(N):
        req = urllib.request.Request(base + "new?width=%d&height=%d" % (W, H))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None
        try:
            urllib.request.build_opener(NoRedirect).open(req, timeout=60)
        except urllib.error.HTTPError as e:
            if e.code != 303:
                raise
            sids.append(re.match(r"s/([0-9a-f]{32})/",
                                 e.headers["Location"]).group(1))
    time.sleep(3)                       # past the start
    pids = [p for s in sids for p in session_pids(s)]
    c0 = {p: cpu_seconds(p) for p in pids}
    s0, t0 = cpu_seconds(server.pid), time.monotonic()
    time.sleep(SECONDS)
    dt = time.monotonic() - t0
    r_cpu = sum(cpu_seconds(p) - c0[p] for p in pids) / dt
    s_cpu = (cpu_seconds(server.pid) - s0) / dt - server_idle_cpu
    r_rss = sum(rss_mib(p) for p in pids)
    s_rss = rss_mib(server.pid) - rss0
    return (r_rss / N, r_cpu * 100 / N, s_rss / N, s_cpu * 100 / N)


def main():
    tb.enter_namespace()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    names = ["demo"] + (["vtk"] if os.environ.get("DISPLAY") else [])
    print("sessions on demand: %dx%d, %d rounds to the first frame, %d idle "
          "sessions over %.0f s%s" % (W, H, ROUNDS, N, SECONDS, "" if "vtk" in
                                      names else " (no DISPLAY: no VTK)"))
    for name in names:
        procs = vztest.Processes()
        tmp = tempfile.TemporaryDirectory()
        log_path = os.path.join(tmp.name, "server.log")
        log = open(log_path, "w")
        browser = tb.Browser(procs)
        try:
            server, base = start_server(procs, RENDERERS[name],
                                        os.path.join(tmp.name, "logs"), log)
            ff = first_frames(browser, base, log_path)
            browser.quit()
            procs.stop(server)          # its first-frame sessions with it
            server, base = start_server(procs, RENDERERS[name],
                                        os.path.join(tmp.name, "logs"), log)
            print("%s: /new to the first frame shown: %s ms (median %.0f); "
                  "renderer ready (segment valid) after %s s"
                  % (name, ", ".join("%.0f" % m for m, _ in ff),
                     statistics.median(m for m, _ in ff),
                     ", ".join("%.2f" % r for _, r in ff)))
            r_rss, r_cpu, s_rss, s_cpu = idle_cost(base, server)
            print("%s: per idle session: renderer %.0f MiB RSS, %.1f %% of a "
                  "core; server +%.1f MiB RSS, +%.1f %% of a core"
                  % (name, r_rss, r_cpu, s_rss, s_cpu))
        finally:
            procs.stop_all()
            log.close()
            tmp.cleanup()


if __name__ == "__main__":
    main()
