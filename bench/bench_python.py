#!/usr/bin/env python3
"""bench_python: what streaming costs a Python renderer, beside the approach
FURY's streaming takes (fury.stream: the frame copied into the next of
num_buffers multiprocessing RawArrays, 2 by default, then an info array
updated), in one run, interleaved rounds, medians:

1. publish a 1920x1080 RGBA numpy frame (one copy into the next slot) vs
   FURY's n-buffering write (its default 2 buffers; also 1 buffer and a
   SharedMemory buffer for reference);
2. a VTK render at 1280x720: plain, streamed with VtkStream (the readback
   lands straight in the slot), and FURY's per-frame path (render +
   vtkWindowToImageFilter + numpy view + write into the RawArray buffers);
3. a notebook's added cost: the same streamed VTK render loop in a Jupyter
   kernel (nbclient + ipykernel) vs a plain python3 process.

Not a test: prints figures and ratios (docs/performance.md). Run under
xvfb-run for VTK (scripts/bench.sh does)."""
import multiprocessing
import multiprocessing.shared_memory
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import vizstream  # noqa: E402

W, H, N, ROUNDS = 1920, 1080, 100, 5


def per_frame_ms(fn, frames, n=N):
    for f in frames[:6]:
        fn(f)                          # warm up: page faults, caches
    t0 = time.perf_counter()
    for i in range(n):
        fn(frames[i % len(frames)])
    return (time.perf_counter() - t0) / n * 1e3


def interleaved(paths, frames, rounds=ROUNDS, n=N):
    """Median ms per frame of each path, the paths taking turns."""
    times = {name: [] for name in paths}
    for _ in range(rounds):
        for name, fn in paths.items():
            times[name].append(per_frame_ms(fn, frames, n))
    return {name: statistics.median(t) for name, t in times.items()}


def fury_writer(num_buffers, w, h, channels):
    """FURY's RawArrayImageBufferManager.write_into, rewritten: one RawArray
    per buffer, an info RawArray (current index, then w, h per buffer); a
    frame goes into the buffer after the current one, then the info says
    so."""
    bufs = [np.ctypeslib.as_array(multiprocessing.RawArray("B", w * h * channels))
            for _ in range(num_buffers)]
    info = np.ctypeslib.as_array(multiprocessing.RawArray("I", 2 + 2 * num_buffers))

    def write_into(arr):
        nxt = (int(info[1]) + 1) % num_buffers
        bufs[nxt][:] = arr.ravel()
        info[2 + 2 * nxt] = w
        info[3 + 2 * nxt] = h
        info[1] = nxt
    return write_into


def bench_publish(seg):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (H, W, 4), dtype=np.uint8) for _ in range(3)]
    size = W * H * 4
    print("python publish, %dx%d RGBA (%.1f MB), %d frames x %d interleaved rounds, medians"
          % (W, H, size / 1e6, N, ROUNDS))
    shm = multiprocessing.shared_memory.SharedMemory(create=True, size=size)
    shm_np = np.ndarray((H, W, 4), np.uint8, buffer=shm.buf)

    def fury_sharedmemory(f):
        shm_np[:] = f
    try:
        with vizstream.Publisher(seg, W, H) as pub:
            def into_slot(f):
                with pub.frame() as view:
                    np.copyto(view, f)
            t = interleaved({
                "publish": pub.publish,
                "view": into_slot,
                "fury2": fury_writer(2, W, H, 4),
                "fury1": fury_writer(1, W, H, 4),
                "shm": fury_sharedmemory,
            }, frames)
    finally:
        del shm_np
        shm.close()
        shm.unlink()
    print("  vizstream Publisher.publish(array)            %6.3f ms" % t["publish"])
    print("  vizstream frame() view, np.copyto             %6.3f ms" % t["view"])
    print("  FURY n-buffering, RawArrays, 2 (its default)  %6.3f ms" % t["fury2"])
    print("  FURY n-buffering, RawArrays, 1 buffer         %6.3f ms" % t["fury1"])
    print("  SharedMemory ndarray, one buffer              %6.3f ms" % t["shm"])
    print("  publish / FURY default (2 buffers) = %.2f (aim <= 1.0); / 1 buffer = %.2f; "
          "/ SharedMemory = %.2f" % (t["publish"] / t["fury2"], t["publish"] / t["fury1"],
                                     t["publish"] / t["shm"]))
    print("  (publish also stamps, numbers and wakes readers, and never overwrites the frame")
    print("   readers are told to read; FURY's two buffers tear when a reader is slower")
    print("   than one frame)")


def vtk_scene(vtk, w, h):
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(w, h)
    ren = vtk.vtkRenderer()
    rw.AddRenderer(ren)
    src = vtk.vtkSphereSource()
    src.SetThetaResolution(200)
    src.SetPhiResolution(200)
    m = vtk.vtkPolyDataMapper()
    m.SetInputConnection(src.GetOutputPort())
    a = vtk.vtkActor()
    a.SetMapper(m)
    ren.AddActor(a)
    return rw, ren.GetActiveCamera()


