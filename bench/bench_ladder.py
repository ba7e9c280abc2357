#!/usr/bin/env python3
"""bench_ladder: the picture a viewer gets per link, and whether the
server's ladder picks the size and frame rate that make it best (issue 18
item 3).

For each content (encbench.CONTENTS: the demo, a turning mesh, a cursor
over a plot; 1280x720 30 fps, rendered once) and each link rate, the
encode gets 0.85 x the link (--share: what the controller settles at,
80-88 % of the link in bench_links). Every candidate of the ladder's grid
(scale 1, 0.75, 0.5, 0.375, 0.25 of the source; 30, 24, 15, 10 fps) is
encoded as the server does it: x264enc as server/vs-encoder.c has it
(zerolatency, veryfast, 2 threads, VBV 300 ms, a key frame every 120
frames, constrained baseline), the frames dropped to the frame rate with
their timestamps kept (videorate drop-only, the caps at the reduced
rate), scaled with videoscale. What the viewer sees is then rebuilt from
a container that keeps the timestamps (matroska): decoded, each frame
held until the next (ffmpeg fps=30), scaled back to 1280x720 (bilinear),
and compared with every source frame (SSIM "All", ffmpeg's ssim).

Printed per content and link: the SSIM of every candidate, the best one,
the server's own pick (build/bench/bench-ladder, vs_adapt_ladder at the
encode's bit rate and the content's motion: the share of the picture that
changes from frame to frame, measured on the clip by the server's own
vs_motion_frame) and its SSIM, and whether the pick is within 0.005 of
the best. The frame rate a viewer gets is the candidate's; the latency
per link is bench_links' (live, demo).

Not a test: prints tables (docs/performance.md, "The picture a viewer
gets per link"). Run it under scripts/bench.sh's environment
(VZ_BUILD_ROOT)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import encbench  # noqa: E402

W, H, FPS = 1280, 720, encbench.FPS
SCALES = [1.0, 0.75, 0.5, 0.375, 0.25]
RATES = [30, 24, 15, 10]
QUICK_SCALES = [1.0, 0.5, 0.25]
QUICK_RATES = [30, 15]
TOLERANCE = 0.005
LADDER_STILL = 0.01     # server/vs-adapt.h VS_LADDER_STILL


def size_for(scale):
    """The encode's size for a scale of the source, as the server's
    variant_size() has it: even, at least 16, none below 0.999."""
    if scale >= 0.999:
        return W, H
    return max(16, int(W * scale) & ~1), max(16, int(H * scale) & ~1)


def encode_args(clip, kbps, scale, fps, out):
    w, h = size_for(scale)
    e = ["gst-launch-1.0", "-q", "filesrc", "location=" + clip.path,
         "blocksize=%d" % clip.frame_size, "!", "rawvideoparse",
         "width=%d" % clip.w, "height=%d" % clip.h, "format=i420",
         "framerate=%d/1" % clip.fps]
    if fps < clip.fps:
        e += ["!", "videorate", "drop-only=true", "max-rate=%d" % fps]
    if (w, h) != (clip.w, clip.h):
        e += ["!", "videoscale", "!", "video/x-raw,width=%d,height=%d" % (w, h)]
    return e + ["!", "x264enc", "tune=zerolatency", "speed-preset=veryfast",
                "threads=2", "vbv-buf-capacity=300", "key-int-max=120",
                "bitrate=%d" % round(kbps), "!",
                "video/x-h264,profile=constrained-baseline,stream-format=byte-stream",
                "!", "h264parse", "!", "matroskamux", "!",
                "filesink", "location=" + out]



def ladder_tool():
    tool = os.path.join(os.environ.get("VZ_BUILD_ROOT", "build"), "bench",
                        "bench-ladder")
    if not os.access(tool, os.X_OK):
        raise SystemExit("%s not found: build the project first (ninja -C "
                         "build) or set VZ_BUILD_ROOT" % tool)
    return tool


def clip_motion(clip):
    """The share of the clip's picture that changes from frame to frame,
    as the server measures it (vs_motion_frame)."""
    p = subprocess.run([ladder_tool(), "--measure", clip.path,
                        "%dx%d" % (clip.w, clip.h)], check=True,
                       capture_output=True, text=True)
    return float(p.stdout.split()[0])


def ladder_picks(kbps_list, motion):
    """{encode kbit/s: (scale, fps)} from the server's own vs_adapt_ladder."""
    p = subprocess.run([ladder_tool(), "%dx%d" % (W, H), str(FPS), "h264",
                        "--motion", "%.5f" % motion] +
                       [str(k) for k in kbps_list], check=True,
                       capture_output=True, text=True)
    picks = {}
    for line in p.stdout.splitlines():
        k, s, f = line.split()
        picks[int(k)] = (float(s), int(f))
    if sorted(picks) != sorted(kbps_list):
        raise RuntimeError("bench-ladder answered %r for %r" % (p.stdout, kbps_list))
    return picks


class Bench:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.encodes = 0
        self.lock = encbench.StepLock(args.lock)

    def measure(self, clip, kbps, scale, fps):
        """(SSIM a viewer gets, kbit/s the encode made)."""
        out = os.path.join(self.tmp, "out.mkv")
        with self.lock():
            encbench.run(encode_args(clip, kbps, scale, fps, out))
            real = os.path.getsize(out) * 8 / (clip.frames / clip.fps) / 1000.0
            s = encbench.ssim(clip, out, prepare=(
                "fps=%d,scale=%d:%d:flags=bilinear,"
                "tpad=stop=-1:stop_mode=clone," % (clip.fps, clip.w, clip.h)))
        self.encodes += 1
        return s, real


