"""One WebRTC viewer behind a bandwidth-limited link: what the bench
(bench/bench_links.py) and the link tests (test_links.py) share.

vizstream-demo (1280x720, 30 fps, a busy moving picture with its frame
number drawn in) -> vizstream-server -> headless Chromium in its own network
namespace, reached over a veth pair: vz0 (10.77.0.1, the server's side)
and vz1 (10.77.0.2, the browser's), with a tbf cap on vz0's egress (toward
the viewer) of RATE kbit/s, burst 16 kB, latency 100 ms. The caller runs in
a network namespace of its own (test_browser.enter_namespace), so vz0 and
the addresses are private to it.

run_one () samples, every 0.25 s: the glass-to-glass latency of every frame
the page shows (its ?timing figures: renderer publish -> frame shown, on
the server's clock), the times frames were shown (requestVideoFrameCallback,
through a hook installed in the page), the frame number in the pixels;
every second GET /status (the controller's target, the encode's bitrate,
size, frame rate, the viewer's loss, received bitrate, delay trend,
standing queue). summarize () and timeline () say what a run shows."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_browser as tb  # noqa: E402  (importing it does not re-exec)
import vztest  # noqa: E402

W, H, FPS = 1280, 720, 30
SAMPLE_S = 0.25
HOST_IP, PEER_IP = "10.77.0.1", "10.77.0.2"
STEP_FROM, STEP_TO = 3000, 1000
# the aims
AIM_P95_MS = 300.0
AIM_STALL_S = 1.0
AIM_RATIO = (0.70, 0.95)
AIM_RECOVERY_S = 3.0

# Installed in the page once it has loaded: every latency the page records
# (with the time it was recorded) and every frame shown, kept until the
# next sample takes them, so that nothing between samples is lost.
HOOK = r"""(() => {
  if (window.__vzbench) return window.__vzbench.hooked;
  const b = window.__vzbench = { lat: [], frames: [], hooked: false };
  const s = window.vizstream;
  if (s && Array.isArray(s.latencies)) {
    const push = s.latencies.push;
    s.latencies.push = function (...v) {
      const t = performance.now();
      for (const x of v) b.lat.push([t, x]);
      return push.apply(this, v);
    };
    b.hooked = true;
  }
  const video = document.getElementById('video');
  const cb = (now) => { b.frames.push(now); video.requestVideoFrameCallback(cb); };
  video.requestVideoFrameCallback(cb);
  return b.hooked;
})()"""

SAMPLE = r"""(() => {
  const b = window.__vzbench, s = window.vizstream;
  const out = { now: performance.now(), lat: b.lat, frames: b.frames,
                shown: s.framesShown, last: s.lastLatency,
                connected: s.connected, transport: s.transport };
  b.lat = []; b.frames = [];
  return out;
})()"""


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def run_cmd(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))


def set_env():
    """What meson's test_env sets, where the caller did not."""
    build = os.path.abspath(vztest.BUILD)
    if "GST_PLUGIN_PATH_1_0" not in os.environ and \
            "GST_PLUGIN_PATH" not in os.environ:
        os.environ["GST_PLUGIN_PATH_1_0"] = "%s/gst:%s/ext/gl" % (build, build)
    lib = os.path.join(build, "lib", "vizstream")
    ld = os.environ.get("LD_LIBRARY_PATH", "")
    if lib not in ld.split(":"):
        os.environ["LD_LIBRARY_PATH"] = lib + (":" + ld if ld else "")


# ---- the link: veth pair into the browser's namespace, tbf on vz0 ----

def make_link(pid):
    # unshare(1) creates the namespace before it execs node: wait for it,
    # or the peer would land in this namespace.
    mine = os.readlink("/proc/self/ns/net")
    end = time.monotonic() + 10
    while os.readlink("/proc/%d/ns/net" % pid) == mine:
        if time.monotonic() > end:
            raise RuntimeError("the browser's network namespace did not appear")
        time.sleep(0.01)
    run_cmd("ip", "link", "add", "vz0", "type", "veth", "peer", "name",
            "vz1", "netns", str(pid))
    run_cmd("ip", "addr", "add", HOST_IP + "/24", "dev", "vz0")
    run_cmd("ip", "link", "set", "vz0", "up")
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", PEER_IP + "/24", "dev", "vz1"],
                ["ip", "link", "set", "vz1", "up"]):
        run_cmd("nsenter", "-t", str(pid), "-n", *cmd)


def set_rate(kbit, verb):
    run_cmd("tc", "qdisc", verb, "dev", "vz0", "root", "tbf", "rate",
            "%dkbit" % kbit, "burst", "16kb", "latency", "100ms")


