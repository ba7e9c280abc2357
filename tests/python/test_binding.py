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
        bpp = {"RGBA": 4, "RGBx": 4, "RGB": 3, "GRAY8": 1}[fmt]
        stride = (w * bpp + 3) // 4 * 4
        rows = np.frombuffer(data, np.uint8)[:stride * h].reshape(h, stride)[:, :w * bpp]
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
            with self.assertRaisesRegex(TypeError, "numpy array"):
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