def int_list(text, what):
    try:
        v = [int(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError("%s: comma-separated integers" % what)
    if not v or min(v) <= 0:
        raise argparse.ArgumentTypeError("%s: positive integers" % what)
    return v


def cand(scale, fps):
    w, h = size_for(scale)
    return "%dx%d@%d" % (w, h, fps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contents", default=",".join(encbench.CONTENTS),
                    help="comma-separated, of %s" % ", ".join(encbench.CONTENTS))
    ap.add_argument("--rates", default="300,1000,3000,10000",
                    type=lambda t: int_list(t, "--rates"),
                    help="link rates in kbit/s (default 300,1000,3000,10000)")
    ap.add_argument("--share", type=float, default=0.85,
                    help="the encode's bit rate as a share of the link "
                         "(default 0.85)")
    ap.add_argument("--frames", type=int, default=90,
                    help="frames per content (default 90: 3 s)")
    ap.add_argument("--quick", action="store_true",
                    help="scales 1, 0.5, 0.25 and 30, 15 fps only, plus the "
                         "ladder's pick")
    ap.add_argument("--lock", metavar="FILE",
                    help="hold this lock file (flock) during each encode "
                         "only, not for the whole run")
    args = ap.parse_args()
    contents = [c for c in args.contents.split(",") if c]
    for c in contents:
        if c not in encbench.CONTENTS:
            ap.error("unknown content %r (%s)" % (c, ", ".join(encbench.CONTENTS)))
    if not contents:
        ap.error("--contents: none given")
    if not 0 < args.share <= 1:
        ap.error("--share must be in (0, 1]")
    if args.frames < 2 * FPS:
        ap.error("--frames must be at least %d" % (2 * FPS))
    scales = QUICK_SCALES if args.quick else SCALES
    rates = QUICK_RATES if args.quick else RATES
    enc_kbps = {r: int(round(r * args.share)) for r in args.rates}
    ladder_tool()
    picks, motion = {}, {}    # content -> {kbit/s: (scale, fps)}, share

    t0 = time.monotonic()
    results = {}   # (content, link) -> {(scale, fps): (ssim, kbps)}
    with tempfile.TemporaryDirectory(prefix="bench-ladder-") as tmp:
        bench = Bench(args, tmp)
        for c in contents:
            t = time.monotonic()
            with bench.lock():
                clip = encbench.make_content(c, tmp, W, H, args.frames)
            motion[c] = clip_motion(clip)
            picks[c] = ladder_picks(sorted(set(enc_kbps.values())), motion[c])
            print("  content %s: %d frames %dx%d in %.0f s; motion %.4f (%s)" % (
                c, args.frames, W, H, time.monotonic() - t, motion[c],
                "still" if motion[c] < LADDER_STILL else "moving"), flush=True)
            for link in args.rates:
                kbps = enc_kbps[link]
                grid = [(s, f) for s in scales for f in rates]
                if picks[c][kbps] not in grid:
                    grid.append(picks[c][kbps])
                res = results[(c, link)] = {}
                for s, f in grid:
                    res[(s, f)] = bench.measure(clip, kbps, s, f)
                # the grid of SSIMs, a row per scale
                print()
                print("  %s, link %d kbit/s, encode %d kbit/s: SSIM per size "
                      "(rows) and frame rate (columns)" % (c, link, kbps))
                print("  %-10s" % "" + "".join("%9s" % ("%d fps" % f) for f in rates))
                for s in scales:
                    w, h = size_for(s)
                    print("  %-10s" % ("%dx%d" % (w, h)) + "".join(
                        "%9.4f" % res[(s, f)][0] for f in rates), flush=True)
            os.unlink(clip.path)

    print()
    print("== the picture a viewer gets per link: SSIM (every 30 fps frame, "
          "held and scaled back to %dx%d) of the best size and frame rate "
          "vs the server ladder's pick; encode at %.2f x the link, x264 "
          "veryfast, %d frames ==" % (W, H, args.share, args.frames))
    print("  %-7s %7s %7s  %-16s %7s %7s  %-16s %7s %7s %8s  %s" % (
        "content", "link", "encode", "best", "SSIM", "kbit/s", "ladder pick",
        "SSIM", "kbit/s", "diff", "within %.3f" % TOLERANCE))
    misses = 0
    for c in contents:
        for link in args.rates:
            res = results[(c, link)]
            best = max(res, key=lambda k: res[k][0])
            pick = picks[c][enc_kbps[link]]
            ok = res[best][0] - res[pick][0] <= TOLERANCE
            misses += not ok
            print("  %-7s %7d %7d  %-16s %7.4f %7.0f  %-16s %7.4f %7.0f %+8.4f  %s"
                  % (c, link, enc_kbps[link], cand(*best), res[best][0],
                     res[best][1], cand(*pick), res[pick][0], res[pick][1],
                     res[pick][0] - res[best][0], "yes" if ok else "NO"))
    print("  diff: the pick's SSIM minus the best's; kbit/s: what the encode "
          "made (file size)")
    print("  ladder's pick within %.3f SSIM of the best: %d of %d" % (
        TOLERANCE, len(results) - misses, len(results)))
    print("  run time %.0f s (%.0f s of it waiting for --lock), %d encodes" % (
        time.monotonic() - t0, bench.lock.waited, bench.encodes))


if __name__ == "__main__":
    main()