def bench_vtk(seg):
    try:
        import vtk
        from vizstream.vtkstream import VtkStream
    except ImportError as e:
        print("VTK: skipped (%s)" % e)
        return
    w, h = 1280, 720
    rw, cam = vtk_scene(vtk, w, h)

    def render(_):
        cam.Azimuth(1)
        rw.Render()

    # FURY's callback after each render: vtkWindowToImageFilter, a numpy
    # view of its scalars, written into the next RawArray buffer (RGBA here,
    # the same bytes as ours). FURY keeps the filter's defaults, which
    # render the window again before reading it; not here (ShouldRerender
    # off): the reference is the readback and the copy alone.
    w2i = vtk.vtkWindowToImageFilter()
    w2i.SetInput(rw)
    w2i.SetInputBufferTypeToRGBA()
    w2i.ReadFrontBufferOff()
    w2i.ShouldRerenderOff()
    write_into = fury_writer(2, w, h, 4)

    def fury(_):
        render(None)
        w2i.Modified()
        w2i.Update()
        img = w2i.GetOutput()
        write_into(np.frombuffer(img.GetPointData().GetScalars(), dtype=np.uint8))

    stream = VtkStream(rw, seg + "-vtk")
    try:
        # VtkStream publishes on every render: the plain render is timed on
        # a second window with the same scene.
        rw_plain, cam_plain = vtk_scene(vtk, w, h)

        def plain(_):
            cam_plain.Azimuth(1)
            rw_plain.Render()
        t = interleaved({"plain": plain, "streamed": render}, [None], rounds=3, n=60)
        stream.close()
        stream = None
        t.update(interleaved({"fury": fury}, [None], rounds=3, n=60))
    finally:
        if stream is not None:
            stream.close()
    print("VTK render 1280x720 (llvmpipe), medians of 3 rounds of 60 frames:")
    print("  plain render                                  %6.2f ms" % t["plain"])
    print("  streamed by VtkStream (readback into the slot) %6.2f ms: +%.2f ms (%.0f%%)"
          % (t["streamed"], t["streamed"] - t["plain"], (t["streamed"] / t["plain"] - 1) * 100))
    print("  FURY's path (vtkWindowToImageFilter + RawArray) %6.2f ms: +%.2f ms (%.0f%%)"
          % (t["fury"], t["fury"] - t["plain"], (t["fury"] / t["plain"] - 1) * 100))
    print("  VtkStream / FURY's path = %.2f (aim <= 1.0); what streaming adds: %.2fx FURY's"
          % (t["streamed"] / t["fury"],
             (t["streamed"] - t["plain"]) / max(t["fury"] - t["plain"], 1e-9)))


# The loop timed in a kernel and in a plain process: a VtkStream'd render
# window re-rendered FRAMES times, events processed each frame, as the
# notebook example's loop does.
LOOP = textwrap.dedent("""
    import os, sys, time, vtk
    sys.path.insert(0, %(src)r)
    from vizstream.vtkstream import VtkStream
    rw = vtk.vtkRenderWindow(); rw.SetOffScreenRendering(1); rw.SetSize(1280, 720)
    ren = vtk.vtkRenderer(); rw.AddRenderer(ren)
    src = vtk.vtkSphereSource(); src.SetThetaResolution(200); src.SetPhiResolution(200)
    m = vtk.vtkPolyDataMapper(); m.SetInputConnection(src.GetOutputPort())
    a = vtk.vtkActor(); a.SetMapper(m); ren.AddActor(a)
    cam = ren.GetActiveCamera()
    with VtkStream(rw, "vz-bench-nb-%%d" %% os.getpid()) as s:
        for i in range(10):
            cam.Azimuth(1); rw.Render(); s.process_events()
        best = []
        for r in range(3):
            t0 = time.perf_counter()
            for i in range(60):
                cam.Azimuth(1); rw.Render(); s.process_events()
            best.append((time.perf_counter() - t0) / 60 * 1e3)
    print("MS_PER_FRAME %%.3f" %% sorted(best)[1])
""")


def bench_notebook():
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError as e:
        print("notebook: skipped (%s; python3-nbclient)" % e)
        return
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python")
    # ipykernel's debugger warns about frozen modules on every start
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    code = LOOP % {"src": os.path.abspath(src)}
    plain, kernel, starts = [], [], []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=300)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("MS_PER_FRAME")]
        if not line:
            print("notebook: the plain run failed:\n" + out.stderr[-2000:])
            return
        plain.append(float(line[0].split()[1]))
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(code))
        client = NotebookClient(nb, timeout=300, kernel_name="python3")
        t0 = time.monotonic()
        with client.setup_kernel():
            starts.append(time.monotonic() - t0)
            client.execute_cell(nb.cells[0], 0)
        text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
        line = [ln for ln in text.splitlines() if ln.startswith("MS_PER_FRAME")]
        if not line:
            print("notebook: the kernel run failed:\n%s" % nb.cells[0].outputs)
            return
        kernel.append(float(line[0].split()[1]))
    p, k = statistics.median(plain), statistics.median(kernel)
    print("notebook: the streamed VTK loop (render + process_events, 1280x720), medians of 2:")
    print("  plain python3 process                         %6.2f ms per frame" % p)
    print("  Jupyter kernel (ipykernel, nbclient)          %6.2f ms per frame" % k)
    print("  kernel / plain = %.2f (what a notebook adds to each frame); kernel start %.2f s"
          % (k / p, statistics.median(starts)))


def main():
    seg = "vz-bench-py-%d" % os.getpid()
    bench_publish(seg)
    bench_vtk(seg)
    bench_notebook()


if __name__ == "__main__":
    main()
