#!/usr/bin/env python3
"""Interaction across real processes: navigation events sent at the far end
of a scaling pipeline reach the demo renderer (--print-events) in its own
frame's coordinates and in order, and visibly change what it renders."""
import json
import os
import select
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


def read_json_lines(stream, count, timeout=10):
    """count JSON objects from a line-buffered pipe."""
    out, buf, end = [], b"", time.monotonic() + timeout
    while len(out) < count and time.monotonic() < end:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
    return out


class EventsTest(ProcessTestCase):
    def start_demo(self, seg, size="640x360"):
        return self.procs.start([vztest.DEMO, "--segment", seg, "--size", size, "--fps", "30",
                                 "--quiet", "--print-events"], stdout=subprocess.PIPE)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
