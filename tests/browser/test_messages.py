"""Renderer -> viewers messages in Chromium (issue 17 item 7): a Python
VTK renderer (msg_renderer.py, under Xvfb) reports loading progress
0..100 while it builds its scene, then its application state, then
streams frames. The page shows the progress (its progress bar's value,
read through page JS) and then the frames, and a page script registered
with window.vizstream.on("message") receives the application state.
Runs in the network namespace of test_browser.py."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import shutil
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_browser import BrowserTestCase, enter_namespace  # noqa: E402

RENDERER = os.path.join(HERE, "msg_renderer.py")


class MessagesBrowserTest(BrowserTestCase):
    start_demo = False

    @staticmethod
    def end_group(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def test_progress_then_frames_and_state_to_page_script(self):
        if shutil.which("xvfb-run") is None:
            self.skipTest("xvfb-run not installed")
        self.start_server()
        self.open("a")
        self.browser.js("a", "window.__msgs = []; window.vizstream.on('message', "
                        "m => window.__msgs.push(m)); true")
        t0 = time.monotonic()
        # xvfb-run leaves Xvfb and the renderer behind when it is stopped:
        # they run in a group of their own, ended whole.
        renderer = self.procs.start(
            ["xvfb-run", "-a", "-s", "-screen 0 640x480x24 -nolisten tcp",
             "/usr/bin/python3", RENDERER, self.segment], start_new_session=True)
        self.addCleanup(self.end_group, renderer.pid)
        seen = []
        end = time.monotonic() + 60
        while time.monotonic() < end:
            v = self.browser.js("a", "[document.getElementById('progress-bar').value, "
                                "document.getElementById('progress-bar').hidden, "
                                "document.getElementById('status-line').textContent, "
                                "window.vizstream.framesShown]")
            if not v[1] and (not seen or seen[-1][0] != v[0]):
                seen.append((v[0], v[3], round(time.monotonic() - t0, 2)))
            if v[0] == 100 and v[3] > 0:
                break
            time.sleep(0.05)
        print("progress seen (value, frames shown, s): %s" % seen)
        values = [s[0] for s in seen]
        self.assertEqual(values[-1], 100, seen)
        self.assertTrue(any(0 < x < 100 for x in values), "intermediate progress: %s" % seen)
        self.assertEqual(values, sorted(values), "progress only grows")
        self.assertTrue(all(s[1] == 0 for s in seen if s[0] < 100),
                        "no frames while loading: %s" % seen)
        # then frames
        self.wait("frames on the page", lambda: self.browser.js(
            "a", "window.vizstream.framesShown") > 5, 30)
        print("frames shown %.2f s after the renderer started" % (time.monotonic() - t0))
        # the page script got the application state
        msgs = self.wait("the state in page script", lambda: [
            m for m in self.browser.js("a", "window.__msgs") if "state" in m], 10)
        self.assertEqual(msgs[-1], {"status": "ready",
                                    "state": {"actors": 10, "scene": "spheres"}})
        self.assertEqual(self.browser.js("a", "document.getElementById('status-line')"
                                         ".textContent"), "ready")
        # a page that opens now gets the state at once, through on() too
        self.open("b")
        late = self.wait("the state on a late page", lambda: self.browser.js(
            "b", "window.vizstream.message"), 10)
        self.assertEqual(late["state"]["scene"], "spheres")


if __name__ == "__main__":
    enter_namespace()
    unittest.main()
