"""Sessions on demand in Chromium (issue 19, items 2 and 4): a real
vizstream-server with --launch, headless Chromium, all in a loopback-only
network namespace (like test_browser.py).

- three sessions at once, each page opened at new?width=W&height=H (the
  303 to s/ID/#token=T): each decodes its own renderer's frame numbers at
  its size, controls, and a click from each page reaches only its
  renderer (the session's log); one renderer killed: its page says why
  and offers a link that starts a new session;
- a Python VTK renderer (examples/python/vtk_network.py) launched on
  demand: its frames shown in the page (run under xvfb-run,
  tests/meson.build).

Run one test: test_sessions.py SessionsBrowserTest.test_three_sessions."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)                # test_streams: the browser's
import test_streams  # noqa: E402  (tests/browser/test_streams.py)
from test_browser import enter_namespace  # noqa: E402
import vztest  # noqa: E402

SERVER = vztest.SERVER
SOURCE = os.environ.get("VZ_SOURCE_ROOT",
                        os.path.join(HERE, "..", ".."))
SIZES = test_streams.SIZES
DEMO_LAUNCH = ("%s --segment {segment} --size {width}x{height} --fps 20 "
               "--nodes 300 --tags --quiet --print-events" % vztest.DEMO)
VTK_LAUNCH = ("/usr/bin/python3 %s --segment {segment} --size "
              "{width}x{height} --nodes 2000 --spin 2 --fps 20" %
              os.path.join(SOURCE, "examples", "python", "vtk_network.py"))


def session_pids(session):
    want = b"VIZSTREAM_SESSION=" + session.encode()
    pids = []
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if want in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


class SessionsBrowserTest(test_streams.StreamsBrowserTest):
    # Not this class's: inherited from the several-streams test.
    test_three_streams = None
    test_two_servers_behind_one_nginx = None

    def setUp(self):
        super().setUp()
        self.session_of = {}

    def start_sessions_server(self, launch, *args):
        self.logs = os.path.join(self.tmp.name, "logs")
        self.server_log = open(os.path.join(self.tmp.name, "server.log"), "a")
        self.server = self.procs.start(
            [SERVER, "--port", "0", "--ice-address", "127.0.0.1", "--launch",
             launch, "--launch-log-dir", self.logs] + list(args),
            stdout=subprocess.PIPE, stderr=self.server_log, text=True,
            env=dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "python")))
        m = re.search(r"serving (http://\S+)", self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.addCleanup(self.no_renderer_left)
        return m.group(1)

    def no_renderer_left(self):
        self.procs.stop(self.server)
        for s in self.session_of.values():
            self.wait("session %s's processes gone" % s,
                      lambda: not session_pids(s), 6)
            self.assertFalse(os.path.exists("/dev/shm/vizstream-session-" + s))

    def open_session(self, page, base, w, h):
        """Opens new?width=w&height=h on page; returns the session id."""
        self.browser.call("open", page=page, url=base +
                          "new?width=%d&height=%d" % (w, h))
        href = self.wait("the session's page", lambda: re.search(
            r"/s/([0-9a-f]{32})/", self.href(page)), 30)
        # The token was taken out of the address bar.
        self.assertNotIn("token", self.browser.js(page, "location.href"))
        return href.group(1)

    def href(self, page):
        """The page's address; "" while it navigates."""
        try:
            return self.browser.js(page, "location.href") or ""
        except RuntimeError:
            return ""

    def events_of(self, name):
        path = os.path.join(self.logs, self.session_of[name] + ".log")
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def test_three_sessions(self):
        base = self.start_sessions_server(DEMO_LAUNCH)
        pages = {}
        for i, n in enumerate(SIZES):
            page = "p%d" % i
            self.session_of[n] = self.open_session(page, base, *SIZES[n])
            pages[page] = n
        self.assertEqual(len(set(self.session_of.values())), 3)
        for page, name in pages.items():
            self.check_page(page, name)
        self.click_each(pages)
        # A spectator of session one watches without control.
        self.browser.call("open", page="spectator",
                          url=base + "s/%s/" % self.session_of["one"])
        self.wait("the spectator's frames", lambda: self.browser.js(
            "spectator", "window.vizstream.framesShown") > 5, 30)
        self.assertEqual(self.browser.js("spectator", "window.vizstream.role"),
                         "view")
        # Session three's renderer dies: its page says so and offers a
        # new session; the others go on.
        for pid in session_pids(self.session_of["three"]):
            os.kill(pid, signal.SIGKILL)
        ended = self.wait("page p2 told", lambda: self.browser.js(
            "p2", "window.vizstream.ended"), 10)
        self.assertIn("the renderer was killed by signal 9", ended)
        link = self.browser.js("p2", "document.getElementById('restart').href")
        self.assertEqual(link, base + "new")
        for page in ("p0", "p1"):
            self.page_frames(page, pages[page])
        # The link starts a new session, controlled by who clicked it.
        self.browser.js("p2", "document.getElementById('restart').click(), true")
        sid = self.wait("a new session", lambda: (lambda m: m and m.group(1)
                        != self.session_of["three"] and m.group(1))(re.search(
                            r"/s/([0-9a-f]{32})/", self.href("p2"))), 30)
        self.session_of["three-again"] = sid
        self.wait("control on the new session", lambda: self.browser.js(
            "p2", "window.vizstream.role") == "control", 30)
        self.assertIsNone(self.server.poll())

    def test_vtk_session(self):
        if not os.environ.get("DISPLAY"):
            self.skipTest("VTK wants a display: run under xvfb-run")
        probe = subprocess.run(["/usr/bin/python3", "-c", "import vtk"],
                               capture_output=True)
        if probe.returncode != 0:
            self.skipTest("python3-vtk9 not installed")
        base = self.start_sessions_server(VTK_LAUNCH, "--launch-timeout", "60")
        self.session_of["vtk"] = self.open_session("vtk", base, 480, 320)
        shown = self.wait("VTK frames shown", lambda: self.browser.js(
            "vtk", "window.vizstream.framesShown") > 10, 60)
        self.assertTrue(shown)
        size = self.browser.js("vtk", "[document.getElementById('video')."
                               "videoWidth, document.getElementById('video')."
                               "videoHeight]")
        self.assertEqual(size, [480, 320])
        self.assertEqual(self.browser.js("vtk", "window.vizstream.role"),
                         "control")


if __name__ == "__main__":
    enter_namespace()
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    # A skip (no display, no VTK) is meson's SKIP, not a pass.
    sys.exit(77 if result.skipped else 0)
