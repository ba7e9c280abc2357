"""Helpers shared by the picture-per-bit benches (bench_quality.py,
bench_encoders.py, bench_ladder.py): a raw I420 clip captured or generated
once (the demo, a turning mesh, a cursor over a plot), encoded
with a gst-launch line (its size and its CPU time), and the SSIM of what
it decodes to against the clip."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import contextlib
import fcntl
import os
import math
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import vztest  # noqa: E402

FPS = 30


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


class StepLock:
    """`with lock():` holds the flock(2) lock file `path` (as flock(1)
    takes it) for one step, so that a long run on a shared machine lets
    others in between; `waited`: seconds spent waiting. No path: no lock."""

    def __init__(self, path):
        self.path, self.waited = path, 0.0

    @contextlib.contextmanager
    def __call__(self):
        if not self.path:
            yield
            return
        with open(self.path, "a") as f:
            t = time.monotonic()
            fcntl.flock(f, fcntl.LOCK_EX)
            self.waited += time.monotonic() - t
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def ssim(clip, out, fmt=(), prepare=""):
    """SSIM "All" (ffmpeg's ssim filter) of every frame `out` decodes to,
    paired by index, against the clip; `prepare`: ffmpeg filters (ending
    in a comma) applied to the decoded pictures first (what a viewer sees:
    frames held, scaled back), none by default. A decode with another
    frame count is an error."""
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s",
           "%dx%d" % (clip.w, clip.h), "-framerate", str(clip.fps)]
    stats = out + ".ssim"
    p = subprocess.run(
        ["ffmpeg", "-v", "info", "-nostats"] + list(fmt) + ["-i", out] + raw +
        ["-i", clip.path, "-lavfi",
         "[0:v]%sformat=yuv420p,settb=1/%d,setpts=N[a];"
         "[1:v]settb=1/%d,setpts=N[b];[a][b]ssim=shortest=1:stats_file=%s"
         % (prepare, clip.fps, clip.fps, stats), "-f", "null", "-"],
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


# ---- contents -------------------------------------------------------------

def render_mesh(out, w, h, frames):
    """Runs in a child under Xvfb: writes `frames` raw RGB frames of the
    turning surface to `out`; frame i is rendered at angle 1.5 * i."""
    import numpy as np
    import vtk
    from vtk.util import numpy_support

    sphere = vtk.vtkSphereSource()
    sphere.SetThetaResolution(480)
    sphere.SetPhiResolution(480)
    sphere.Update()
    poly = sphere.GetOutput()
    p = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    theta = np.arctan2(p[:, 1], p[:, 0])
    phi = np.arccos(np.clip(p[:, 2] / 0.5, -1, 1))
    bumps = (np.sin(5 * theta) * np.sin(4 * phi) ** 2 * 0.6
             + np.cos(9 * phi) * 0.25 + np.sin(3 * theta + 7 * phi) * 0.15)
    poly.GetPointData().SetScalars(numpy_support.numpy_to_vtk(bumps, deep=1))
    warp = vtk.vtkWarpScalar()
    warp.SetInputData(poly)
    warp.SetUseNormal(0)       # along the sphere's own normals
    warp.SetScaleFactor(0.12)
    normals = vtk.vtkPolyDataNormals()
    normals.SetInputConnection(warp.GetOutputPort())
    normals.SplittingOff()
    lut = vtk.vtkColorTransferFunction()   # viridis-like
    for x, rgb in ((-1.0, (0.27, 0.00, 0.33)), (-0.5, (0.23, 0.32, 0.55)),
                   (0.0, (0.13, 0.57, 0.55)), (0.5, (0.37, 0.79, 0.38)),
                   (1.0, (0.99, 0.91, 0.14))):
        lut.AddRGBPoint(x, *rgb)
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputConnection(normals.GetOutputPort())
    mapper.SetLookupTable(lut)
    mapper.SetScalarRange(-1, 1)
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetInterpolationToPhong()
    prop.SetSpecular(0.5)
    prop.SetSpecularPower(40)
    ren = vtk.vtkRenderer()
    ren.GradientBackgroundOn()
    ren.SetBackground(0.05, 0.05, 0.12)
    ren.SetBackground2(0.45, 0.55, 0.70)
    ren.AddActor(actor)
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetMultiSamples(0)
    rw.SetSize(w, h)
    rw.AddRenderer(ren)
    cam = ren.GetActiveCamera()
    cam.SetPosition(0, -2.2, 0.9)
    cam.SetFocalPoint(0, 0, 0)
    cam.SetViewUp(0, 0, 1)
    ren.ResetCameraClippingRange()
    grab = vtk.vtkWindowToImageFilter()
    grab.SetInput(rw)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    with open(out, "wb") as f:
        for i in range(frames):
            if i:
                cam.Azimuth(1.5)
            ren.ResetCameraClippingRange()
            rw.Render()
            grab.Modified()
            grab.Update()
            img = numpy_support.vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
            f.write(np.ascontiguousarray(img.reshape(h, w, 3)[::-1]).tobytes())


ARROW = [  # 12 x 19: B black, W white outline
    "W...........", "WW..........", "WBW.........", "WBBW........",
    "WBBBW.......", "WBBBBW......", "WBBBBBW.....", "WBBBBBBW....",
    "WBBBBBBBW...", "WBBBBBBBBW..", "WBBBBBBBBBW.", "WBBBBBBWWWWW",
    "WBBBWBBW....", "WBBWWBBW....", "WBW..WBBW...", "WW...WBBW...",
    "W.....WBBW..", "......WBBW..", ".......WW...",
]


def plot_picture(w, h):
    """A dense plot: a colour-mapped field with contour lines, a grid, and
    a few curves (numpy only, deterministic)."""
    import numpy as np
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = x / w * 6.0, y / h * 4.0
    field = (np.sin(u * 1.7) * np.cos(v * 2.3) + 0.5 * np.sin(u * v * 0.9)
             + 0.3 * np.cos(3.1 * u - 2.2 * v))
    t = (field - field.min()) / (field.max() - field.min())
    img = np.stack([255 * np.clip(1.5 - abs(4 * t - 3), 0, 1),
                    255 * np.clip(1.5 - abs(4 * t - 2), 0, 1),
                    255 * np.clip(1.5 - abs(4 * t - 1), 0, 1)], -1)
    img[(np.abs((t * 16) % 1 - 0.5) < 0.04)] *= 0.35       # contour lines
    img[(x.astype(int) % 64 == 0) | (y.astype(int) % 64 == 0)] = 200  # grid
    for k in range(5):                                      # curves
        cx = np.arange(w)
        cy = (h * (0.2 + 0.15 * k) + 40 * np.sin(cx / (37.0 + 11 * k) + k)
              + 15 * np.sin(cx / 7.3 * (k + 1))).astype(int)
        for d in (0, 1):
            ok = (cy + d >= 0) & (cy + d < h)
            img[cy[ok] + d, cx[ok]] = (255 * (k % 2), 40 * k, 255 - 50 * k)
    return img.astype(np.uint8)


def cursor_frames(w, h, frames):
    """Yields RGB frames: the plot with the arrow moving along an ellipse,
    330-525 px/s at 30 fps."""
    import numpy as np
    base = plot_picture(w, h)
    sprite = np.array([[c for c in row] for row in ARROW])
    black, white = sprite == "B", sprite == "W"
    for i in range(frames):
        a = 1.5 * i / FPS
        px = int(round(w / 2 + 350 * math.cos(a)))
        py = int(round(h / 2 + 220 * math.sin(a)))
        img = base.copy()
        view = img[py:py + sprite.shape[0], px:px + sprite.shape[1]]
        view[black[:view.shape[0], :view.shape[1]]] = 0
        view[white[:view.shape[0], :view.shape[1]]] = 255
        yield img


CONTENTS = ("demo", "mesh", "cursor")


def make_content(name, tmp, w, h, frames):
    """The I420 clip of one of CONTENTS at w x h, FPS, in `tmp`:
      demo    vizstream-demo captured through shmframesrc;
      mesh    a shaded, colour-mapped surface turning 1.5 degrees a frame
              (VTK off screen under Xvfb, as a VTK renderer would send);
      cursor  a still dense plot with a mouse pointer moving over it."""
    path = os.path.join(tmp, "%s-%dx%d.yuv" % (name, w, h))
    if name == "demo":
        return capture_demo(path, w, h, FPS, frames)
    if name == "mesh":
        rgb = os.path.join(tmp, "mesh.rgb")
        subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24",
                        "/usr/bin/python3", os.path.abspath(__file__),
                        "--render-mesh", rgb, "%dx%d" % (w, h), str(frames)],
                       check=True)
        clip = rgb_to_i420(None, path, w, h, FPS, frames, src=rgb)
        os.unlink(rgb)
        return clip
    if name == "cursor":
        p = rgb_to_i420(subprocess.PIPE, path, w, h, FPS, frames)
        for img in cursor_frames(w, h, frames):
            p.stdin.write(img.tobytes())
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("converting the cursor frames failed")
        return Clip(path, w, h, FPS, frames).check()
    raise ValueError("unknown content %r (demo, mesh, cursor)" % name)


if __name__ == "__main__":
    # make_content("mesh") runs this file under Xvfb: OUT WxH FRAMES
    if len(sys.argv) != 5 or sys.argv[1] != "--render-mesh":
        sys.exit("usage: encbench.py --render-mesh OUT WxH FRAMES")
    mw, mh = (int(v) for v in sys.argv[3].split("x"))
    render_mesh(sys.argv[2], mw, mh, int(sys.argv[4]))
