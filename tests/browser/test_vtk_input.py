#!/usr/bin/env python3
"""VTK like the desktop, end to end: a Python VTK renderer (VtkStream)
served by vizstream-server, the page in headless Chromium. The wheel rolled
away from the user zooms in (MouseWheelForward, as desktop VTK and
ParaView), towards the user out; two fingers spreading apart zoom in,
pinching together out. The renderer (this file run with --renderer) writes
its camera after every render into a side file the test reads.

Run under xvfb-run (tests/meson.build): the test re-runs itself inside a
loopback-only network namespace like test_browser.py; the X server's
abstract socket is not there, its /tmp/.X11-unix socket is, and Xlib falls
back to it."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import math
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import vztest  # noqa: E402
from test_browser import BrowserTestCase, enter_namespace  # noqa: E402

RW, RH = 640, 480


def renderer(segment, state_path):
    """A sphere and a cone in a 640x480 window, streamed; the camera's
    distance and direction after each render go to state_path; ends when
    stdin closes."""
    import threading
    import vtk
    from vizstream.vtkstream import VtkStream

    rw = vtk.vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    rw.SetSize(RW, RH)
    ren = vtk.vtkRenderer()
    ren.SetBackground(0.1, 0.2, 0.4)
    rw.AddRenderer(ren)
    for i, src in enumerate([vtk.vtkSphereSource(), vtk.vtkConeSource()]):
        m = vtk.vtkPolyDataMapper()
        m.SetInputConnection(src.GetOutputPort())
        a = vtk.vtkActor()
        a.SetMapper(m)
        a.SetPosition(i * 1.5, 0, 0)
        ren.AddActor(a)
    ren.ResetCamera()
    cam = ren.GetActiveCamera()
    stream = VtkStream(rw, segment)
    renders = [0]

    def report(obj, event):
        renders[0] += 1
        tmp = state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"distance": cam.GetDistance(),
                       "direction": cam.GetDirectionOfProjection(),
                       "renders": renders[0], "errors": stream.errors}, f)
        os.replace(tmp, state_path)
    rw.AddObserver("EndEvent", report)

    def stop_on_eof():
        sys.stdin.read()
        stream.stop()
    threading.Thread(target=stop_on_eof, daemon=True).start()
    # Rendering all the time (on_frame): a new viewer's encoder needs
    # frames after it joins, which an idle run() would not make.
    stream.run(fps=15, on_frame=lambda s: None)
    stream.close()


class VtkInputTest(BrowserTestCase):
    start_demo = False

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.tmp.name, "camera.json")
        self.renderer_log = open(os.path.join(self.tmp.name, "renderer.log"), "w")
        self.renderer = self.procs.start(
            [sys.executable, os.path.abspath(__file__), "--renderer", self.segment, self.state],
            stdin=subprocess.PIPE, stderr=self.renderer_log)
        self.wait("the renderer's first frame", lambda: os.path.exists(self.state), 30)
        self.start_server()
        self.open("a", width=960, height=720, touch=True)
        self.wait("frames on the page", lambda: self.browser.js(
            "a", "document.getElementById('video').videoWidth"), 30)
        self.wait("role", lambda: self.role("a") == "control")
        try:
            self.wait("input channel", lambda: self.browser.js("a", "window.vizstream.inputOpen"))
        except AssertionError:
            with open(self.server_log.name) as f, open(self.renderer_log.name) as g:
                print("server log:", f.read()[-3000:], "renderer log:", g.read()[-3000:],
                      "page log:", self.browser.call("log", page="a"), "status:",
                      json.dumps(self.status()))
            raise

    def tearDown(self):
        # stdin closed: run() ends, the renderer exits by itself
        self.renderer.stdin.close()
        self.renderer.stdin = None
        try:
            self.renderer.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.renderer_log.close()
        super().tearDown()

    def camera(self):
        for _ in range(20):
            try:
                with open(self.state) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.05)
        self.fail("cannot read the renderer's camera")

    def settled(self, what, cond, timeout=10):
        """The camera once cond(camera) holds and it has stopped moving
        for half a second (several renders)."""
        cam = self.wait(what, lambda: (lambda c: cond(c) and c)(self.camera()), timeout)
        while True:
            time.sleep(0.5)
            now = self.camera()
            if now["distance"] == cam["distance"] and now["renders"] > cam["renders"] + 3:
                return now
            cam = now

    def test_wheel_away_zooms_in_towards_zooms_out(self):
        d0 = self.camera()["distance"]
        t0 = time.monotonic()
        # Playwright's deltaY < 0: the page scrolled up, the wheel rolled
        # away from the user.
        self.browser.call("mouse", page="a", action="wheel", x=0.5, y=0.5, dy=-100)
        closer = self.settled("wheel away: closer", lambda c: c["distance"] < 0.95 * d0)
        print("wheel away: distance %.3f -> %.3f in %.2f s"
              % (d0, closer["distance"], time.monotonic() - t0))
        # One notch (100 px = one line = one event): VTK's forward step.
        self.assertAlmostEqual(closer["distance"], d0 / 1.1 ** 2, delta=0.02 * d0)
        self.browser.call("mouse", page="a", action="wheel", x=0.5, y=0.5, dy=100)
        self.browser.call("mouse", page="a", action="wheel", x=0.5, y=0.5, dy=100)
        back = self.settled("wheel towards: further",
                            lambda c: c["distance"] > 1.05 * closer["distance"])
        print("wheel towards twice: distance %.3f -> %.3f" % (closer["distance"], back["distance"]))
        self.assertGreater(back["distance"], d0)
        self.assertEqual(back["errors"], 0)

    def pinch(self, start, end, steps=10):
        """Two fingers about the picture's middle, start -> end apart
        (fractions of its width)."""
        def points(gap):
            return [[0.5 - gap / 2, 0.5, 1], [0.5 + gap / 2, 0.5, 2]]
        self.browser.call("touch", page="a", type="touchStart", points=points(start))
        for i in range(1, steps + 1):
            self.browser.call("touch", page="a", type="touchMove",
                              points=points(start + (end - start) * i / steps))
            time.sleep(0.03)
        self.browser.call("touch", page="a", type="touchEnd", points=[])

    def test_pinch_apart_zooms_in_together_zooms_out(self):
        c0 = self.camera()
        d0 = c0["distance"]
        t0 = time.monotonic()
        self.pinch(0.1, 0.4)
        closer = self.settled("fingers apart: closer", lambda c: c["distance"] < 0.5 * d0)
        print("pinch apart 0.1 -> 0.4: distance %.3f -> %.3f in %.2f s"
              % (d0, closer["distance"], time.monotonic() - t0))
        # Four times as far apart: four times closer (the motions the page
        # sends are the fingers' real positions: within a few pixels).
        self.assertAlmostEqual(closer["distance"], d0 / 4, delta=0.05 * d0)
        # A dolly: the camera looks the same way (no rotation from the first
        # finger landing alone).
        self.assertLess(math.dist(closer["direction"], c0["direction"]), 1e-3)
        self.pinch(0.4, 0.2)
        further = self.settled("fingers together: further",
                               lambda c: c["distance"] > 1.5 * closer["distance"])
        print("pinch together 0.4 -> 0.2: distance %.3f -> %.3f"
              % (closer["distance"], further["distance"]))
        self.assertAlmostEqual(further["distance"], 2 * closer["distance"], delta=0.05 * d0)
        self.assertEqual(further["errors"], 0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--renderer":
        renderer(sys.argv[2], sys.argv[3])
        sys.exit(0)
    enter_namespace()
    unittest.main()