# ---- one run ----

def start_server(procs, segment, extra, logpath):
    log = open(logpath, "w")
    server = procs.start([tb.SERVER, "--segment", segment, "--port", "0",
                          "--bind", "0.0.0.0", "--ice-address", HOST_IP,
                          "--quiet"] + extra,
                         stdout=log, stderr=subprocess.STDOUT)
    log.close()
    end = time.monotonic() + 20
    while time.monotonic() < end:
        with open(logpath) as f:
            text = f.read()
        m = re.search(r"serving (http://\S+)", text)
        if m:
            return server, m.group(1).rsplit(":", 1)[1].strip("/")
        if server.poll() is not None:
            raise RuntimeError("vizstream-server exited (%s): %s"
                               % (server.returncode, text[-2000:]))
        time.sleep(0.1)
    raise RuntimeError("vizstream-server did not say where it serves")


class StatusPoller(threading.Thread):
    """GET /status in the middle of every second of the run."""

    def __init__(self, url, t0):
        super().__init__(daemon=True)
        self.url, self.t0 = url, t0
        self.samples = []       # (t, /status or None)
        self.done = threading.Event()

    def run(self):
        k = 0
        while True:
            wait = self.t0 + k + 0.5 - time.monotonic()
            if wait > 0 and self.done.wait(wait):
                return
            if self.done.is_set():
                return
            t = time.monotonic() - self.t0
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    st = json.load(r)
            except (OSError, ValueError):
                st = None
            self.samples.append((t, st))
            k = max(k + 1, int(time.monotonic() - self.t0 - 0.5) + 1)


def status_row(st):
    if not st:
        return None
    v = (st.get("variants") or [{}])[0]
    viewers = st.get("viewers") or [{}]
    p = viewers[0]
    return {"target": v.get("target_kbps"), "kbps": v.get("kbps"),
            "enc_fps": v.get("fps"), "max_fps": v.get("max_fps"),
            "width": v.get("width"), "height": v.get("height"),
            "loss": p.get("loss"), "recv": p.get("recv_kbps"),
            "trend": p.get("delay_trend_ms"), "queue": p.get("queue_ms"), "variant": p.get("variant"),
            "repairs": p.get("repair_key_frames"),
            "connected": p.get("connected"), "viewers": len(st.get("viewers") or [])}


def run_one(browser, procs, segment, n, name, schedule, server_args,
            duration, settle, logdir):
    """One server, one page, DURATION seconds. schedule: [(t, kbit/s)], the
    first at 0: the link's rate from then on."""
    set_rate(schedule[0][1], "replace")
    server, port = start_server(procs, segment, server_args,
                                os.path.join(logdir, "server-%d.log" % n))
    page = "p%d" % n
    t0 = time.monotonic()
    poller = StatusPoller("http://127.0.0.1:%s/status" % port, t0)
    poller.start()
    tags, lat_raw, frames_raw, last_lat, offsets = [], [], [], [], []
    changes = []
    hooked = False
    end = duration
    try:
        browser.call("open", page=page,
                     url="http://%s:%s/?timing" % (HOST_IP, port))
        hooked = browser.js(page, HOOK)
        pending = list(schedule[1:])
        i = 0
        while True:
            tick = t0 + i * SAMPLE_S
            i += 1
            if tick < time.monotonic():
                continue        # a slow sample: skip the ticks it ate
            if tick >= t0 + duration:
                break
            time.sleep(tick - time.monotonic())
            while pending and time.monotonic() - t0 >= pending[0][0]:
                at, kbit = pending.pop(0)
                set_rate(kbit, "change")
                changes.append((time.monotonic() - t0, kbit))
            a = time.monotonic()
            s = browser.js(page, SAMPLE)
            b = time.monotonic()
            offsets.append(((a + b) / 2 - t0 - s["now"] / 1000.0, (b - a) / 2))
            lat_raw.extend(s["lat"])
            frames_raw.extend(s["frames"])
            last_lat.append((b - t0, s["last"]))
            num = browser.call("frame", page=page, rw=W, rh=H)["number"]
            tags.append((time.monotonic() - t0, num))
            end = b - t0
        if server.poll() is not None:
            with open(os.path.join(logdir, "server-%d.log" % n)) as f:
                print("  vizstream-server exited (%s) during the run: %s"
                      % (server.returncode, f.read()[-2000:]))
    finally:
        poller.done.set()
        poller.join(5)
        try:
            browser.call("close", page=page)
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        procs.stop(server)

    # page times (performance.now(), ms) -> seconds since t0, through the
    # sample with the shortest round trip
    off = min(offsets, key=lambda o: o[1])[0] if offsets else 0.0
    lat = [(t / 1000.0 + off, v) for t, v in lat_raw if v is not None]
    source = "every frame"
    if not lat:
        # no hook (the page changed?): lastLatency as sampled, repeats out
        source = "lastLatency samples"
        prev = None
        for t, v in last_lat:
            if v is not None and v != prev:
                lat.append((t, v))
            prev = v
    frames = sorted(t / 1000.0 + off for t in frames_raw)
    status = [(t, status_row(st)) for t, st in poller.samples]
    actual = [(0.0, schedule[0][1])] + changes
    return {"name": name, "schedule": actual, "step": len(schedule) > 1,
            "lat": lat, "lat_source": source, "hooked": hooked,
            "frames": frames, "tags": tags, "status": status,
            "duration": duration, "settle": settle,
            "sampled_until": end}


