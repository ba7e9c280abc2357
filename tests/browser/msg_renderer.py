#!/usr/bin/env python3
"""A VTK renderer that reports its progress (tests/browser/test_messages.py):
it makes its stream first, sends {"progress": 0..100, "status": ...} while
it builds a VTK scene step by step, then its application state, then
renders frames until killed. Usage: msg_renderer.py SEGMENT (under Xvfb)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import vtk  # noqa: E402
from vizstream.vtkstream import VtkStream  # noqa: E402

STEPS = 10


def main():
    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(320, 240)
    ren = vtk.vtkRenderer()
    ren.SetBackground(0.1, 0.1, 0.2)
    rw.AddRenderer(ren)
    with VtkStream(rw, segment=sys.argv[1], interactor=False) as stream:
        pub = stream.publisher
        pub.send({"progress": 0, "status": "loading the scene"})
        for i in range(STEPS):
            # "loading": a sphere of growing resolution per step
            src = vtk.vtkSphereSource()
            src.SetCenter((i % 5) - 2, (i // 5) - 0.5, 0)
            src.SetRadius(0.4)
            src.SetThetaResolution(16 + 8 * i)
            src.SetPhiResolution(16 + 8 * i)
            src.Update()
            m = vtk.vtkPolyDataMapper()
            m.SetInputConnection(src.GetOutputPort())
            a = vtk.vtkActor()
            a.SetMapper(m)
            a.GetProperty().SetColor(1.0, 0.3 + 0.07 * i, 0.2)
            ren.AddActor(a)
            time.sleep(0.25)
            pub.send({"progress": 100 * (i + 1) // STEPS,
                      "status": "loading the scene: %d of %d" % (i + 1, STEPS)})
        ren.ResetCamera()
        time.sleep(0.2)
        pub.send({"status": "ready", "state": {"actors": STEPS, "scene": "spheres"}})
        # a turning camera: every render is published (VtkStream)
        for _ in range(20 * 600):
            ren.GetActiveCamera().Azimuth(3)
            rw.Render()
            time.sleep(0.05)


if __name__ == "__main__":
    main()
