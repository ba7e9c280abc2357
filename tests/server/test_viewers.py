"""vizstream-server's viewers, without a browser (issue 14):

- the input policy works on parsed events: every event type with and
  without --allow-resize, a ResizeRequest whose name is written with JSON
  escapes, a view-only viewer whose events go nowhere;
- one bin per viewer: an error posted from inside one viewer's bin
  (VIZSTREAM_TEST_HOOKS=1) closes that viewer only; another keeps getting
  frames that decode; the server keeps running and gives every element
  back.

The browser test test_error_in_one_viewer_bin does the same with WebRTC
pages (tests/browser/test_browser.py)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import vztest  # noqa: E402
from test_security import WebSocket  # noqa: E402

SERVER = vztest.SERVER

# One of each type, coordinates normalized (0..1) as pages send them.
EVENTS = [
    {"event": "MouseMove", "x": 0.25, "y": 0.5},
    {"event": "MouseButtonPress", "button": 1, "x": 0.25, "y": 0.5},
    {"event": "MouseButtonRelease", "button": 1, "x": 0.25, "y": 0.5},
    {"event": "MouseScroll", "x": 0.5, "y": 0.5, "delta_x": 0, "delta_y": 1},
    {"event": "KeyPress", "key": "a"},
    {"event": "KeyRelease", "key": "a"},
    {"event": "TouchDown", "identifier": 1, "x": 0.5, "y": 0.5, "pressure": 1},
    {"event": "TouchMotion", "identifier": 1, "x": 0.6, "y": 0.5,
     "pressure": 1},
    {"event": "TouchUp", "identifier": 1, "x": 0.6, "y": 0.5},
    {"event": "Custom", "text": "hello renderer"},
    {"event": "ResizeRequest", "width": 200, "height": 150},
]
ESCAPED_RESIZE = '{"event":"\\u0052esizeRequest","width":210,"height":160}'


class ViewersTest(vztest.ProcessTestCase):
    def start(self, *args, env=None):
        self.segment = vztest.unique_segment("vw")
        self.events = os.path.join(self.tmp.name, "events.jsonl")
        self.events_file = open(self.events, "w")
        self.addCleanup(self.events_file.close)
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "320x240", "--fps", "30", "--tags", "--quiet",
                          "--print-events"], stdout=self.events_file)
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", "0", "--quiet"] +
            list(args), stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))
        m = re.search(r"serving http://([\d.]+):(\d+)/",
                      self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.host, self.port = m.group(1), int(m.group(2))

    def status(self):
        with urllib.request.urlopen("http://%s:%d/status" % (self.host, self.port),
                                    timeout=5) as r:
            return json.load(r)

    def wait(self, what, cond, timeout=15):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = cond()
            if last:
                return last
            time.sleep(0.1)
        self.fail("%s: not within %s s (last: %r)" % (what, timeout, last))

    def demo_events(self):
        with open(self.events) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def join(self, transport="mjpeg", view_only=False, out=None):
        ws = WebSocket(self.host, self.port)
        self.assertEqual(ws.status, 101)
        self.addCleanup(ws.close)
        ws.send(json.dumps({"type": "hello", "transport": transport,
                            "view_only": view_only}))
        msgs, _, _ = ws.pump(1.0, out)
        roles = [m["role"] for m in msgs if m["type"] == "role"]
        self.assertTrue(roles, msgs)
        return ws, roles[-1]

    def send_events(self, ws, texts):
        for t in texts:
            ws.send(json.dumps({"type": "input", "data": t}))
        # A marker the demo prints once everything before it went through.
        ws.send(json.dumps({"type": "input", "data": json.dumps(
            {"event": "KeyPress", "key": "F12"})}))
        self.wait("the marker reaches the renderer", lambda: any(
            e["event"] == "KeyPress" and e.get("key") == "F12"
            for e in self.demo_events()))

    def check_policy(self, allow_resize):
        ws, role = self.join()
        self.assertEqual(role, "control")
        self.send_events(ws, [json.dumps(e) for e in EVENTS] + [ESCAPED_RESIZE])
        got = [e["event"] for e in self.demo_events()]
        for e in EVENTS[:-1]:
            self.assertIn(e["event"], got)
        resizes = [e for e in self.demo_events() if e["event"] == "ResizeRequest"]
        st = self.status()
        if allow_resize:
            self.assertEqual(sorted((e["width"], e["height"]) for e in resizes),
                             [(200, 150), (210, 160)])
            self.assertEqual(st["viewers"][0]["events_refused"], 0)
        else:
            self.assertEqual(resizes, [])
            self.assertEqual(st["viewers"][0]["events_refused"], 2)

    def test_every_event_type_without_allow_resize(self):
        self.start()
        self.check_policy(False)

    def test_every_event_type_with_allow_resize(self):
        self.start("--allow-resize")
        self.check_policy(True)

    def test_view_only_viewer_sends_nothing(self):
        self.start("--allow-resize")
        watcher, role = self.join(view_only=True)
        self.assertEqual(role, "view")
        for t in [json.dumps(e) for e in EVENTS] + [ESCAPED_RESIZE]:
            watcher.send(json.dumps({"type": "input", "data": t}))
        # A controller after it: its marker arrives, nothing of the
        # watcher's did.
        ws, role = self.join()
        self.assertEqual(role, "control")
        self.send_events(ws, [])
        self.assertEqual([e["event"] for e in self.demo_events()], ["KeyPress"])
        st = self.status()
        self.assertEqual(st["view_only_dropped"], len(EVENTS) + 1)

    def test_error_in_one_viewer_bin(self):
        self.start(env={"VIZSTREAM_TEST_HOOKS": "1"})
        base = self.status()["elements"]
        # b's stream is kept from its first frame: it must decode whole.
        path = os.path.join(self.tmp.name, "b.h264")
        out = open(path, "wb")
        self.addCleanup(out.close)
        a, _ = self.join("ws")
        b, _ = self.join("ws", out=out)
        self.assertEqual(self.status()["elements"], base + 2)  # a bin each
        self.assertGreater(a.pump(2)[1], 10)
        self.assertGreater(b.pump(1, out)[1], 5)
        a.send(json.dumps({"type": "test_error"}))
        texts, _, closed = a.pump(5)
        self.assertTrue(closed, "the viewer whose bin failed is closed")
        self.assertIn("test hook: an error inside a viewer's bin",
                      json.dumps(texts))
        st = self.wait("the server drops it",
                       lambda: len(self.status()["viewers"]) == 1 and self.status())
        self.assertEqual(st["elements"], base + 1)
        self.assertIsNone(self.server.poll())
        # The other viewer goes on, with frames that decode.
        _, after, closed = b.pump(3, out)
        out.close()
        self.assertFalse(closed)
        self.assertGreater(after, 30)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
             "-show_entries", "stream=nb_read_frames,width,height", "-of",
             "json", path], capture_output=True, text=True, timeout=60)
        info = json.loads(probe.stdout)["streams"][0]
        self.assertEqual((info["width"], info["height"]), (320, 240))
        self.assertGreater(int(info["nb_read_frames"]), after + 30)
        self.assertEqual(probe.stderr, "", "b's stream decodes without error")
        self.assertIsNone(self.server.poll())

    def test_encoder_format_from_the_source(self):
        """shmframesrc converts RGB to the encoder's I420 in its one copy
        (libyuv): the server's raw frames are I420 and the viewer's stream
        decodes; a source pinned to RGBA keeps it (converted in the
        server, as before)."""
        inspect = subprocess.run(["gst-inspect-1.0", "shmframesrc"],
                                 capture_output=True, text=True)
        if "I420" not in inspect.stdout:
            self.skipTest("shmframesrc built without libyuv (libyuv-dev)")
        self.start()
        a, _ = self.join("ws")
        self.assertGreater(a.pump(1)[1], 5)
        self.assertEqual(self.status()["source_format"], "I420")
        self.procs.stop(self.server)
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", "0", "--quiet",
             "--pipeline", "shmframesrc segment=%s keep-waiting=true ! "
             "capsfilter caps=video/x-raw,format=RGBA" % self.segment],
            stdout=subprocess.PIPE, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/",
                      self.server.stdout.readline())
        self.host, self.port = m.group(1), int(m.group(2))
        a, _ = self.join("ws")
        self.assertGreater(a.pump(1)[1], 5)
        self.assertEqual(self.status()["source_format"], "RGBA")

    def test_idle_renderer_reaches_a_late_viewer(self):
        """A renderer that drew once and then waits for input (VtkStream's
        way): a viewer that joins later still gets its picture (shmframesrc
        repeat-after), and a second one too."""
        self.segment = vztest.unique_segment("idle")
        env = dict(os.environ, PYTHONPATH=os.path.join(vztest.SOURCE, "python"))
        pub = self.procs.start(
            [vztest.PYTHON, "-c", "import sys, time, numpy as np, vizstream\n"
             "p = vizstream.Publisher(sys.argv[1], 320, 240)\n"
             "p.publish(np.full((240, 320, 4), 200, np.uint8))\n"
             "print('published', flush=True)\n"
             "time.sleep(60)\n", self.segment],
            stdout=subprocess.PIPE, text=True, env=env)
        self.assertEqual(pub.stdout.readline().strip(), "published")
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", "0", "--quiet"],
            stdout=subprocess.PIPE, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/",
                      self.server.stdout.readline())
        self.host, self.port = m.group(1), int(m.group(2))
        time.sleep(1.5)  # the one frame is long gone through the pipeline
        for _ in range(2):
            ws, _ = self.join("ws")
            self.assertGreater(ws.pump(2.5)[1], 0,
                               "no picture for a viewer of an idle renderer")
            ws.close()

    def test_test_hook_off_by_default(self):
        self.start()
        a, _ = self.join("ws")
        a.send(json.dumps({"type": "test_error"}))
        msgs, _, _ = a.pump(1.0)
        self.assertIn("unknown message type", json.dumps(msgs))
        self.assertEqual(len(self.status()["viewers"]), 1)


if __name__ == "__main__":
    unittest.main()
