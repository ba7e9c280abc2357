#!/usr/bin/env python3
"""A VTK scene streamed with vizstream and driven by its viewers: a network
of 20 000 glyphs in clusters, with the usual trackball camera (left drag
rotates, right drag zooms, middle or shift+left drag pans, wheel zooms).

Debian's VTK renders off-screen through X, so without a display run it
under Xvfb:

    PYTHONPATH=python xvfb-run -a /usr/bin/python3 examples/python/vtk_network.py --segment viz
    GST_PLUGIN_PATH=build gst-launch-1.0 shmframesrc segment=viz ! videoconvert ! autovideosink

or, in a browser: add --serve and open the address it prints.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import os
import sys

import numpy as np
import vtk
from vtk.util import numpy_support

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from vizstream.vtkstream import VtkStream  # noqa: E402


def build_scene(nodes, seed=1):
    rng = np.random.default_rng(seed)
    clusters = 12
    centres = rng.normal(size=(clusters, 3)) * 4
    which = rng.integers(0, clusters, nodes)
    pts = centres[which] + rng.normal(size=(nodes, 3))
    points = vtk.vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(pts.astype(np.float32), deep=1))
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    colours = (np.array([[230, 85, 13], [49, 130, 189], [49, 163, 84], [117, 107, 177],
                         [222, 45, 38], [253, 174, 107], [158, 202, 225], [161, 217, 155],
                         [188, 189, 220], [252, 146, 114], [99, 99, 99], [255, 237, 160]],
                        np.uint8)[which])
    poly.GetPointData().SetScalars(numpy_support.numpy_to_vtk(colours, deep=1))
    sphere = vtk.vtkSphereSource()
    sphere.SetRadius(0.08)
    sphere.SetThetaResolution(8)
    sphere.SetPhiResolution(8)
    mapper = vtk.vtkGlyph3DMapper()
    mapper.SetInputData(poly)
    mapper.SetSourceConnection(sphere.GetOutputPort())
    mapper.SetScalarModeToUsePointData()
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    return actor


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segment", default="vizstream-vtk")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--nodes", type=int, default=20000)
    ap.add_argument("--frames", type=int, default=0,
                    help="render this many frames, then exit (0: until Ctrl-C)")
    ap.add_argument("--spin", type=float, default=0,
                    help="turn the camera this many degrees a frame")
    ap.add_argument("--serve", action="store_true", help="start vizstream-server too")
    ap.add_argument("--port", type=int, default=0, help="its port (0: a free one)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(w, h)
    ren = vtk.vtkRenderer()
    ren.SetBackground(0.05, 0.07, 0.15)
    rw.AddRenderer(ren)
    ren.AddActor(build_scene(args.nodes))
    ren.ResetCamera()
    iren = vtk.vtkRenderWindowInteractor()
    iren.SetRenderWindow(rw)
    iren.SetInteractorStyle(vtk.vtkInteractorStyleTrackballCamera())

    def spin(stream):
        ren.GetActiveCamera().Azimuth(args.spin)

    with VtkStream(rw, args.segment, interactor=iren) as stream:
        print("streaming %dx%d on segment %r" % (w, h, args.segment), flush=True)
        if args.serve:
            stream.serve(port=args.port)
        # Renders when a viewer acts; every frame when spinning (or
        # counting frames).
        animate = spin if (args.spin or args.frames) else None
        stream.run(fps=args.fps, frames=args.frames or None, on_frame=animate)

if __name__ == "__main__":
    main()
