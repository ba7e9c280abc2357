#!/usr/bin/env python3
"""A real VTK render window (off-screen, Debian's python3-vtk9, under the
Xvfb the test runner starts) streamed through the VTK helper: the pixels
shmframesrc delivers are VTK's own readback, and viewer events sent through
interactsink move the trackball camera as a local mouse would."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import vtk  # noqa: E402
from vizstream.vtkstream import VtkStream  # noqa: E402
import vztest  # noqa: E402
from test_binding import Reader  # noqa: E402
from vzpy import process_alive, slack  # noqa: E402


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
            # The wheel rolled away from the user (delta_y > 0, GStreamer's
            # convention) zooms in, as desktop VTK; towards the user, out.
            self.send(seg, ['{"event":"MouseScroll","x":160,"y":120,"delta_x":0,"delta_y":1}'])
            stream.process_events()
            self.assertLess(cam.GetDistance(), dist0)
            closer = cam.GetDistance()
            self.send(seg, ['{"event":"MouseScroll","x":160,"y":120,"delta_x":0,"delta_y":-1}'])
            stream.process_events()
            self.assertGreater(cam.GetDistance(), closer)
            # A resize request resizes the window.
            self.send(seg, ['{"event":"ResizeRequest","width":400,"height":300}'])
            stream.process_events()
            self.assertEqual(tuple(rw.GetSize()), (400, 300))

    def test_desktop_sink_wheel_zooms_like_the_page(self):
        """A wheel turned over a desktop GStreamer sink downstream of
        shmframesrc: GTK's sink sends GDK_SCROLL_UP (wheel away) as
        mouse-scroll delta_y = +20 (gtkgstbasewidget.c,
        gtk_gst_base_widget_scroll_event); shmframesrc hands it to the
        renderer unchanged, and VtkStream zooms in, as for the page's
        wheel away (delta_y > 0, tests/browser/test_vtk_input.py)."""
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import Gst, GstVideo
        Gst.init(None)
        seg = vztest.unique_segment("vtkdesk")
        rw, ren, iren = scene(320, 240)
        cam = ren.GetActiveCamera()
        with VtkStream(rw, seg, interactor=iren) as stream:
            rw.Render()
            pipeline = Gst.parse_launch("shmframesrc segment=%s ! appsink name=sink "
                                        "sync=false max-buffers=1 drop=true" % seg)
            pipeline.set_state(Gst.State.PLAYING)
            try:
                sink = pipeline.get_by_name("sink")
                self.assertIsNotNone(sink.emit("try-pull-sample", 10 * Gst.SECOND))
                pad = sink.get_static_pad("sink")
                none = GstVideo.NavigationModifierType.NONE
                dist0 = cam.GetDistance()
                for dy, closer in ((20.0, True), (-20.0, False)):
                    before = cam.GetDistance()
                    self.assertTrue(pad.push_event(
                        GstVideo.Navigation.event_new_mouse_scroll(160, 120, 0, dy, none)))
                    evs = self.wait_events(stream)
                    self.assertEqual([(e.type, e.delta_y) for e in evs], [("wheel", dy)])
                    if closer:
                        self.assertLess(cam.GetDistance(), before, "wheel away: closer")
                    else:
                        self.assertGreater(cam.GetDistance(), before, "wheel towards: further")
                self.assertAlmostEqual(cam.GetDistance(), dist0, delta=1e-6 * dist0)
            finally:
                pipeline.set_state(Gst.State.NULL)

    def wait_events(self, stream, timeout=10):
        """The events that came, applied to the interactor as
        process_events() does."""
        pub = stream.publisher
        self.assertTrue(pub.wait_events(timeout), "no event reached the renderer")
        evs = pub.poll_events()
        for ev in evs:
            stream.apply(ev)
        return evs

    def test_touch_rotates_and_pinch_zooms(self):
        touch = '{"event":"Touch%s","identifier":%d,"x":%d,"y":%d,"pressure":0.5}'
        for style in (vtk.vtkInteractorStyleTrackballCamera,
                      vtk.vtkInteractorStyleMultiTouchCamera):
            with self.subTest(style=style.__name__):
                seg = vztest.unique_segment("vtkpinch")
                rw, ren, iren = scene(320, 240)
                iren.SetInteractorStyle(style())
                cam = ren.GetActiveCamera()
                with VtkStream(rw, seg, interactor=iren) as stream:
                    rw.Render()
                    pos0, dist0 = cam.GetPosition(), cam.GetDistance()
                    # One finger drags: the camera turns, at its distance.
                    self.send(seg, [touch % ("Down", 1, 160, 120)] +
                              [touch % ("Motion", 1, x, 120) for x in range(170, 260, 10)] +
                              [touch % ("Up", 1, 250, 120)])
                    stream.process_events()
                    self.assertGreater(math.dist(pos0, cam.GetPosition()), 0.1 * dist0)
                    self.assertAlmostEqual(cam.GetDistance(), dist0, delta=1e-6 * dist0)
                    # A second finger lands during a drag: the drag ends (no
                    # more turning), the two spread apart: closer.
                    self.send(seg, [touch % ("Down", 5, 150, 120),
                                    touch % ("Motion", 5, 150, 120),
                                    touch % ("Down", 6, 170, 120)])
                    stream.process_events()
                    pos1 = cam.GetPosition()
                    self.send(seg, ['{"event":"TouchMotion","identifier":%d,"x":%d,"y":120}'
                                    % (i, 160 + (d if i == 6 else -d))
                                    for d in range(20, 81, 10) for i in (5, 6)])
                    stream.process_events()
                    # 20 px apart -> 160 px apart: 8 times closer
                    self.assertAlmostEqual(cam.GetDistance(), dist0 / 8, delta=0.01 * dist0)
                    self.assertAlmostEqual(math.dist(cam.GetFocalPoint(), pos1) -
                                           math.dist(cam.GetFocalPoint(), cam.GetPosition()),
                                           dist0 - dist0 / 8, delta=0.01 * dist0,
                                           msg="a dolly, not a turn")
                    # Closing them to 40 px: back out to half; the last finger
                    # alone does nothing.
                    self.send(seg, [touch % ("Motion", 6, 120, 120),
                                    touch % ("Up", 5, 80, 120),
                                    touch % ("Motion", 6, 300, 200),
                                    touch % ("Up", 6, 300, 200)])
                    stream.process_events()
                    self.assertAlmostEqual(cam.GetDistance(), dist0 / 2, delta=0.01 * dist0)
                    self.assertEqual((stream.errors, stream._touches, stream._touch_mode),
                                     (0, {}, None))


class VtkStreamBehaviourTest(unittest.TestCase):
    """Resizes within the stream's maximum, errors counted and logged once,
    run() pacing renders and applying events, and the README's line."""

    send = VtkTest.send

    def latest(self, reader, timeout=10):
        """The newest frame the reader has (waiting for the first)."""
        got = reader.frame(timeout)[1]
        while True:
            try:
                got = reader.frame(0.3)[1]
            except AssertionError:
                return got

    def test_resize_clamped_and_big_window_cropped(self):
        seg = vztest.unique_segment("vtkrs")
        rw, ren, iren = scene(320, 240)
        with VtkStream(rw, seg, interactor=iren, max_width=400, max_height=300) as stream:
            reader = Reader(seg)
            try:
                rw.Render()
                self.assertEqual(reader.frame()[1].shape, (240, 320, 4))
                # A viewer asks for more than the stream carries: the most.
                self.send(seg, ['{"event":"ResizeRequest","width":5000,"height":200}'])
                stream.process_events()
                self.assertEqual(tuple(rw.GetSize()), (400, 200))
                self.assertEqual(stream.clamped_resizes, 1)
                rw.Render()
                self.assertEqual(reader.frame()[1].shape, (200, 400, 4))
                # The window made bigger locally: its top-left part, a
                # warning once, no error, and the stream goes on.
                rw.SetSize(500, 350)
                with self.assertLogs("vizstream.vtk", "WARNING") as logs:
                    rw.Render()
                    rw.Render()
                self.assertEqual(len(logs.records), 1)
                self.assertIn("bigger than the stream's maximum (400x300)", logs.output[0])
                got = reader.frame()[1]
                got = reader.frame()[1]
                self.assertEqual(got.shape, (300, 400, 4))
                np.testing.assert_array_equal(got[:, :, :3], vtk_readback(rw)[:300, :400, :3])
                self.assertEqual(stream.errors, 0)
            finally:
                reader.stop()

    def test_errors_counted_and_logged_once(self):
        seg = vztest.unique_segment("vtkerr")
        rw, ren, iren = scene(160, 120)
        with VtkStream(rw, seg, interactor=iren) as stream:
            real = stream._publish_render
            stream._publish_render = lambda: 1 / 0
            with self.assertLogs("vizstream.vtk", "ERROR") as logs:
                for _ in range(3):
                    rw.Render()         # the observer raises inside VTK
            self.assertEqual(stream.errors, 3)
            self.assertEqual(len(logs.records), 1, "logged once")
            self.assertIn("ZeroDivisionError", logs.output[0])   # with its traceback
            self.assertIsInstance(stream.last_error, ZeroDivisionError)
            stream._publish_render = real
            rw.Render()
            self.assertEqual(stream.publisher.frames_published, 1, "the stream goes on")

            def on_frame(s):
                raise KeyError("user code")
            n = stream.run(fps=50, frames=4, on_frame=on_frame)
            self.assertEqual(n, 4)
            self.assertEqual(stream.errors, 7)
            self.assertIsInstance(stream.last_error, KeyError)
            self.assertEqual(stream.publisher.frames_published, 5)

    def test_run_paces_renders_and_applies_events(self):
        seg = vztest.unique_segment("vtkrun")
        rw, ren, iren = scene(320, 240)
        cam = ren.GetActiveCamera()
        with VtkStream(rw, seg, interactor=iren) as stream:
            # Animated (on_frame): a render every 1/fps.
            ticks = []
            t0 = time.monotonic()
            n = stream.run(fps=20, duration=1.0, on_frame=lambda s: ticks.append(1))
            took = time.monotonic() - t0
            self.assertGreaterEqual(took, 1.0)
            self.assertTrue(15 <= n <= 21, "%d renders in %.2f s at 20 fps" % (n, took))
            self.assertEqual(len(ticks), n)
            # Idle: one render, then only when a viewer acts; the events
            # sent meanwhile reach the camera.
            pos0 = cam.GetPosition()
            drag = (['{"event":"MouseButtonPress","button":1,"x":160,"y":120}'] +
                    ['{"event":"MouseMove","x":%d,"y":120,"modifier_state":"button1-mask"}'
                     % x for x in range(165, 260, 5)] +
                    ['{"event":"MouseButtonRelease","button":1,"x":260,"y":120}'])
            sender = threading.Timer(0.5, self.send, (seg, drag))
            sender.start()
            frames0 = stream.publisher.frames_published
            cpu0 = time.process_time()
            n = stream.run(fps=30, duration=slack(3))
            cpu = time.process_time() - cpu0
            sender.join()
            self.assertGreater(math.dist(pos0, cam.GetPosition()), 0.1 * cam.GetDistance())
            self.assertTrue(2 <= n <= 30, "%d renders for one drag" % n)
            self.assertEqual(stream.publisher.frames_published - frames0, n)
            print("idle run(): %d renders, %.2f s of CPU in %.1f s" % (n, cpu, slack(3)))
            # request_render() and stop() from another thread reach an
            # idle run at once.
            timers = [threading.Timer(0.2, stream.request_render),
                      threading.Timer(0.5, stream.stop)]
            for t in timers:
                t.start()
            t0 = time.monotonic()
            self.assertEqual(stream.run(fps=30), 2, "the first render, the one asked for")
            self.assertLess(time.monotonic() - t0, slack(2))
            # Joined, so that the last reference to the window is dropped
            # here: a VTK window freed on another thread can crash X/GL.
            for t in timers:
                t.join()

    def test_readme_lines_stream_a_window(self):
        """The README's VTK lines, as a user runs them: a server, frames,
        a drag that turns the camera; Ctrl-C ends it and its server."""
        with open(os.path.join(HERE, "..", "..", "README.md")) as f:
            readme = f.read()
        blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
        block = [b for b in blocks if "VtkStream(render_window).serve().run()" in b]
        self.assertEqual(len(block), 1, "the README shows the VTK lines once")
        lines = [ln for ln in block[0].splitlines() if ln.strip() and
                 not ln.lstrip().startswith("#")]
        self.assertLessEqual(len(lines), 5)
        prelude = ("import sys; sys.path.insert(0, %r); import vzpy\n"
                   "from test_vtk import scene\n"
                   "render_window, _, _ = scene(320, 240)\n") % HERE
        child = subprocess.Popen([sys.executable, "-c", prelude + block[0]],
                                 stdout=subprocess.PIPE, text=True)
        reader = None
        try:
            line = child.stdout.readline()
            m = re.search(r"streaming at (http://\S+)", line)
            self.assertIsNotNone(m, "printed %r" % line)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(m.group(1) + "status", timeout=10) as r:
                st = json.loads(r.read())
            self.assertEqual(st["renderer"], "connected")
            seg = st["segment"]
            reader = Reader(seg)
            before = self.latest(reader)
            self.assertEqual(before.shape, (240, 320, 4))
            self.send(seg, ['{"event":"MouseButtonPress","button":1,"x":160,"y":120}'] +
                      ['{"event":"MouseMove","x":%d,"y":120,"modifier_state":"button1-mask"}'
                       % x for x in range(165, 300, 5)] +
                      ['{"event":"MouseButtonRelease","button":1,"x":300,"y":120}'])
            time.sleep(0.5)
            after = self.latest(reader)
            changed = np.mean(np.any(after[:, :, :3] != before[:, :, :3], axis=2))
            self.assertGreater(changed, 0.02, "the drag turned the scene")
            servers = children(child.pid)
            self.assertEqual(len(servers), 1)
        finally:
            if reader:
                reader.stop()
            child.send_signal(signal.SIGINT)
            rc = child.wait(slack(10))
            child.stdout.close()
        self.assertEqual(rc, 0, "Ctrl-C ends run() quietly")
        end = time.monotonic() + slack(10)
        while process_alive(servers[0]) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertFalse(process_alive(servers[0]), "Ctrl-C left the server running")


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += [int(c) for c in f.read().split()]
    return out


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