# ---- what a run says ----

def link_at(schedule, t):
    kbit = schedule[0][1]
    for at, k in schedule:
        if t >= at:
            kbit = k
    return kbit


def longest_gap(times, lo, hi):
    before = [t for t in times if t <= lo]
    seq = ([before[-1]] if before else [lo]) + \
        [t for t in times if lo < t < hi] + [hi]
    return max(b - a for a, b in zip(seq, seq[1:]))


def tag_stall(tags, lo, hi):
    """Longest time the frame number in the pixels stayed the same (a
    lower bound: from the first to the last sample that read it)."""
    best, first, cur = 0.0, None, None
    for t, n in tags:
        if not lo <= t < hi or n is None:
            continue
        if n != cur:
            cur, first = n, t
        best = max(best, t - first)
    return best


def window_bad(lat, frames, a, b):
    """A window [a, b) is bad when nothing was shown in it, or its p95 is
    over the aim; None when frames were shown but none was timed."""
    if not any(a <= t < b for t in frames):
        return True
    vals = [v for t, v in lat if a <= t < b]
    if not vals:
        return None
    return pct(vals, 95) > AIM_P95_MS


def recovery(run, step_t):
    """Seconds from the step to the end of the last 1 s window (sliding by
    0.25 s) whose p95 is over the aim; 0 when none; None when the last one
    of the run is still bad."""
    end = run["duration"]
    last_bad, x, bad = None, 0.0, None
    while step_t + x + 1.0 <= end + 1e-9:
        bad = window_bad(run["lat"], run["frames"], step_t + x, step_t + x + 1)
        if bad:
            last_bad = x
        x += SAMPLE_S
    if last_bad is None:
        return 0.0
    if bad:
        return None
    return last_bad + 1.0


def changes_of(values):
    vals = [v for v in values if v is not None]
    ups = sum(1 for a, b in zip(vals, vals[1:]) if b > a)
    downs = sum(1 for a, b in zip(vals, vals[1:]) if b < a)
    return ups, downs


