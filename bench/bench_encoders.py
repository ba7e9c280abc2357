#!/usr/bin/env python3
"""bench_encoders: which x264enc and vp8enc settings give the most picture
per bit within the CPU budget (issue 18 item 2), side by side in one run.

Three contents at 1280x720 30 fps, each rendered or captured once into an
I420 file and reused for every setting:
  demo    vizstream-demo captured through shmframesrc (as bench_quality);
  mesh    a shaded, colour-mapped surface turning 1.5 degrees a frame
          (VTK off screen under Xvfb, as a VTK renderer would send);
  cursor  a still dense plot with a mouse pointer moving over it.

For each setting and content: the bit rate (from the file size) at which
SSIM (ffmpeg ssim "All", every frame decoded as is) first reaches the
target, searched in log space to within 2 %, with its ratio to today's
setting (x264 ultrafast VBV 300 ms, vp8enc as vs-encoder.c has it), and
the encoder's CPU per frame at that rate (the gst-launch child's user +
sys time, minus the same pipeline with `identity` instead of the encoder).
Then CPU per frame at 1920x1080 (demo) for each x264 preset and vp8enc
cpu-used at a fixed bit rate, against one core at 30 fps (33.3 ms).

The VBV, intra-refresh, Main- and High-profile and vp8enc buffer and
key-frame rows use the preset (cpu-used) that needs the fewest bits on
these contents among those within --budget-ms per 1080p frame (chosen on
the constrained-baseline rows).

The server's x264enc encode is H.264 Main (CABAC; caps
video/x-h264,profile=main) when every viewer of that encode decodes Main
(Chromium offers profile-level-id 4d001f), constrained-baseline otherwise
(Firefox): the H.264 aim line is x264 Main at the chosen preset, with
constrained-baseline (what a baseline-only viewer gets) and High beside it.

Not a test: prints tables and ratios (docs/performance.md). Run it under
scripts/bench.sh's environment (VZ_BUILD_ROOT, the build's plugins)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import encbench  # noqa: E402

FPS = encbench.FPS
TODAY_DEMO_KBPS = 15300    # docs/performance.md, SSIM 0.95, 2026-11-22
ONE_CORE_MS = 1000.0 / FPS
H264_CAPS = "video/x-h264,profile=%s,stream-format=byte-stream"


# ---- settings -------------------------------------------------------------

def x264(preset="ultrafast", vbv=300, intra=False, profile="constrained-baseline"):
    def enc(kbps):
        e = ["x264enc", "tune=zerolatency", "speed-preset=" + preset,
             "threads=2", "key-int-max=120", "vbv-buf-capacity=%d" % vbv,
             "bitrate=%d" % round(kbps)]
        if intra:
            e.append("intra-refresh=true")
        return e + ["!", H264_CAPS % profile, "!", "h264parse"]
    return dict(enc=enc, fmt=["-f", "h264"], ext="h264", codec="H.264")


def vp8(cpu_used=-16, buf=150, keyframes="disabled"):
    def enc(kbps):
        return ["vp8enc", "deadline=1", "cpu-used=%d" % cpu_used, "threads=1",
                "end-usage=cbr", "lag-in-frames=0", "undershoot=95",
                "buffer-size=%d" % buf,
                "buffer-initial-size=%d" % (buf * 100 // 150),
                "buffer-optimal-size=%d" % (buf * 120 // 150),
                "keyframe-mode=" + keyframes, "keyframe-max-dist=120",
                "max-intra-bitrate=250", "target-bitrate=%d" % round(kbps * 1000),
                "!", "webmmux"]
    return dict(enc=enc, fmt=[], ext="webm", codec="VP8")


MJPEG = dict(enc=lambda q: ["jpegenc", "quality=%d" % q], fmt=["-f", "mjpeg"],
             ext="mjpeg", codec="MJPEG", quality=True)


# ---- the search ------------------------------------------------------------

class Result:
    def __init__(self, knob, kbps, ssim, cpu_ms, evals, limit=""):
        self.knob, self.kbps, self.ssim, self.cpu_ms = knob, kbps, ssim, cpu_ms
        self.evals = evals
        # "floor": even the least knob gives more than the target SSIM
        # (the encoder's least bit rate, e.g. vp8enc at its max quantizer);
        # "not reached": the target is above what the largest knob gives
        self.limit = limit


class Bench:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.base = {}       # clip path -> identity CPU seconds
        self.encodes = 0
        self.lock = encbench.StepLock(args.lock)

    def base_cpu(self, clip):
        if clip.path not in self.base:
            self.base[clip.path] = encbench.baseline_cpu(clip)
        return self.base[clip.path]

    def cpu_ms(self, clip, cpu):
        return max(0.0, cpu - self.base_cpu(clip)) * 1000.0 / clip.frames

    def measure(self, clip, cfg, knob):
        out = os.path.join(self.tmp, "out." + cfg["ext"])
        kbps, cpu = encbench.encode(clip, cfg["enc"](knob), out)
        self.encodes += 1
        return kbps, encbench.ssim(clip, out, cfg["fmt"]), cpu

    def search(self, clip, cfg, guess):
        """The least knob (target kbit/s, or JPEG quality) whose SSIM
        reaches the target: bracketed from `guess`, then narrowed by
        interpolation in log(knob) until the bracket is within 2 % (one
        quality step for JPEG)."""
        target, quality = self.args.ssim, cfg.get("quality", False)
        lo_lim, hi_lim = (1, 100) if quality else (20.0, 120000.0)
        pts = {}

        def at(k):
            if quality:
                k = int(min(hi_lim, max(lo_lim, round(k))))
            else:
                k = min(hi_lim, max(lo_lim, k))
            if k not in pts:
                pts[k] = self.measure(clip, cfg, k)
            return k

        def done(below, above):
            if above is None:
                return below == hi_lim
            if below is None:
                return above == lo_lim
            return above - below <= 1 if quality else above / below <= 1.02

        k = at(guess)
        last = None
        while True:
            below = max((x for x in pts if pts[x][1] < target), default=None)
            above = min((x for x in pts if pts[x][1] >= target), default=None)
            if done(below, above):
                break
            f = (lambda x: x) if quality else math.log
            g = (lambda x: x) if quality else math.exp
            if below is not None and above is not None:
                sb, sa = pts[below][1], pts[above][1]
                x = g(f(below) + (target - sb) * (f(above) - f(below)) / (sa - sb))
                # step a little past the estimate, away from the side
                # that moved last, so that both ends of the bracket close
                nudge = 1 if quality else 0.009 * x
                x = x - nudge if last == "above" else x + nudge
                if quality:
                    x = min(max(x, below + 1), above - 1)
                else:
                    x = min(max(x, below * 1.004), above / 1.004)
            else:
                # one side only: extrapolate along the slope of the two
                # nearest points (or 0.06 SSIM per e-fold of bit rate)
                near = sorted(pts, key=lambda x: abs(pts[x][1] - target))[:2]
                slope = 0.06 if not quality else 0.004
                if len(near) == 2 and near[0] != near[1]:
                    ds = pts[near[0]][1] - pts[near[1]][1]
                    dk = f(near[0]) - f(near[1])
                    if ds * dk > 0:
                        slope = ds / dk
                k0 = above if above is not None else below
                step = (target - pts[k0][1]) / slope
                if quality:
                    step = max(-40, min(40, step))
                    step = step + 2 if step > 0 else step - 2
                else:
                    step = max(-1.4, min(1.4, step))
                    step = step * 1.15 + (0.1 if step > 0 else -0.1)
                x = g(f(k0) + step)
            n = len(pts)
            k = at(x)
            if len(pts) == n or len(pts) >= 10:
                break      # clamped onto a point already measured
            last = "above" if pts[k][1] >= target else "below"
        limit = ""
        if above is None:
            above, limit = max(pts), "not reached"
        elif below is None:
            limit = "floor"
        kbps, s, cpu = pts[above]
        kbps2, _, cpu2 = self.measure(clip, cfg, above)   # CPU: least of two
        return Result(above, kbps, s, self.cpu_ms(clip, min(cpu, cpu2)),
                      len(pts), limit)


# ---- the run ----------------------------------------------------------------

PRESETS = ["ultrafast", "superfast", "veryfast"]
CPU_USED = [-16, -8, -4]
VBVS = [150, 300, 600, 1000]


def cpu_1080p(bench, clip, kbps, presets, cpu_used, high, rounds=3):
    """(name, kbit/s, CPU ms per frame): the least of `rounds` rounds,
    the settings interleaved within each round. Main (what the server
    sends a viewer that decodes it) at each preset but ultrafast (no
    CABAC there: as constrained-baseline), High too if `high`."""
    cfgs = ([("x264 " + p, x264(p)) for p in presets] +
            [("x264 %s Main" % p, x264(p, profile="main"))
             for p in presets if p != "ultrafast"] +
            [("x264 %s High" % p, x264(p, profile="high"))
             for p in presets if high and p != "ultrafast"] +
            [("vp8 cpu-used %d" % c, vp8(c)) for c in cpu_used])
    cpus, real = {}, {}
    for _ in range(rounds):
        for name, cfg in cfgs:
            out = os.path.join(bench.tmp, "out." + cfg["ext"])
            real[name], cpu = encbench.encode(clip, cfg["enc"](kbps), out)
            cpus[name] = min(cpu, cpus.get(name, cpu))
    return [(n, real[n], bench.cpu_ms(clip, cpus[n])) for n, _ in cfgs]


def pick(rows_by_content, names, cpu1080, budget, contents):
    """The name among `names` within budget at 1080p whose bits, as the
    geometric mean over contents of the ratio to the first name, are the
    least."""
    best = None
    for n in names:
        if cpu1080.get(n, 0) > budget:
            continue
        logs = [math.log(rows_by_content[c][n].kbps / rows_by_content[c][names[0]].kbps)
                for c in contents]
        score = sum(logs) / len(logs)
        if best is None or score < best[0]:
            best = (score, n)
    return best[1] if best else names[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150,
                    help="frames per 720p content (default 150: 5 s, the "
                         "4 s key-frame period shows)")
    ap.add_argument("--contents", default="demo,mesh,cursor",
                    help="comma-separated, of demo, mesh, cursor")
    ap.add_argument("--quick", action="store_true",
                    help="fewer settings: ultrafast and veryfast, Main and "
                         "High at the chosen preset, cpu-used -16 and -8, "
                         "MJPEG")
    ap.add_argument("--ssim", type=float, default=0.95)
    ap.add_argument("--budget-ms", type=float, default=20.0,
                    help="encoder CPU per 1080p frame a setting may take "
                         "(default 20: one core at 30 fps with room for the "
                         "rest of the server)")
    ap.add_argument("--frames-1080p", type=int, default=90)
    ap.add_argument("--kbps-1080p", type=int, default=8000)
    ap.add_argument("--lock", metavar="FILE",
                    help="hold this lock file (flock) during each step "
                         "only, not for the whole run")
    args = ap.parse_args()
    contents = [c for c in args.contents.split(",") if c]
    for c in contents:
        if c not in ("demo", "mesh", "cursor"):
            ap.error("unknown content %r (demo, mesh, cursor)" % c)
    if args.frames < 2 or args.frames_1080p < 2:
        ap.error("--frames and --frames-1080p must be at least 2")
    presets = ["ultrafast", "veryfast"] if args.quick else PRESETS
    cpu_used = [-16, -8] if args.quick else CPU_USED
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-enc-") as tmp:
        bench = Bench(args, tmp)
        clips = {}
        for c in contents:
            t = time.monotonic()
            with bench.lock():
                clips[c] = encbench.make_content(c, tmp, 1280, 720, args.frames)
            print("  content %s: %d frames 1280x720 in %.0f s" % (
                c, args.frames, time.monotonic() - t), flush=True)

        # CPU at 1080p first: it decides which preset the later rows use
        with bench.lock():
            hd = encbench.capture_demo(os.path.join(tmp, "demo-1080p.yuv"),
                                       1920, 1080, FPS, args.frames_1080p)
            hd_rows = cpu_1080p(bench, hd, args.kbps_1080p, presets, cpu_used,
                                not args.quick)
        os.unlink(hd.path)
        cpu1080 = {n: ms for n, _, ms in hd_rows}

        rows = {c: {} for c in contents}   # content -> name -> Result
        order = []

        def measure(name, cfg, guess_from=None, scale=1.0):
            if name not in order:
                order.append(name)
            for c in contents:
                if name in rows[c]:
                    continue
                if cfg["codec"] == "MJPEG":
                    guess = 70
                elif guess_from and guess_from in rows[c]:
                    guess = rows[c][guess_from].kbps * scale
                else:
                    guess = {"demo": 15000, "mesh": 3000, "cursor": 800}[c]
                with bench.lock():
                    r = bench.search(clips[c], cfg, guess)
                rows[c][name] = r
                print("  %-7s %-34s %8.0f kbit/s  SSIM %.4f  %5.1f ms/frame"
                      "  (%d encodes)" % (c, name, r.kbps, r.ssim, r.cpu_ms,
                                         r.evals), flush=True)

        def h264name(p, vbv=300, intra=False, profile="cb"):
            return "x264 %s vbv %d%s%s" % (p, vbv, " intra-refresh" if intra else "",
                                          {"high": " High", "main": " Main"}.get(profile, ""))

        today = h264name("ultrafast")
        for p in presets:
            measure(h264name(p), x264(p), today, {"ultrafast": 1, "superfast": 0.8,
                                                 "veryfast": 0.7}[p])
        vp8_today = "vp8 cpu-used -16 buf 150 kf disabled"
        for cu in cpu_used:
            measure("vp8 cpu-used %d buf 150 kf disabled" % cu, vp8(cu),
                    vp8_today if cu != -16 else today, 0.9)
        measure("MJPEG (jpegenc quality)", MJPEG)

        preset = pick(rows, [h264name(p) for p in presets],
                      {h264name(p): cpu1080["x264 " + p] for p in presets},
                      args.budget_ms, contents).split()[1]
        vp8_names = ["vp8 cpu-used %d buf 150 kf disabled" % cu for cu in cpu_used]
        cu = int(pick(rows, vp8_names,
                      {n: cpu1080["vp8 cpu-used %d" % c] for n, c in zip(vp8_names, cpu_used)},
                      args.budget_ms, contents).split()[2])
        chosen = h264name(preset)
        if not args.quick:
            for vbv in VBVS:
                measure(h264name(preset, vbv), x264(preset, vbv), chosen)
            measure(h264name(preset, intra=True), x264(preset, intra=True), chosen)
        # Main: what the server sends a viewer that decodes it. ultrafast
        # switches CABAC and the 8x8 transform off whatever the profile:
        # Main and High are also measured at the next preset then
        high_presets = [preset] + (["superfast"] if preset == "ultrafast" and
                                   "superfast" in presets else [])
        for p in high_presets:
            measure(h264name(p, profile="main"), x264(p, profile="main"),
                    h264name(p), 0.9)
            measure(h264name(p, profile="high"), x264(p, profile="high"),
                    h264name(p, profile="main"))
        if not args.quick:
            vp8_chosen = "vp8 cpu-used %d buf 150 kf disabled" % cu
            measure("vp8 cpu-used %d buf 300 kf disabled" % cu, vp8(cu, 300), vp8_chosen)
            measure("vp8 cpu-used %d buf 150 kf auto/120" % cu, vp8(cu, 150, "auto"),
                    vp8_chosen)

        # ---- the tables
        print()
        print("== bits at SSIM %.2f (ffmpeg ssim All, every frame), %d frames "
              "1280x720 %d fps, key frames every 4 s ==" % (args.ssim, args.frames, FPS))
        for c in contents:
            print()
            print("%s:" % c)
            print("  %-36s %8s %7s %9s %9s %9s" % (
                "setting", "kbit/s", "SSIM", "vs today", "vs x264", "CPU ms/f"))
            for n in order:
                r = rows[c][n]
                x = r.kbps / rows[c][today].kbps
                vs = ("%8.2fx" % (r.kbps / rows[c][vp8_today].kbps)
                      if n.startswith("vp8") else "%8.2fx" % x
                      if n.startswith("x264") else "q %-6d" % r.knob)
                print("  %-36s %8.0f %7.4f %9s %8.2fx %9.1f%s" % (
                    n, r.kbps, r.ssim, vs, x, r.cpu_ms,
                    "  " + r.limit if r.limit else ""))
        print()
        print("  vs today: to x264 ultrafast vbv 300 (H.264 rows), to vp8enc "
              "as vs-encoder.c has it (VP8 rows); vs x264: to x264 today; "
              "CPU ms/f: the encoder alone at 720p, at that bit rate; "
              "floor: the encoder's least bit rate already gives more than "
              "the target")

        print()
        print("== encoder CPU per frame at 1920x1080 (demo, %d frames, %d kbit/s), "
              "one core at %d fps = %.1f ms ==" % (args.frames_1080p,
                                                   args.kbps_1080p, FPS, ONE_CORE_MS))
        for n, real, ms in hd_rows:
            print("  %-22s %7.1f ms/frame = %5.1f %% of a core%s  (%.0f kbit/s)" % (
                n, ms, 100 * ms / ONE_CORE_MS,
                "  over the %.0f ms budget" % args.budget_ms
                if ms > args.budget_ms else "", real))

        print()
        print("== the choice (fewest bits, geometric mean over %s, within %.0f "
              "ms per 1080p frame) ==" % ("/".join(contents), args.budget_ms))
        main_ms = cpu1080.get("x264 %s Main" % preset)
        print("  x264: speed-preset=%s vbv-buf-capacity=300 (%.1f ms/frame at "
              "1080p%s); vp8enc: cpu-used=%d (%.1f ms/frame at 1080p%s)" % (
                  preset, cpu1080["x264 " + preset],
                  "" if main_ms is None else ", Main %.1f%s" % (
                      main_ms, " over budget" if main_ms > args.budget_ms else ""),
                  cu, cpu1080["vp8 cpu-used %d" % cu],
                  ", none is within budget: the fastest"
                  if min(cpu1080["vp8 cpu-used %d" % c] for c in cpu_used)
                  > args.budget_ms else ""))
        print("  the server's x264enc encode is Main (profile=main, CABAC) when "
              "every viewer of the encode decodes Main (Chromium), "
              "constrained-baseline otherwise (Firefox)")
        main_chosen = h264name(preset, profile="main")
        if "demo" in contents:
            d = rows["demo"]
            n = d[main_chosen].kbps
            print("  H.264 bits at SSIM %.2f on the demo, as sent to a viewer "
                  "that decodes Main (%s): %.0f kbit/s = %.2fx today's %.1f "
                  "Mbit/s and = %.2fx ultrafast in this run (aim <= 0.7)" % (
                      args.ssim, main_chosen, n, n / TODAY_DEMO_KBPS,
                      TODAY_DEMO_KBPS / 1000.0, n / d[today].kbps))
            n = d[chosen].kbps
            print("  constrained-baseline at %s (a baseline-only viewer, e.g. "
                  "Firefox): %.0f kbit/s = %.2fx today's %.1f Mbit/s and = "
                  "%.2fx ultrafast in this run" % (
                      preset, n, n / TODAY_DEMO_KBPS, TODAY_DEMO_KBPS / 1000.0,
                      n / d[today].kbps))
            for p in high_presets:
                mn = d[h264name(p, profile="main")].kbps
                if p != preset:
                    print("  with Main profile (CABAC) at %s: %.0f kbit/s = "
                          "%.2fx constrained-baseline at %s, %.2fx today" % (
                              p, mn, mn / d[h264name(p)].kbps, p,
                              mn / d[today].kbps))
                hi = d[h264name(p, profile="high")].kbps
                print("  with High profile (CABAC, 8x8) at %s: %.0f kbit/s = "
                      "%.2fx constrained-baseline at %s, %.2fx Main, %.2fx "
                      "today" % (p, hi, hi / d[h264name(p)].kbps, p, hi / mn,
                                 hi / d[today].kbps))
        for c in contents:
            m = rows[c]["MJPEG (jpegenc quality)"].kbps
            print("  %-7s MJPEG / H.264 (%s) = %.2f (aim >= 3); MJPEG / "
                  "H.264 today = %.2f; MJPEG / H.264 Main = %.2f" % (
                      c, chosen, m / rows[c][chosen].kbps,
                      m / rows[c][today].kbps, m / rows[c][main_chosen].kbps))
        print("  run time %.0f s (%.0f s of it waiting for --lock), %d "
              "encodes" % (time.monotonic() - t0, bench.lock.waited, bench.encodes))


if __name__ == "__main__":
    main()
