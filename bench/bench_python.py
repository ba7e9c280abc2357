#!/usr/bin/env python3
"""bench_python: what streaming costs a Python renderer, per 1920x1080 RGBA
frame, beside the approach FURY's streaming used (the frame copied into a
multiprocessing RawArray / SharedMemory buffer through numpy), and the
overhead the VTK helper adds to a render at 1280x720. Not a test: prints
figures and ratios (docs/performance.md). Run under xvfb-run for VTK."""
import multiprocessing
import multiprocessing.shared_memory
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import vizstream  # noqa: E402

W, H, N = 1920, 1080, 200


def per_frame_ms(fn, frames):
    for f in frames[:10]:
        fn(f)                          # warm up: page faults, caches
    t0 = time.perf_counter()
    for i in range(N):
        fn(frames[i % len(frames)])
    return (time.perf_counter() - t0) / N * 1e3


def main():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (H, W, 4), dtype=np.uint8) for _ in range(3)]
    size = W * H * 4
    seg = "vz-bench-py-%d" % os.getpid()
    print("python publish, %dx%d RGBA (%.1f MB), %d frames each" % (W, H, size / 1e6, N))

    with vizstream.Publisher(seg, W, H) as pub:
        ours = per_frame_ms(pub.publish, frames)

        def into_slot(f):
            with pub.frame() as view:
                np.copyto(view, f)
        ours_view = per_frame_ms(into_slot, frames)

    raw = multiprocessing.RawArray("B", size)
    raw_np = np.ctypeslib.as_array(raw)

    def fury_rawarray(f):
        raw_np[:] = f.ravel()
    fury_raw = per_frame_ms(fury_rawarray, frames)

    # The same copy into a ring of three buffers, as our three slots are
    # (the working set, 25 MB, no longer stays in cache): the like-for-like
    # reference for a writer that never overwrites what a reader may hold.
    ring = multiprocessing.RawArray("B", size * 3)
    ring_np = np.ctypeslib.as_array(ring).reshape(3, -1)
    turn = [0]

    def rawarray_ring(f):
        ring_np[turn[0] % 3][:] = f.ravel()
        turn[0] += 1
    fury_ring = per_frame_ms(rawarray_ring, frames)

    shm = multiprocessing.shared_memory.SharedMemory(create=True, size=size)
    shm_np = np.ndarray((H, W, 4), np.uint8, buffer=shm.buf)

    def fury_sharedmemory(f):
        shm_np[:] = f
    fury_shm = per_frame_ms(fury_sharedmemory, frames)
    del shm_np
    shm.close()
    shm.unlink()

    print("  vizstream Publisher.publish(array)       %6.3f ms" % ours)
    print("  vizstream frame() view, np.copyto        %6.3f ms" % ours_view)
    print("  FURY-style RawArray via np.ctypeslib     %6.3f ms" % fury_raw)
    print("  FURY-style SharedMemory ndarray          %6.3f ms" % fury_shm)
    print("  RawArray ring of 3 (our slots' layout)   %6.3f ms" % fury_ring)
    print("  publish / RawArray = %.2f, publish / SharedMemory = %.2f, publish / RawArray ring "
          "of 3 = %.2f" % (ours / fury_raw, ours / fury_shm, ours / fury_ring))
    print("  (vizstream also wakes readers, stamps and numbers the frame; a renderer that draws")
    print("   into the frame() view pays no copy at all)")

    try:
        import vtk
        from vizstream.vtkstream import VtkStream
    except ImportError as e:
        print("  VTK helper: skipped (%s)" % e)
        return
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(1280, 720)
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
    cam = ren.GetActiveCamera()

    def render(_):
        cam.Azimuth(1)
        rw.Render()
    plain = per_frame_ms(render, [None])
    with VtkStream(rw, seg + "-vtk") as stream:
        streamed = per_frame_ms(render, [None])
        zero_copy = stream.zero_copy_frames
    print("VTK render 1280x720 (llvmpipe): %.2f ms plain, %.2f ms streamed: +%.2f ms per "
          "frame (%.0f%%), %d of %d frames read straight into shared memory"
          % (plain, streamed, streamed - plain, (streamed / plain - 1) * 100, zero_copy, N + 10))


if __name__ == "__main__":
    main()
