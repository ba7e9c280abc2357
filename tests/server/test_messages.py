"""Renderer -> viewers messages (issue 17 item 7) without a browser: a
Python renderer (vizstream.Publisher.send) and viewers on /ws (MJPEG
transport, so no WebRTC is needed to join).

- what the sender refuses (too large, not a JSON object) raises
  MessageError with the library's reason and never reaches a viewer;
- a flood is coalesced: viewers get fewer messages than were sent, in
  order, and always the newest;
- a viewer that joins later gets the newest message (the state) at once.

The C side's refusals are tests/lib/test-messages.c; the page's side is
tests/browser/test_messages.py."""
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
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
import vzpy  # noqa: E402,F401  (the package and the integration helpers)
import vztest  # noqa: E402
import vizstream  # noqa: E402
from test_security import WebSocket  # noqa: E402

import numpy as np  # noqa: E402


class Viewer:
    """A viewer on /ws: every message the renderer sent it, in order."""

    def __init__(self, test):
        self.ws = WebSocket(test.host, test.port)
        test.assertEqual(self.ws.status, 101)
        test.addCleanup(self.ws.close)
        self.ws.send(json.dumps({"type": "hello", "transport": "mjpeg"}))
        self.messages = []

    def pump(self, seconds, until=None):
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                if until and until(self.messages):
                    return self
                self.ws.sock.settimeout(max(0.05, end - time.monotonic()))
                op, data = self.ws.recv()
                if op == 1:
                    m = json.loads(data)
                    if m["type"] == "message":
                        self.messages.append(m["data"])
        except TimeoutError:
            pass
        return self


class MessagesTest(vztest.ProcessTestCase):
    def setUp(self):
        super().setUp()
        self.segment = vztest.unique_segment("msg")
        self.pub = vizstream.Publisher(self.segment, 64, 48)
        self.addCleanup(self.pub.close)
        self.pub.publish(np.full((48, 64, 4), 128, np.uint8))
        self.server = self.procs.start(
            [vztest.SERVER, "--segment", self.segment, "--port", "0", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/", self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.host, self.port = m.group(1), int(m.group(2))

    def attached(self, viewer):
        """Send until the server reads the segment (it starts at the newest)."""
        end = time.monotonic() + 10
        while time.monotonic() < end:
            self.pub.send({"hello": 1})
            if viewer.pump(0.2, lambda ms: ms).messages:
                viewer.messages.clear()
                return
        self.fail("no message reached the viewer in 10 s")

    def status(self):
        with urllib.request.urlopen("http://%s:%d/status" % (self.host, self.port),
                                    timeout=5) as r:
            return json.loads(r.read())["messages"]

    def test_refused_at_the_sender_never_forwarded(self):
        v = Viewer(self)
        self.attached(v)
        for bad in ({"big": "x" * 5000}, "[1, 2]", "{\"a\": }", b"{\"a\": \"\xff\"}", "",
                    "{} {}"):
            with self.assertRaises(vizstream.MessageError) as cm:
                self.pub.send(bad)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertRegex(str(cm.exception), "larger than the 4096 bytes|JSON object")
        with self.assertRaises(ValueError):
            self.pub.send({"nan": float("nan")})
        self.pub.send({"status": "fine", "progress": 50})
        v.pump(1.0)
        self.assertEqual(v.messages, [{"status": "fine", "progress": 50}])

    def test_flood_coalesced_and_late_joiner_gets_the_state(self):
        a = Viewer(self)
        self.attached(a)
        t0 = time.monotonic()
        for i in range(400):
            self.pub.send({"n": i})
            if i % 50 == 0:
                time.sleep(0.01)
        flood_s = time.monotonic() - t0
        a.pump(3.0, lambda ms: ms and ms[-1] == {"n": 399})
        ns = [m["n"] for m in a.messages]
        self.assertEqual(ns[-1], 399, "the newest message always arrives")
        self.assertEqual(ns, sorted(set(ns)), "in order, no repeats")
        self.assertLess(len(ns), 400 // 2, "a flood is coalesced (%d of 400 in %.2f s)"
                        % (len(ns), flood_s))
        st = self.status()
        self.assertGreater(st["coalesced"], 0)
        self.assertGreaterEqual(st["received"], len(ns))

        self.pub.send({"state": {"camera": [1, 2, 3]}, "status": "ready"})
        a.pump(1.0, lambda ms: ms[-1].get("status") == "ready")
        late = Viewer(self)
        late.pump(2.0, lambda ms: ms)
        self.assertEqual(late.messages[:1], [{"state": {"camera": [1, 2, 3]},
                                              "status": "ready"}])


if __name__ == "__main__":
    unittest.main()
