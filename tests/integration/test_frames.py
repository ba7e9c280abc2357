#!/usr/bin/env python3
"""The frame path across real processes: a publisher process writing at a
high rate while gst-launch reads (every frame whole and in order), several
readers at once, a renderer killed and restarted, a resize storm, a
publisher written from the spec alone, and the demo encoded to WebM."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import vztest  # noqa: E402
from vztest import ProcessTestCase  # noqa: E402

import gi  # noqa: E402
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstVideo  # noqa: E402,F401

Gst.init(None)


def start_reader(procs, segment, width, height, keep_waiting=True):
    """gst-launch reading the segment, raw RGBA frames on its stdout."""
    return procs.start(vztest.gst_launch() + [
        "shmframesrc", "segment=" + segment,
        "keep-waiting=" + ("true" if keep_waiting else "false"), "!",
        "video/x-raw,format=RGBA,width=%d,height=%d" % (width, height), "!",
        "fdsink", "fd=1", "sync=false"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class AppSinkReader:
    """shmframesrc ! appsink in this process: buffers with their caps."""

    def __init__(self, segment, keep_waiting=False):
        self.pipeline = Gst.parse_launch(
            "shmframesrc name=src segment=%s keep-waiting=%s ! "
            "appsink name=sink sync=false max-buffers=1000" %
            (segment, "true" if keep_waiting else "false"))
        self.sink = self.pipeline.get_by_name("sink")
        self.src = self.pipeline.get_by_name("src")
        self.pipeline.set_state(Gst.State.PLAYING)

    def samples(self, timeout_s=20):
        """Samples until EOS; fails on an error message."""
        bus = self.pipeline.get_bus()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg:
                err, dbg = msg.parse_error()
                raise AssertionError("pipeline error: %s (%s)" % (err.message, dbg))
            sample = self.sink.emit("try-pull-sample", 100 * Gst.MSECOND)
            if sample is not None:
                yield sample
            elif self.sink.get_property("eos"):
                return
        raise AssertionError("no EOS within %s s" % timeout_s)

    def stats(self):
        return self.src.get_property("stats")

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)


def sample_frame(sample):
    caps = sample.get_caps().get_structure(0)
    buf = sample.get_buffer()
    ok, info = buf.map(Gst.MapFlags.READ)
    data = bytes(info.data)
    buf.unmap(info)
    meta = buf.get_custom_meta("VizStreamFrameMeta")
    number = meta.get_structure().get_value("frame-number") if meta else None
    return caps.get_value("width"), caps.get_value("height"), caps.get_value("format"), data, number


class FramePathTest(ProcessTestCase):
    def test_high_rate_writer_two_readers_whole_and_in_order(self):
        seg = vztest.unique_segment("rate")
        w, h = 640, 480
        ready = os.path.join(self.tmp.name, "ready")
        # No pacing: the writer rewrites slots as fast as it can, so readers
        # race it constantly; none may see a torn frame, and leases keep them
        # from being starved.
        pub = self.procs.start([vztest.TEST_PUBLISHER, "--segment", seg,
                                "--size", "%dx%d" % (w, h), "--slots", "3",
                                "--fps", "0", "--ready-file", ready])
        self.wait_for_file(ready)
        readers = [start_reader(self.procs, seg, w, h) for _ in range(2)]
        for r in readers:
            last, count = 0, 0
            while count < 200:
                buf = vztest.read_exact(r.stdout, w * h * 4)
                if len(buf) != w * h * 4:
                    self.fail("reader ended early: %s" % r.stderr.read().decode())
                k = vztest.check_pattern_frame(buf, w, h)
                self.assertGreater(k, last, "frames out of order")
                last, count = k, count + 1
        self.assertIsNone(pub.poll(), "publisher died")
        for r in readers:
            self.assertIsNone(r.poll(), "reader died")

    def test_renderer_killed_and_restarted(self):
        seg = vztest.unique_segment("restart")
        w, h = 320, 240
        ready = os.path.join(self.tmp.name, "ready")
        args = [vztest.TEST_PUBLISHER, "--segment", seg, "--size", "%dx%d" % (w, h),
                "--fps", "300", "--ready-file", ready]
        pub = self.procs.start(args)
        self.wait_for_file(ready)
        reader = start_reader(self.procs, seg, w, h, keep_waiting=True)
        last = 0
        for _ in range(50):
            k = vztest.check_pattern_frame(vztest.read_exact(reader.stdout, w * h * 4), w, h)
            self.assertGreater(k, last)
            last = k
        # Killed mid-publish: no clean close, a slot possibly half-written.
        self.procs.stop(pub, signal.SIGKILL)
        os.unlink(ready)
        pub = self.procs.start(args)
        self.wait_for_file(ready)
        restarts, count = 0, 0
        while count < 50:
            k = vztest.check_pattern_frame(vztest.read_exact(reader.stdout, w * h * 4), w, h)
            if k <= last:
                restarts += 1
            last, count = k, count + 1
        self.assertEqual(restarts, 1, "the new renderer's frames start again at 1")
        self.assertIsNone(reader.poll(), "the pipeline must survive the restart")

    def test_readers_killed_mid_copy(self):
        """Readers SIGKILLed while they copy (holding a slot lease) never
        disturb the renderer, and a new reader still gets whole frames."""
        seg = vztest.unique_segment("rkill")
        w, h = 1280, 720
        ready = os.path.join(self.tmp.name, "ready")
        pub = self.procs.start([vztest.TEST_PUBLISHER, "--segment", seg,
                                "--size", "%dx%d" % (w, h), "--slots", "3",
                                "--fps", "0", "--ready-file", ready])
        self.wait_for_file(ready)
        for i in range(8):
            r = start_reader(self.procs, seg, w, h)
            vztest.read_exact(r.stdout, w * h * 4)
            time.sleep(0.013 * i)  # somewhere in a copy, most likely
            self.procs.stop(r, signal.SIGKILL)
        self.assertIsNone(pub.poll(), "the renderer died")
        r = start_reader(self.procs, seg, w, h)
        last = 0
        for _ in range(30):
            k = vztest.check_pattern_frame(vztest.read_exact(r.stdout, w * h * 4), w, h)
            self.assertGreater(k, last)
            last = k
        self.assertIsNone(pub.poll())

    def test_segment_unlinked_under_pipeline(self):
        """The segment's name removed while a pipeline reads it: the frames
        it already has keep coming (the mapping stays); a renderer that
        starts again under the same name is picked up."""
        seg = vztest.unique_segment("unlink")
        w, h = 320, 240
        ready = os.path.join(self.tmp.name, "ready")
        args = [vztest.TEST_PUBLISHER, "--segment", seg, "--size",
                "%dx%d" % (w, h), "--fps", "200", "--ready-file", ready]
        pub = self.procs.start(args)
        self.wait_for_file(ready)
        reader = start_reader(self.procs, seg, w, h, keep_waiting=True)
        last = 0
        for _ in range(20):
            last = vztest.check_pattern_frame(
                vztest.read_exact(reader.stdout, w * h * 4), w, h)
        os.unlink("/dev/shm/" + seg)
        for _ in range(20):
            k = vztest.check_pattern_frame(
                vztest.read_exact(reader.stdout, w * h * 4), w, h)
            self.assertGreater(k, last, "frames go on from the unlinked object")
            last = k
        # The renderer goes, a new one comes under the same name.
        self.procs.stop(pub, signal.SIGKILL)
        os.unlink(ready)
        self.procs.start(args)
        self.wait_for_file(ready)
        restarted = False
        for _ in range(100):
            k = vztest.check_pattern_frame(
                vztest.read_exact(reader.stdout, w * h * 4), w, h)
            if k < last:
                restarted = True
                break
            last = k
        self.assertTrue(restarted, "the new renderer was not picked up")
        self.assertIsNone(reader.poll())

    def test_resize_storm(self):
        seg = vztest.unique_segment("storm")
        ready = os.path.join(self.tmp.name, "ready")
        self.procs.start([vztest.TEST_PUBLISHER, "--segment", seg, "--size", "200x150",
                          "--resize-storm", "--frames", "1000", "--fps", "500",
                          "--ready-file", ready])
        self.wait_for_file(ready)
        reader = AppSinkReader(seg, keep_waiting=False)
        sizes, last, count, changes, prev = set(), 0, 0, 0, None
        try:
            for sample in reader.samples(timeout_s=60):
                width, height, fmt, data, number = sample_frame(sample)
                self.assertEqual(fmt, "RGBA")
                k = vztest.check_pattern_frame(data, width, height)
                self.assertEqual(k, number)
                self.assertGreater(k, last)
                sizes.add((width, height))
                if prev is not None and prev != (width, height):
                    changes += 1
                prev = (width, height)
                last, count = k, count + 1
            stats = reader.stats()
        finally:
            reader.stop()
        self.assertGreater(count, 100)
        self.assertGreater(len(sizes), 100, "caps followed the sizes")
        # Every size change between two delivered frames was a
        # renegotiation; a copy torn just after one (the writer reused the
        # slot) renegotiates again for the newer frame, so at most one more
        # per torn retry.
        resizes = stats.get_value("resizes")
        self.assertGreaterEqual(resizes, changes)
        self.assertLessEqual(resizes, changes + stats.get_value("torn-retries"))

    def test_publisher_written_from_the_spec(self):
        seg = vztest.unique_segment("spec")
        pub = self.procs.start([vztest.PYTHON, vztest.SPECPUB, seg, "100", "60", "BGR", "20",
                                "--bottom-up", "--fps", "40", "--resize", "50x30"],
                               stdout=subprocess.PIPE)
        self.assertEqual(pub.stdout.readline().strip(), b"ready")
        reader = AppSinkReader(seg, keep_waiting=False)
        got = []
        try:
            for sample in reader.samples():
                width, height, fmt, data, number = sample_frame(sample)
                self.assertEqual(fmt, "BGR")
                stride = (width * 3 + 3) // 4 * 4
                # Bottom-up in the segment, top-down out of shmframesrc.
                for y in range(height):
                    row = data[y * stride: y * stride + width * 3]
                    self.assertEqual(row, bytes([(number + height - 1 - y) % 256]) * (width * 3),
                                     "frame %d row %d" % (number, y))
                got.append((number, width, height))
        finally:
            reader.stop()
        self.assertEqual(pub.wait(10), 0)
        self.assertGreater(len(got), 10)
        self.assertEqual([n for n, _, _ in got], sorted(n for n, _, _ in got))
        self.assertIn((100, 60), {(w, h) for _, w, h in got})
        self.assertIn((50, 30), {(w, h) for _, w, h in got})

    def test_demo_encoded_to_webm(self):
        seg = vztest.unique_segment("demo")
        out = os.path.join(self.tmp.name, "demo.webm")
        # The pipeline first: it waits for the renderer, then sees every frame.
        # shmframesrc hands out the newest frame, so "every frame" holds while
        # the reader keeps up: a queue keeps the encoder's pauses out of the
        # reader's thread, and 10 fps leaves 100 ms for the first frame's
        # negotiation on a loaded 2-core machine (at 30 fps frame 2 was
        # skipped now and then).
        pipe = self.procs.start(vztest.gst_launch() + [
            "shmframesrc", "segment=" + seg, "keep-waiting=false", "!",
            "queue", "max-size-buffers=0", "max-size-bytes=0",
            "max-size-time=0", "!", "videoconvert", "!", "vp8enc", "deadline=1", "!", "webmmux", "!",
            "filesink", "location=" + out], stderr=subprocess.PIPE)
        time.sleep(0.3)
        demo = self.procs.start([vztest.DEMO, "--segment", seg, "--size", "640x360",
                                 "--fps", "10", "--frames", "60", "--tags", "--quiet"])
        self.assertEqual(demo.wait(30), 0)
        self.assertEqual(pipe.wait(30), 0, pipe.stderr.read().decode())
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                "-show_entries", "stream=width,height,nb_read_frames",
                                "-of", "csv=p=0", out], capture_output=True, text=True, check=True)
        # The frames carry the demo's numbers 1..60, in order.
        import numpy as np
        # Frames as they are: ffmpeg's default for raw output is a constant
        # frame rate, which duplicates frames whose timestamps are uneven.
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", out, "-fps_mode", "passthrough",
                              "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 360, 640, 3)
        numbers = [vztest.decode_tag(f, 640, 360) for f in frames]
        self.assertEqual(numbers, list(range(1, 61)))
        self.assertEqual(probe.stdout.strip(), "640,360,60")


if __name__ == "__main__":
    unittest.main(verbosity=2)
