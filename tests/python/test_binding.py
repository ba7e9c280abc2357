#!/usr/bin/env python3
"""The Python binding: numpy frames out through shmframesrc, pixel for
pixel; the zero-copy slot view; resize; events in through interactsink;
cleanup; and every error a Python user can make."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import numpy as np  # noqa: E402
import vizstream  # noqa: E402
import vztest  # noqa: E402

import gi  # noqa: E402
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)


class Reader:
    """shmframesrc ! appsink: frames as numpy arrays, with their caps."""

    def __init__(self, segment):
        self.pipeline = Gst.parse_launch(
            "shmframesrc segment=%s ! appsink name=sink sync=false max-buffers=100" % segment)
        self.sink = self.pipeline.get_by_name("sink")
        self.pipeline.set_state(Gst.State.PLAYING)

    def frame(self, timeout=10):
        sample = self.sink.emit("try-pull-sample", int(timeout * Gst.SECOND))
        if sample is None:
            raise AssertionError("no frame within %s s" % timeout)
        s = sample.get_caps().get_structure(0)
        w, h, fmt = s.get_value("width"), s.get_value("height"), s.get_value("format")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        data = bytes(info.data)
        buf.unmap(info)
        bpp = {"RGBA": 4, "RGBx": 4, "RGB": 3, "GRAY8": 1, "GRAY16_LE": 2}[fmt]
        stride = (w * bpp + 3) // 4 * 4
        rows = np.frombuffer(data, np.uint8)[:stride * h].reshape(h, stride)[:, :w * bpp]
        if fmt == "GRAY16_LE":
            return fmt, rows.copy().view("<u2").reshape(h, w)
        return fmt, rows.reshape(h, w, bpp) if bpp > 1 else rows.reshape(h, w)

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)


def gradient(h, w, c, seed=0):
    y, x, ch = np.indices((h, w, c))
    return ((x * 3 + y * 5 + ch * 60 + seed) % 256).astype(np.uint8)


class BindingTest(unittest.TestCase):
    def setUp(self):
        self.name = vztest.unique_segment("py")

    def test_publish_numpy_roundtrip(self):
        with vizstream.Publisher(self.name, 64, 48) as pub:
            reader = Reader(self.name)
            try:
                img = gradient(48, 64, 4)
                self.assertEqual(pub.publish(img), 1)
                fmt, got = reader.frame()
                self.assertEqual(fmt, "RGBA")
                np.testing.assert_array_equal(got, img)
                # A smaller frame resizes the stream; caps follow.
                small = gradient(20, 30, 4, seed=7)
                pub.publish(small)
                fmt, got = reader.frame()
                np.testing.assert_array_equal(got, small)
                self.assertEqual((pub.width, pub.height), (30, 20))
                # Bottom-up rows come out top-down.
                pub.publish(np.ascontiguousarray(img[::-1]), bottom_up=True)
                fmt, got = reader.frame()
                np.testing.assert_array_equal(got, img)
            finally:
                reader.stop()

    def test_rgb_and_gray(self):
        with vizstream.Publisher(self.name, 33, 17, format="RGB") as pub:
            reader = Reader(self.name)
            try:
                img = gradient(17, 33, 3)       # odd width: padded stride
                pub.publish(img)
                fmt, got = reader.frame()
                self.assertEqual(fmt, "RGB")
                np.testing.assert_array_equal(got, img)
                pub.resize(33, 17, format="GRAY8")
                gray = gradient(17, 33, 1)[:, :, 0].copy()
                pub.publish(gray)
                fmt, got = reader.frame()
                self.assertEqual(fmt, "GRAY8")
                np.testing.assert_array_equal(got, gray)
            finally:
                reader.stop()

    def test_gray16_frame_and_publish_agree(self):
        # frame() hands out what publish() takes: (h, w) uint16.
        with vizstream.Publisher(self.name, 31, 9, format="GRAY16_LE") as pub:
            reader = Reader(self.name)
            try:
                y, x = np.indices((9, 31))
                img = (x * 2000 + y * 7 + 1).astype(np.uint16)   # high bytes in use
                with pub.frame() as view:
                    self.assertEqual((view.shape, view.dtype), ((9, 31), np.uint16))
                    view[...] = img
                fmt, got = reader.frame()
                self.assertEqual(fmt, "GRAY16_LE")
                np.testing.assert_array_equal(got, img)
                pub.publish(img[::-1].copy())
                fmt, got = reader.frame()
                np.testing.assert_array_equal(got, img[::-1])
                with self.assertRaisesRegex(TypeError, "GRAY16_LE frame must be uint16"):
                    pub.publish(np.zeros((9, 31, 2), np.uint8))
            finally:
                reader.stop()

    def test_publish_buffers_and_strided_rows(self):
        with vizstream.Publisher(self.name, 40, 30, max_width=64, max_height=48) as pub:
            reader = Reader(self.name)
            try:
                img = gradient(30, 40, 4, seed=5)
                # A memoryview with a shape (matplotlib's buffer_rgba()).
                pub.publish(memoryview(img))
                np.testing.assert_array_equal(reader.frame()[1], img)
                # A flat buffer: the current size.
                pub.publish(bytes(gradient(30, 40, 4, seed=6)))
                np.testing.assert_array_equal(reader.frame()[1], gradient(30, 40, 4, seed=6))
                with self.assertRaisesRegex(ValueError, "flat buffer of 10 bytes"):
                    pub.publish(b"0123456789")
                # Padded rows (a crop) and rows upside down: straight from
                # their memory, no contiguous copy first.
                big = gradient(48, 64, 4, seed=8)
                pub.publish(big[:30, :40])
                np.testing.assert_array_equal(reader.frame()[1], big[:30, :40])
                pub.publish(big[::-1])
                np.testing.assert_array_equal(reader.frame()[1], big[::-1])
                pub.publish(big[::-1], bottom_up=True)
                np.testing.assert_array_equal(reader.frame()[1], big)
            finally:
                reader.stop()

    def test_publish_matplotlib_figure(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=50)      # 160x120
        ax.plot([0, 1, 2], [0, 1, 0], "r-")
        with vizstream.Publisher(self.name, 160, 120) as pub:
            reader = Reader(self.name)
            try:
                self.assertEqual(pub.publish_figure(fig), 1)
                fmt, got = reader.frame()
                self.assertEqual((fmt, got.shape), ("RGBA", (120, 160, 4)))
                np.testing.assert_array_equal(got, np.asarray(fig.canvas.buffer_rgba()))
                self.assertGreater(len(np.unique(got.reshape(-1, 4), axis=0)), 3)
            finally:
                reader.stop()
                plt.close(fig)
        with vizstream.Publisher(self.name, 8, 8, format="BGRx") as pub:
            with self.assertRaisesRegex(ValueError, "format='RGBA'"):
                pub.publish_figure(fig)

    def test_event_type_names(self):
        with vizstream.Publisher(self.name, 64, 48) as pub:
            msgs = ('{"event":"MouseButtonPress","button":1,"x":5,"y":6}\n'
                    '{"event":"MouseScroll","x":1,"y":2,"delta_x":0,"delta_y":1}\n'
                    '{"event":"ResizeRequest","width":20,"height":10}\n')
            subprocess.run(vztest.gst_launch() + ["fdsrc", "!", "interactsink",
                                                  "segment=" + self.name],
                           input=msgs.encode(), check=True, timeout=20)
            press, wheel, resize = list(pub.events(timeout=2))
        # Today's names, the JSON names, interactsink's dashed names.
        self.assertEqual(press.type, "button-press")
        self.assertEqual(press.type, "MouseButtonPress")
        self.assertEqual(press.type, "mouse-button-press")
        self.assertNotEqual(press.type, "MouseButtonRelease")
        self.assertFalse(press.type != "MouseButtonPress")
        self.assertIn(wheel.type, ("KeyPress", "MouseScroll"))
        self.assertEqual((press.json_name, wheel.json_name, resize.json_name),
                         ("MouseButtonPress", "MouseScroll", "ResizeRequest"))
        match resize.type:
            case "ResizeRequest":
                pass
            case _:
                self.fail("match on the JSON name")
        self.assertEqual({press.type: 1}.get("button-press"), 1)
        self.assertEqual(vizstream.event_type("MouseScroll"), "wheel")
        self.assertEqual(str(vizstream.event_type("touch-up")), "touch-up")
        self.assertEqual(hash(vizstream.event_type("KeyPress")), hash("key-press"))
        with self.assertRaisesRegex(ValueError, "unknown event type 'Click'.*MouseButtonPress"):
            vizstream.event_type("Click")

    def test_zero_copy_view(self):
        with vizstream.Publisher(self.name, 40, 30) as pub:
            reader = Reader(self.name)
            try:
                img = gradient(30, 40, 4, seed=3)
                with pub.frame() as view:
                    self.assertEqual(view.shape, (30, 40, 4))
                    view[...] = img              # written straight into the slot
                fmt, got = reader.frame()
                np.testing.assert_array_equal(got, img)
                self.assertEqual(pub.frames_published, 1)
                # An exception gives the slot back unpublished.
                with self.assertRaises(KeyError):
                    with pub.frame() as view:
                        raise KeyError("render failed")
                self.assertEqual(pub.frames_published, 1)
            finally:
                reader.stop()

    def test_events_from_interactsink(self):
        with vizstream.Publisher(self.name, 64, 48) as pub:
            msgs = ('{"event":"MouseButtonPress","button":1,"x":5,"y":6,'
                    '"modifier_state":"shift-mask+button1-mask"}\n'
                    '{"event":"KeyPress","key":"Left"}\n'
                    '{"event":"Custom","text":"hello","viewer_id":3}\n')
            subprocess.run(vztest.gst_launch() + ["fdsrc", "!", "interactsink",
                                                  "segment=" + self.name],
                           input=msgs.encode(), check=True, timeout=20)
            events = list(pub.events(timeout=2))
            self.assertEqual([e.type for e in events], ["button-press", "key-press", "custom"])
            self.assertEqual((events[0].button, events[0].x, events[0].y), (1, 5, 6))
            self.assertEqual(events[0].modifiers, {"shift", "button1"})
            self.assertEqual(events[1].key, "Left")
            self.assertEqual((events[2].text, events[2].viewer_id), ("hello", 3))
            self.assertIn('"event":"KeyPress"', events[1].to_json())
            self.assertEqual(pub.poll_events(), [])
            self.assertFalse(pub.wait_events(timeout=0.05))
            self.assertEqual(pub.event_stats()["received"], 3)

    def test_cleanup(self):
        path = "/dev/shm/" + self.name
        with vizstream.Publisher(self.name, 8, 8):
            self.assertTrue(os.path.exists(path))
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertFalse(os.path.exists(path))

    def test_errors(self):
        with vizstream.Publisher(self.name, 16, 8) as pub:
            with self.assertRaisesRegex(TypeError, "must be uint8, not float32"):
                pub.publish(np.zeros((8, 16, 4), np.float32))
            with self.assertRaisesRegex(ValueError, r"shape \(height, width, 4\)"):
                pub.publish(np.zeros((8, 16, 3), np.uint8))
            with self.assertRaisesRegex(ValueError, "C-contiguous"):
                pub.publish(np.zeros((8, 32, 4), np.uint8)[:, ::2])
            with self.assertRaisesRegex(ValueError, "bigger than the segment"):
                pub.publish(np.zeros((9, 16, 4), np.uint8))
            with self.assertRaisesRegex(TypeError, "numpy array or a buffer"):
                pub.publish([[0]])
            with self.assertRaisesRegex(vizstream.SegmentInUseError,
                                        "live renderer \\(pid %d\\)" % os.getpid()):
                vizstream.Publisher(self.name, 16, 8)
            with self.assertRaisesRegex(vizstream.VizstreamError, "cannot resize"):
                pub.resize(17, 8)
        with self.assertRaisesRegex(vizstream.VizstreamError, "closed"):
            pub.publish(np.zeros((8, 16, 4), np.uint8))
        with self.assertRaisesRegex(ValueError, "unknown pixel format"):
            vizstream.Publisher(self.name, 8, 8, format="YUY2")
        with self.assertRaisesRegex(vizstream.VizstreamError, "must not contain '/'"):
            vizstream.Publisher("a/b", 8, 8)


if __name__ == "__main__":
    unittest.main(verbosity=2)
