"""Low links, stable (issue 18): what one WebRTC viewer behind a
bandwidth-limited link gets, to tune vizstream-server's congestion
controller (docs/server.md, "Adapting to the link").

vizstream-demo (1280x720, 30 fps, a busy moving picture with its frame
number drawn in) -> vizstream-server -> headless Chromium in its own network
namespace, reached over a veth pair: vz0 (10.77.0.1, the server's side)
and vz1 (10.77.0.2, the browser's), with a tbf cap on vz0's egress (toward
the viewer) of RATE kbit/s, burst 16 kB, latency 100 ms. One run per rate,
each with a fresh server, started at --bitrate 10M so that the controller,
not the cap, decides. --step makes one run instead: the link starts at
3 Mbit/s and drops to 1 Mbit/s after --step-at seconds (default --settle).

Sampled every 0.25 s: the glass-to-glass latency of every frame the page
shows (its ?timing figures: renderer publish -> frame shown, on the
server's clock), the times frames were shown (requestVideoFrameCallback),
the frame number in the pixels; every second GET /status (the controller's
target, the encode's bitrate, size, frame rate, the viewer's loss, received
bitrate, delay trend).

After --settle seconds: glass-to-glass p50/p95/max, frames shown per
second, the longest stall (the frame number in the pixels not moving, and
the longest gap between frames shown), the encode's bitrate against the
link's, how often the target changed; a per-second timeline of each run;
then one table with the issue's aims: p95 <= 300 ms, no stall over 1 s,
the encode at 70-95 % of the link; for --step, back under 300 ms (p95 over
every 1 s window) within 3 s of the drop.

The whole bench runs in a network namespace of its own (as the browser
tests do), the browser in a second one inside it. The set-up, the
sampling and the figures live in tests/browser/linklab.py, shared with the
link tests (tests/browser/test_links.py).

Usage (root: namespaces, veth, tc):
  bench_links.py [--rates 300,1000,3000,10000] [--step] [--step-at S]
                 [--duration 30] [--settle 10] [--server-arg ARG ...]
                 [--json OUT]
--server-arg takes one argument each (--server-arg=--codec
--server-arg=vp8) or several quoted (--server-arg "--codec vp8"); without
a --bitrate among them the server gets --bitrate 10M."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "browser"))
# the set-up, the sampling and the figures, shared with the link tests
import linklab as lab  # noqa: E402
import test_browser as tb  # noqa: E402  (importing it does not re-exec)
import vztest  # noqa: E402


def report(run, s):
    print("  first frame shown at %s s; latency from %s%s" % (
        lab.fmt(s["frames_first_s"], "%.1f"), run["lat_source"],
        "" if run["hooked"] else " (page hook not installed)"))
    print("  after %.0f s: g2g p50 %s p95 %s max %s ms (%d timed, %s of "
          "the frames shown); %.1f fps shown" % (
              run["settle"], lab.fmt(s["g2g_p50"]), lab.fmt(s["g2g_p95"]),
              lab.fmt(s["g2g_max"]), s["g2g_n"],
              lab.fmt(s["timed"] and s["timed"] * 100, "%.0f %%"), s["fps_shown"]))
    print("  longest stall: frame number %.2f s (tags read %d/%d), gap "
          "between frames shown %.2f s; %d seconds with p95 > %.0f ms or "
          "nothing shown" % (s["tag_stall_s"], s["tags_read"][0],
                             s["tags_read"][1], s["gap_s"], s["bad_seconds"],
                             lab.AIM_P95_MS))
    print("  encode %s kbit/s = %s of the link; target mean %s kbit/s, "
          "%d changes (%d up, %d down); %d size and %d frame-rate changes; "
          "loss mean %s; %d s off the main encode" % (
              lab.fmt(s["enc_kbps"]), lab.fmt(s["ratio"] and s["ratio"] * 100, "%.0f %%"),
              lab.fmt(s["target_mean"]), s["target_changes"], s["target_up"],
              s["target_down"], s["size_changes"], s["fps_changes"],
              lab.fmt(s["loss_mean"] and s["loss_mean"] * 100, "%.1f %%"),
              s["off_main"]))
    if run["step"]:
        rec = s["recovery_s"]
        print("  step at %s s: back under %.0f ms (every 1 s window) %s; "
              "encode %s kbit/s = %s of the link from %.0f s after the step"
              % (lab.fmt(s["step_at_s"], "%.1f"), lab.AIM_P95_MS,
                 "after %.2f s" % rec if rec is not None else "not within the run",
                 lab.fmt(s["enc_after_kbps"]),
                 lab.fmt(s["ratio_after"] and s["ratio_after"] * 100, "%.0f %%"),
                 lab.AIM_RECOVERY_S))


def table(results):
    print()
    print("aims: g2g p95 <= %.0f ms, no stall > %.1f s, encode %d-%d %% of the "
          "link; step: back under %.0f ms within %.0f s"
          % (lab.AIM_P95_MS, lab.AIM_STALL_S, lab.AIM_RATIO[0] * 100, lab.AIM_RATIO[1] * 100,
             lab.AIM_P95_MS, lab.AIM_RECOVERY_S))
    print("%-12s %5s %5s %6s %6s %5s %6s %6s %5s %6s  %s" % (
        "link kbit/s", "p50", "p95", "max", "stall", "fps", "enc", "ratio",
        "tgtch", "recov", "aims"))
    for run, s in results:
        ratio = s["ratio_after"] if run["step"] else s["ratio"]
        rec = "-"
        if run["step"]:
            rec = lab.fmt(s["recovery_s"], "%.2f", "never")
        aims = s["aims"]
        verdict = "hold" if all(aims.values()) else \
            "MISSED: " + ", ".join(k for k, ok in aims.items() if not ok)
        print("%-12s %5s %5s %6s %6.2f %5.1f %6s %6s %5d %6s  %s" % (
            run["name"], lab.fmt(s["g2g_p50"]), lab.fmt(s["g2g_p95"]),
            lab.fmt(s["g2g_max"]), s["stall_s"], s["fps_shown"],
            lab.fmt(s["enc_after_kbps"] if run["step"] else s["enc_kbps"]),
            lab.fmt(ratio and ratio * 100, "%.0f%%"), s["target_changes"], rec,
            verdict))


# ---- main ----

def parse_args():
    ap = argparse.ArgumentParser(
        description="One WebRTC viewer behind a tbf-capped veth link: "
        "glass-to-glass latency, stalls and the controller's target.")
    ap.add_argument("--rates", default="300,1000,3000,10000",
                    help="link rates, kbit/s, comma-separated")
    ap.add_argument("--step", action="store_true",
                    help="instead of --rates, one run: %d kbit/s, then %d "
                    "after --step-at seconds"
                    % (lab.STEP_FROM, lab.STEP_TO))
    ap.add_argument("--step-at", type=float, default=None,
                    help="seconds into the step run (default: --settle)")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--server-arg", action="append", default=[],
                    dest="server_arg", metavar="ARG",
                    help="extra vizstream-server arguments")
    ap.add_argument("--json", metavar="OUT", help="every sample, as JSON")
    args = ap.parse_args()
    try:
        args.rates = [int(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        ap.error("--rates wants kbit/s such as 300,1000, not '%s'" % args.rates)
    if any(r < 50 for r in args.rates):
        ap.error("--rates: at least 50 kbit/s each")
    if args.settle < 0 or args.duration < args.settle + 2:
        ap.error("--duration wants at least --settle + 2 seconds")
    if args.step_at is None:
        args.step_at = args.settle
    if not 0 < args.step_at < args.duration - 1:
        ap.error("--step-at wants a time inside the run")
    extra = [a for v in args.server_arg for a in shlex.split(v)]
    if not any(a == "--bitrate" or a.startswith("--bitrate=") for a in extra):
        extra = ["--bitrate", "10M"] + extra
    args.server_args = extra
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_links.py: needs root (network namespaces, veth, tc)")
    for tool in ("unshare", "nsenter", "ip", "tc", "node"):
        if shutil.which(tool) is None:
            sys.exit("bench_links.py: %s is not installed" % tool)
    lab.set_env()
    tb.enter_namespace()        # re-execs this script inside unshare -n

    def terminated(*_):
        sys.exit(143)           # through the finally below
    signal.signal(signal.SIGTERM, terminated)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    runs = [("%d" % r, [(0.0, r)]) for r in ([] if args.step else args.rates)]
    if args.step:
        runs.append(("%d->%d" % (lab.STEP_FROM, lab.STEP_TO),
                     [(0.0, lab.STEP_FROM), (args.step_at, lab.STEP_TO)]))
    procs = vztest.Processes()
    link = lab.Lab(procs)
    logdir = tempfile.mkdtemp(prefix="vz-links-")
    results = []
    try:
        link.start()
        print("one WebRTC viewer behind a tbf link (burst 16kb, latency "
              "100ms), %dx%d at %d fps, server %s; %.0f s per run, figures "
              "after %.0f s" % (lab.W, lab.H, lab.FPS,
                                " ".join(args.server_args),
                                args.duration, args.settle))
        for n, (name, schedule) in enumerate(runs):
            print()
            print("== link %s kbit/s ==" % name)
            sys.stdout.flush()
            run = link.run(n, name, schedule, args.server_args,
                           args.duration, args.settle, logdir)
            s = lab.summarize(run)
            lab.timeline(run)
            report(run, s)
            results.append((run, s))
            sys.stdout.flush()
        table(results)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"server_args": args.server_args,
                           "runs": [dict(run, summary=s) for run, s in results]},
                          f, indent=1)
    finally:
        link.close()
        procs.stop_all()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
