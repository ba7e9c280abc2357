#!/usr/bin/env python3
"""Interaction across real processes: navigation events sent at the far end
of a scaling pipeline reach the demo renderer (--print-events) in its own
frame's coordinates and in order, and visibly change what it renders."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import select
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
from gi.repository import Gst, GstVideo  # noqa: E402

Gst.init(None)
NONE = GstVideo.NavigationModifierType.NONE


class JsonLines:
    """JSON objects from a pipe, one per line; keeps partial lines."""

    def __init__(self, stream):
        self.stream, self.buf = stream, b""

    def read(self, count, timeout=10):
        """Up to count objects (all that arrive within timeout if count is
        None)."""
        out, end = [], time.monotonic() + timeout
        while (count is None or len(out) < count) and time.monotonic() < end:
            ready, _, _ = select.select([self.stream], [], [], min(0.1, max(0.0, end - time.monotonic())))
            if not ready:
                continue
            chunk = os.read(self.stream.fileno(), 65536)
            if not chunk:
                break
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(json.loads(line))
        return out


def read_json_lines(stream, count, timeout=10):
    return JsonLines(stream).read(count, timeout)


class EventsTest(ProcessTestCase):
    def start_demo(self, seg, size="640x360"):
        return self.procs.start([vztest.DEMO, "--segment", seg, "--size", size, "--fps", "30",
                                 "--tags", "--quiet", "--print-events"], stdout=subprocess.PIPE)

    def start_viewer(self, seg, scaled="320x180"):
        w, h = scaled.split("x")
        pipeline = Gst.parse_launch(
            "shmframesrc segment=%s ! videoconvert ! videoscale ! "
            "video/x-raw,format=RGB,width=%s,height=%s ! appsink name=sink sync=false "
            "max-buffers=2 drop=true" % (seg, w, h))
        pipeline.set_state(Gst.State.PLAYING)
        sink = pipeline.get_by_name("sink")
        self.assertIsNotNone(sink.emit("try-pull-sample", 10 * Gst.SECOND), "no frame")
        return pipeline, sink

    def test_scaled_viewer_drives_demo(self):
        seg = vztest.unique_segment("events")
        demo = self.start_demo(seg)
        pipeline, sink = self.start_viewer(seg)
        pad = sink.get_static_pad("sink")
        sent = [
            GstVideo.Navigation.event_new_mouse_move(10, 20, NONE),
            GstVideo.Navigation.event_new_mouse_button_press(
                1, 50, 60, GstVideo.NavigationModifierType.SHIFT_MASK),
            GstVideo.Navigation.event_new_mouse_move(
                55, 65, GstVideo.NavigationModifierType.BUTTON1_MASK),
            GstVideo.Navigation.event_new_mouse_button_release(1, 70, 80, NONE),
            GstVideo.Navigation.event_new_mouse_scroll(100, 90, 0, 1.5, NONE),
            GstVideo.Navigation.event_new_key_press("Left", NONE),
            GstVideo.Navigation.event_new_key_release("Left", NONE),
        ]
        try:
            for ev in sent:
                self.assertTrue(pad.push_event(ev))
            got = read_json_lines(demo.stdout, len(sent))
        finally:
            pipeline.set_state(Gst.State.NULL)
        self.assertEqual([g["event"] for g in got],
                         ["MouseMove", "MouseButtonPress", "MouseMove", "MouseButtonRelease",
                          "MouseScroll", "KeyPress", "KeyRelease"])
        # videoscale halved the picture; the renderer gets its own pixels.
        self.assertEqual((got[0]["x"], got[0]["y"]), (20, 40))
        self.assertEqual((got[1]["button"], got[1]["x"], got[1]["y"]), (1, 100, 120))
        self.assertEqual(got[1]["modifier_state"], "shift-mask")
        self.assertEqual(got[2]["modifier_state"], "button1-mask")
        self.assertEqual(got[4]["delta_y"], 1.5)
        self.assertEqual(got[5]["key"], "Left")
        self.assertEqual(got[0]["modifier_state"], "")

    def test_space_pauses_the_scene(self):
        seg = vztest.unique_segment("pause")
        demo = self.start_demo(seg, "320x180")
        pipeline, sink = self.start_viewer(seg, "320x180")

        def two_frames_differ():
            frames = []
            while len(frames) < 2:
                sample = sink.emit("try-pull-sample", 5 * Gst.SECOND)
                self.assertIsNotNone(sample)
                buf = sample.get_buffer()
                ok, info = buf.map(Gst.MapFlags.READ)
                # Rows below the frame-number tag: the scene only.
                frames.append(bytes(info.data)[320 * 3 * 40:])
                buf.unmap(info)
                time.sleep(0.1)
            return frames[0] != frames[1]

        try:
            self.assertTrue(two_frames_differ(), "the demo animates")
            pad = sink.get_static_pad("sink")
            self.assertTrue(pad.push_event(GstVideo.Navigation.event_new_key_press("space", NONE)))
            self.assertEqual(read_json_lines(demo.stdout, 1)[0]["key"], "space")
            time.sleep(0.2)
            self.assertFalse(two_frames_differ(), "space pauses it")
        finally:
            pipeline.set_state(Gst.State.NULL)

    def test_recorded_session_replayed(self):
        seg = vztest.unique_segment("replay")
        session = [
            {"event": "MouseMove", "x": 100, "y": 100, "time": 0.0},
            {"event": "MouseButtonPress", "button": 1, "x": 100, "y": 100,
             "modifier_state": "button1-mask", "time": 0.1},
            {"event": "MouseMove", "x": 140, "y": 120, "modifier_state": "button1-mask", "time": 0.2},
            {"event": "MouseButtonRelease", "button": 1, "x": 140, "y": 120, "time": 0.3},
            {"event": "MouseScroll", "x": 320, "y": 180, "delta_x": 0, "delta_y": -2.5, "time": 0.5},
            {"event": "KeyPress", "key": "r", "time": 0.7},
            {"event": "KeyRelease", "key": "r", "time": 0.75},
            {"event": "ResizeRequest", "width": 480, "height": 270, "time": 0.9},
            {"event": "Custom", "text": "checkpoint \"A\"", "viewer_id": 4, "time": 1.0},
        ]
        path = os.path.join(self.tmp.name, "session.jsonl")
        with open(path, "w") as f:
            for ev in session:
                f.write(json.dumps(ev) + "\n")
        demo = self.start_demo(seg)
        time.sleep(0.3)
        t0 = time.monotonic()
        replay = subprocess.run(vztest.gst_launch() + [
            "filesrc", "location=" + path, "blocksize=37", "!",
            "interactsink", "segment=" + seg, "timing=recorded"],
            capture_output=True, text=True, timeout=30)
        elapsed = time.monotonic() - t0
        self.assertEqual(replay.returncode, 0, replay.stderr)
        got = read_json_lines(demo.stdout, len(session))
        self.assertEqual(len(got), len(session))
        for want, have in zip(session, got):
            want = {k: v for k, v in want.items() if k != "time"}
            want.setdefault("modifier_state", "")
            self.assertEqual(have, want)
        # Delivered with the recorded pacing: a second from first to last.
        self.assertGreaterEqual(elapsed, 1.0)

    def test_many_producer_pipelines_one_killed(self):
        seg = vztest.unique_segment("many")
        demo = self.start_demo(seg, "320x180")
        time.sleep(0.3)
        n = 300

        def sink_pipeline(viewer):
            return self.procs.start(vztest.gst_launch() + [
                "fdsrc", "fd=0", "!", "interactsink", "segment=" + seg,
                "viewer-id=%d" % viewer], stdin=subprocess.PIPE)

        a, b, d = sink_pipeline(1), sink_pipeline(2), sink_pipeline(4)
        pipeline, sink = self.start_viewer(seg, "320x180")
        pad = sink.get_static_pad("sink")
        lines = JsonLines(demo.stdout)
        got = []
        try:
            for i in range(1, n + 1):
                for proc, tag in ((a, "A"), (b, "B"), (d, "D")):
                    if proc.poll() is None:
                        proc.stdin.write(b'{"event":"Custom","text":"%s:%d"}\n' % (tag.encode(), i))
                        proc.stdin.flush()
                self.assertTrue(pad.push_event(
                    GstVideo.Navigation.event_new_mouse_move(i, 0, NONE)))
                if i == n // 2:
                    self.procs.stop(d, signal.SIGKILL)  # mid-stream
                if i % 10 == 0:
                    time.sleep(0.005)
                    got += lines.read(None, timeout=0.001)
            for proc in (a, b):
                proc.stdin.close()
                self.assertEqual(proc.wait(10), 0)
            end = time.monotonic() + 10
            while time.monotonic() < end and sum(1 for g in got if g.get("text", "")[:1] in "AB") < 2 * n:
                got += lines.read(None, timeout=0.2)
        finally:
            pipeline.set_state(Gst.State.NULL)

        def seq(tag):
            return [int(g["text"].split(":")[1]) for g in got
                    if g["event"] == "Custom" and g["text"].startswith(tag + ":")]
        # Below capacity nothing is lost, and each producer keeps its order.
        self.assertEqual(seq("A"), list(range(1, n + 1)))
        self.assertEqual(seq("B"), list(range(1, n + 1)))
        moves = [g["x"] for g in got if g["event"] == "MouseMove"]
        self.assertEqual(moves, list(range(1, n + 1)))
        # The killed one delivered an ordered prefix, and stopped nobody.
        killed = seq("D")
        self.assertEqual(killed, list(range(1, len(killed) + 1)))
        self.assertLess(len(killed), n)
        self.assertTrue(all(g.get("viewer_id") == 1 for g in got if g.get("text", "").startswith("A:")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