def summarize(run):
    lo, hi = run["settle"], run["duration"]
    sched = run["schedule"]
    lat = [v for t, v in run["lat"] if lo <= t < hi]
    shown = [t for t in run["frames"] if lo <= t < hi]
    rows = [(t, r) for t, r in run["status"] if r and lo <= t < hi]
    first = run["frames"][0] if run["frames"] else None
    s = {"frames_first_s": first,
         "g2g_n": len(lat), "g2g_p50": pct(lat, 50), "g2g_p95": pct(lat, 95),
         "g2g_max": max(lat) if lat else None,
         "fps_shown": len(shown) / (hi - lo),
         "timed": len(lat) / len(shown) if shown else None,
         "gap_s": longest_gap(run["frames"], lo,
                              min(hi, run["sampled_until"])),
         "tag_stall_s": tag_stall(run["tags"], lo, hi),
         "tags_read": (sum(1 for t, n in run["tags"] if lo <= t < hi and n is not None),
                       sum(1 for t, n in run["tags"] if lo <= t < hi))}
    s["stall_s"] = max(s["gap_s"], s["tag_stall_s"])
    bad = [window_bad(run["lat"], run["frames"], k, k + 1)
           for k in range(int(lo), int(hi))]
    s["bad_seconds"] = sum(1 for b in bad if b)

    def ratio_over(a, b):
        rs = [(t, r) for t, r in run["status"]
              if r and r["kbps"] is not None and a <= t < b]
        if not rs:
            return None, None
        enc = statistics.mean(r["kbps"] for t, r in rs)
        link = statistics.mean(link_at(sched, t) for t, r in rs)
        return enc, enc / link

    s["enc_kbps"], s["ratio"] = ratio_over(lo, hi)
    s["target_mean"] = statistics.mean(r["target"] for t, r in rows
                                       if r["target"] is not None) if rows else None
    s["target_up"], s["target_down"] = changes_of(r["target"] for t, r in rows)
    s["target_changes"] = s["target_up"] + s["target_down"]
    sizes = [(r["width"], r["height"]) for t, r in rows]
    s["size_changes"] = sum(1 for a, b in zip(sizes, sizes[1:]) if a != b)
    fpss = [r["max_fps"] for t, r in rows]
    s["fps_changes"] = sum(1 for a, b in zip(fpss, fpss[1:]) if a != b)
    losses = [r["loss"] for t, r in rows if r["loss"] is not None]
    s["loss_mean"] = statistics.mean(losses) if losses else None
    s["off_main"] = sum(1 for t, r in rows if r["variant"] not in (None, "main"))

    aims = []
    if run["step"]:
        step_t = sched[1][0] if len(sched) > 1 else None
        s["step_at_s"] = step_t
        s["recovery_s"] = recovery(run, step_t) if step_t is not None else None
        s["enc_after_kbps"], s["ratio_after"] = ratio_over(
            (step_t or lo) + AIM_RECOVERY_S, hi)
        rec = s["recovery_s"]
        aims.append(("recovery", rec is not None and rec <= AIM_RECOVERY_S))
        ratio = s["ratio_after"]
    else:
        aims.append(("p95", s["g2g_p95"] is not None and s["g2g_p95"] <= AIM_P95_MS))
        ratio = s["ratio"]
    aims.append(("stall", s["stall_s"] <= AIM_STALL_S))
    aims.append(("ratio", ratio is not None and AIM_RATIO[0] <= ratio <= AIM_RATIO[1]))
    s["aims"] = dict(aims)
    return s


def timeline(run):
    sched = run["schedule"]
    print("  (t: second of the run; | figures from here; * the step)")
    print("    t  link target   kbps   recv  size       fps loss% trend queue var  "
          "g2g p95 shown")
    for k in range(int(run["duration"])):
        rs = [r for t, r in run["status"] if k <= t < k + 1 and r]
        r = rs[-1] if rs else None
        lat = [v for t, v in run["lat"] if k <= t < k + 1]
        shown = sum(1 for t in run["frames"] if k <= t < k + 1)
        mark = "*" if any(k <= at < k + 1 for at, _ in sched[1:]) else \
            ("|" if k == int(run["settle"]) else " ")
        if r:
            size = "%sx%s" % (r["width"], r["height"])
            st = "%6s %6s %6s  %-9s %3s %5s %5s %5s %-4s" % (
                fmt(r["target"]), fmt(r["kbps"]), fmt(r["recv"]), size,
                fmt(r["max_fps"]), fmt(r["loss"] and r["loss"] * 100, "%.1f"),
                fmt(r["trend"], "%.1f"), fmt(r["queue"], "%.0f"),
                (r["variant"] or "-")[:4])
        else:
            st = "%-58s" % "  (no /status)"
        print("%s%4d %5d %s %7s %5d" % (mark, k, link_at(sched, k + 0.5), st,
                                        fmt(pct(lat, 95)), shown))


# ---- the set-up both use ----

class Lab:
    """The demo publishing (W x H at FPS, frame numbers drawn in), one
    browser in a network namespace of its own and the veth link to it.
    start () builds it; close () (safe after a failed start) quits the
    browser and removes the link; the processes are PROCS' to stop."""

    def __init__(self, procs):
        self.procs = procs
        self.segment = vztest.unique_segment("links")
        self.browser = None

    def start(self):
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "%dx%d" % (W, H), "--fps", str(FPS), "--tags",
                          "--quiet"], stdout=subprocess.DEVNULL)
        self.browser = tb.Browser(self.procs, prefix=["unshare", "-n", "--"])
        make_link(self.browser.proc.pid)

    def run(self, n, name, schedule, server_args, duration, settle, logdir):
        return run_one(self.browser, self.procs, self.segment, n, name,
                       schedule, server_args, duration, settle, logdir)

    def close(self):
        if self.browser:
            # the driver may be stuck in a call: do not wait for it long
            q = threading.Thread(target=self.browser.quit, daemon=True)
            q.start()
            q.join(10)
        subprocess.run(["ip", "link", "del", "vz0"], capture_output=True)
