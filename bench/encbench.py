"""Helpers shared by the picture-per-bit benches (bench_quality.py,
bench_encoders.py): a raw I420 clip captured or generated once, encoded
with a gst-launch line (its size and its CPU time), and the SSIM of what
it decodes to against the clip."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import vztest  # noqa: E402


class Clip:
    """A raw I420 file of `frames` frames of w x h at fps."""

    def __init__(self, path, w, h, fps, frames):
        self.path, self.w, self.h, self.fps, self.frames = path, w, h, fps, frames

    @property
    def frame_size(self):
        return self.w * self.h * 3 // 2

    def check(self):
        size = os.path.getsize(self.path)
        if size != self.frames * self.frame_size:
            raise RuntimeError("%s holds %d bytes, not %d frames of %dx%d I420" % (
                self.path, size, self.frames, self.w, self.h))
        return self


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def capture_demo(path, w, h, fps, frames, tags=False):
    """vizstream-demo through shmframesrc into an I420 file."""
    seg = vztest.unique_segment("q")
    procs = vztest.Processes()
    try:
        procs.start([vztest.DEMO, "--segment", seg, "--size", "%dx%d" % (w, h),
                     "--fps", str(fps), "--quiet"] + (["--tags"] if tags else []))
        time.sleep(1)
        run(["gst-launch-1.0", "-q", "shmframesrc", "segment=" + seg,
             "num-buffers=%d" % frames, "!", "videoconvert", "!",
             "video/x-raw,format=I420", "!", "filesink", "location=" + path])
    finally:
        procs.stop_all()
    return Clip(path, w, h, fps, frames).check()


def rgb_to_i420(stdin, path, w, h, fps, frames, fmt="rgb", src=None):
    """Raw RGB frames (from `src`, a file, or else from `stdin`, a file
    object or PIPE) converted by videoconvert into an I420 file; returns
    the Popen when stdin is PIPE (the caller writes and waits), else the
    Clip."""
    head = (["filesrc", "location=" + src] if src else ["fdsrc", "fd=0"])
    args = ["gst-launch-1.0", "-q"] + head + [
        "!", "rawvideoparse", "width=%d" % w, "height=%d" % h,
        "format=" + fmt, "framerate=%d/1" % fps, "!", "videoconvert", "!",
        "video/x-raw,format=I420", "!", "filesink", "location=" + path]
    if stdin is subprocess.PIPE:
        return subprocess.Popen(args, stdin=subprocess.PIPE)
    run(args, stdin=stdin)
    return Clip(path, w, h, fps, frames).check()


def _raw_src(clip):
    return ["filesrc", "location=" + clip.path, "blocksize=%d" % clip.frame_size,
            "!", "rawvideoparse", "width=%d" % clip.w, "height=%d" % clip.h,
            "format=i420", "framerate=%d/1" % clip.fps]


def encode(clip, enc, out):
    """Encodes the clip with the elements `enc` into `out`; returns
    (kbit/s from the file size, CPU seconds of the gst-launch child)."""
    before = child_cpu()
    run(["gst-launch-1.0", "-q"] + _raw_src(clip) + ["!"] + enc +
        ["!", "filesink", "location=" + out])
    cpu = child_cpu() - before
    return os.path.getsize(out) * 8 / (clip.frames / clip.fps) / 1000.0, cpu


def baseline_cpu(clip, rounds=2):
    """CPU seconds of the same pipeline with the encoder replaced by
    identity (reading and parsing the file, gst-launch's start and stop);
    the least of a few rounds."""
    best = None
    for _ in range(rounds):
        before = child_cpu()
        run(["gst-launch-1.0", "-q"] + _raw_src(clip) +
            ["!", "identity", "!", "fakesink"])
        cpu = child_cpu() - before
        best = cpu if best is None else min(best, cpu)
    return best


def ssim(clip, out, fmt):
    """SSIM "All" (ffmpeg's ssim filter) of every frame `out` decodes to,
    as it is (paired by index, no frame-rate conversion), against the
    clip; a decode with another frame count is an error."""
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s",
           "%dx%d" % (clip.w, clip.h)]
    stats = out + ".ssim"
    p = subprocess.run(
        ["ffmpeg", "-v", "info", "-nostats"] + fmt + ["-i", out] + raw +
        ["-i", clip.path, "-lavfi",
         "[0:v]format=yuv420p,settb=1/30,setpts=N[a];[1:v]settb=1/30,setpts=N[b];"
         "[a][b]ssim=shortest=1:stats_file=" + stats, "-f", "null", "-"],
        capture_output=True, text=True)
    m = re.search(r"All:([0-9.]+)", p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError("ssim of %s failed: %s" % (out, p.stderr[-500:]))
    with open(stats) as f:
        n = sum(1 for _ in f)
    os.unlink(stats)
    if n != clip.frames:
        raise RuntimeError("%s decodes to %d frames, not %d" % (
            out, n, clip.frames))
    return float(m.group(1))
