#!/usr/bin/env python3
"""A real VTK render window (off-screen, Debian's python3-vtk9, under the
Xvfb the test runner starts) streamed through the VTK helper: the pixels
shmframesrc delivers are VTK's own readback, and viewer events sent through
interactsink move the trackball camera as a local mouse would."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import math
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import vtk  # noqa: E402
from vizstream.vtkstream import VtkStream  # noqa: E402
import vztest  # noqa: E402
from test_binding import Reader  # noqa: E402


def scene(w, h):
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(w, h)
    ren = vtk.vtkRenderer()
    ren.SetBackground(0.1, 0.2, 0.4)
    rw.AddRenderer(ren)
    for i, (src, color) in enumerate([(vtk.vtkConeSource(), (1, 0.5, 0)),
                                      (vtk.vtkSphereSource(), (0.2, 0.9, 0.3))]):
        m = vtk.vtkPolyDataMapper()
        m.SetInputConnection(src.GetOutputPort())
        a = vtk.vtkActor()
        a.SetMapper(m)
        a.GetProperty().SetColor(*color)
        a.SetPosition(i * 1.5, 0, 0)
        ren.AddActor(a)
    ren.ResetCamera()
    iren = vtk.vtkRenderWindowInteractor()
    iren.SetRenderWindow(rw)
    iren.SetInteractorStyle(vtk.vtkInteractorStyleTrackballCamera())
    return rw, ren, iren


def vtk_readback(rw):
    w, h = rw.GetSize()
    arr = vtk.vtkUnsignedCharArray()
    rw.GetRGBACharPixelData(0, 0, w - 1, h - 1, 0, arr, 0)
    from vtk.util import numpy_support
    return numpy_support.vtk_to_numpy(arr).reshape(h, w, 4)[::-1]


class VtkTest(unittest.TestCase):
    def test_pixels_match_vtk(self):
        seg = vztest.unique_segment("vtk")
        rw, ren, iren = scene(320, 240)
        with VtkStream(rw, seg, interactor=iren) as stream:
            reader = Reader(seg)
            try:
                rw.Render()
                fmt, got = reader.frame()
                self.assertEqual((fmt, got.shape), ("RGBx", (240, 320, 4)))
                want = vtk_readback(rw)
                np.testing.assert_array_equal(got[:, :, :3], want[:, :, :3])
                self.assertGreater(len(np.unique(got.reshape(-1, 4), axis=0)), 10, "a real scene")
                # Debian's VTK reads straight into the shared slot.
                self.assertEqual((stream.zero_copy_frames, stream.copied_frames), (1, 0))
                # A resize of the window follows through to the stream's caps.
                rw.SetSize(200, 100)
                rw.Render()
                fmt, got = reader.frame()
                self.assertEqual(got.shape, (100, 200, 4))
            finally:
                reader.stop()

    def send(self, seg, lines):
        subprocess.run(vztest.gst_launch() + ["fdsrc", "!", "interactsink", "segment=" + seg],
                       input=("\n".join(lines) + "\n").encode(), check=True, timeout=20)

    def test_events_drive_the_camera(self):
        seg = vztest.unique_segment("vtkev")
        rw, ren, iren = scene(320, 240)
        cam = ren.GetActiveCamera()
        with VtkStream(rw, seg, interactor=iren) as stream:
            rw.Render()
            pos0, dist0 = cam.GetPosition(), cam.GetDistance()
            # A left drag across the middle: the trackball rotates.
            self.send(seg, ['{"event":"MouseButtonPress","button":1,"x":160,"y":120}'] +
                      ['{"event":"MouseMove","x":%d,"y":120,"modifier_state":"button1-mask"}'
                       % x for x in range(165, 260, 5)] +
                      ['{"event":"MouseButtonRelease","button":1,"x":260,"y":120}'])
            self.assertEqual(stream.process_events(), 21)
            rw.Render()
            pos1 = cam.GetPosition()
            moved = math.dist(pos0, pos1)
            self.assertGreater(moved, 0.1 * dist0, "the camera turned")
            self.assertAlmostEqual(cam.GetDistance(), dist0, delta=1e-6 * dist0 + 1e-9,
                                   msg="rotation keeps the distance")
            # The wheel towards the screen zooms in.
            self.send(seg, ['{"event":"MouseScroll","x":160,"y":120,"delta_x":0,"delta_y":-1}'])
            stream.process_events()
            self.assertLess(cam.GetDistance(), dist0)
            # A resize request resizes the window.
            self.send(seg, ['{"event":"ResizeRequest","width":400,"height":300}'])
            stream.process_events()
            self.assertEqual(tuple(rw.GetSize()), (400, 300))


class ExamplesTest(unittest.TestCase):
    """Each Python example, as the README runs it, streams frames."""

    def run_example(self, script, extra=()):
        seg = vztest.unique_segment("ex")
        env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "python"))
        proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "..", "..", "examples",
                                                                 "python", script),
                                 "--segment", seg, "--frames", "40"] + list(extra), env=env,
                                stdout=subprocess.DEVNULL)
        reader = Reader(seg)
        try:
            fmt, frame = reader.frame(timeout=30)
            self.assertGreater(frame.std(), 1.0, "%s streams a picture" % script)
        finally:
            reader.stop()
            self.assertEqual(proc.wait(60), 0)

    def test_numpy_animation(self):
        self.run_example("numpy_animation.py", ["--size", "320x180"])

    def test_matplotlib_live(self):
        self.run_example("matplotlib_live.py", ["--fps", "20"])

    def test_vtk_network(self):
        self.run_example("vtk_network.py", ["--size", "320x180", "--nodes", "2000"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
