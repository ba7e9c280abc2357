#!/usr/bin/env python3
"""The Jupyter example, executed as a user would run it: Debian's nbclient
runs examples/python/vtk_notebook.ipynb cell by cell in an ipykernel
(Debian's python3-ipykernel); the notebook builds a VTK scene, serves it and
shows the live page inline. Headless Chromium (as in the browser tests)
opens the address from the cell's output, shows the scene's frames, and a
drag in the page turns the camera in the kernel, read back by running the
notebook's camera cell again in the same kernel.

Everything (kernel, server, Chromium) runs inside a network namespace with
only loopback and a private veth link (the machine's interface) up: the test re-runs itself under `unshare -n` (root), and is
skipped (77) where that, nbclient or the browser is missing. VTK renders
through X: the meson test runs it under xvfb-run."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import html.parser
import json
import math
import os
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
NOTEBOOK = os.path.join(SOURCE, "examples", "python", "vtk_notebook.ipynb")
sys.path.insert(0, os.path.join(SOURCE, "tests", "browser"))
sys.path.insert(0, HERE)

from vzpy import slack  # noqa: E402  (also puts tests/integration on sys.path)
import test_browser  # noqa: E402
import vztest  # noqa: E402

try:
    import nbformat
    from nbclient import NotebookClient
except ImportError:
    nbformat = None


class _Iframes(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.found.append(dict(attrs))


def iframes(text):
    p = _Iframes()
    p.feed(text)
    return p.found


# How much of the picture is the scene (not the background): read from the
# page's video through a canvas, with a hash of a coarse grid of pixels so
# that a turned camera shows as a different picture.
PICTURE_JS = """(() => {
  // The element showing the picture: video (WebRTC), canvas (WebSocket).
  const ws = window.vizstream.transport === 'ws';
  const v = document.getElementById(ws ? 'canvas' : 'video');
  const vw = ws ? v.width : v.videoWidth, vh = ws ? v.height : v.videoHeight;
  if (!vw || !vh) return null;
  const c = document.createElement('canvas');
  c.width = vw; c.height = vh;
  const x = c.getContext('2d', { willReadFrequently: true });
  x.drawImage(v, 0, 0);
  const d = x.getImageData(0, 0, c.width, c.height).data;
  let scene = 0, n = 0, grid = [];
  for (let y = 0; y < c.height; y += 8)
    for (let i = 0; i < c.width; i += 8) {
      const o = (y * c.width + i) * 4;
      n++;
      // The background is (26, 51, 102): far from it is the cone or sphere.
      if (Math.abs(d[o] - 26) + Math.abs(d[o + 1] - 51) + Math.abs(d[o + 2] - 102) > 60) {
        scene++; grid.push(y * c.width + i);
      }
    }
  return { width: c.width, height: c.height, scene: scene / n, shape: grid.join(',').length
           + ':' + grid.slice(0, 50).join(','), frames: window.vizstream.framesShown };
})()"""


STATE_JS = """(() => { const s = window.vizstream; return { transport: s.transport,
  codec: s.codec, role: s.role, connected: s.connected, renderer: s.renderer,
  lastError: s.lastError, fallbacks: s.fallbacks, framesShown: s.framesShown,
  wsFrames: s.wsFrames }; })()"""


class NotebookTest(vztest.ProcessTestCase):
    def setUp(self):
        super().setUp()
        if nbformat is None:
            self.skipTest("nbclient not installed (python3-nbclient: scripts/install-deps.sh)")
        if not os.environ.get("DISPLAY"):
            self.skipTest("no X display for VTK: run under xvfb-run (as meson test does)")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        # A machine has a network interface besides loopback, and WebRTC
        # (the server's ICE agent, by default, and Chromium's) gathers its
        # host candidates there: a veth pair with a private address stands
        # for it, so the notebook runs with serve()'s defaults.
        for cmd in (["ip", "link", "add", "vznb0", "type", "veth", "peer", "name", "vznb1"],
                    ["ip", "addr", "add", "10.213.7.1/24", "dev", "vznb0"],
                    ["ip", "link", "set", "vznb0", "up"], ["ip", "link", "set", "vznb1", "up"]):
            subprocess.run(cmd, check=True)
        self.browser = test_browser.Browser(self.procs)
        self.addCleanup(self.browser.quit)

    def run_cell(self, client, index):
        cell = self.nb.cells[index]
        t0 = time.monotonic()
        client.execute_cell(cell, index)
        print("cell %d: %.2f s" % (index, time.monotonic() - t0), flush=True)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        self.assertFalse(errors, "cell %d failed: %s" % (
            index, "\n".join("\n".join(e.traceback) for e in errors)))
        return cell.outputs

    def kernel_run(self, client, source):
        """Run source in the notebook's kernel (a cell of the test's own);
        what it printed."""
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        client.execute_cell(cell, len(self.nb.cells) - 1)
        return "".join(o.get("text", "") + "".join(o.get("traceback", []))
                       for o in cell.outputs)

    def camera(self, client, index):
        out = "".join(o.text for o in self.run_cell(client, index)
                      if o.output_type == "stream" and o.name == "stdout")
        return json.loads(out.strip().splitlines()[-1])

    def test_notebook_streams_vtk_and_a_drag_turns_the_camera(self):
        self.nb = nbformat.read(NOTEBOOK, as_version=4)
        code = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        show = next(i for i in code if "serve(" in self.nb.cells[i].source)
        cam_cell = next(i for i in code if "GetActiveCamera" in self.nb.cells[i].source)
        cleanup = next(i for i in code if "cleanup" in self.nb.cells[i].metadata.get("tags", []))
        # The kernel imports vizstream from the source tree next to the
        # notebook (its first cell) and finds this build through
        # VZ_BUILD_ROOT (meson test's environment).
        client = NotebookClient(self.nb, timeout=int(slack(120)), kernel_name="python3",
                                resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
        t0 = time.monotonic()
        with client.setup_kernel():
            print("kernel up: %.2f s" % (time.monotonic() - t0), flush=True)
            for i in code:
                if i > cam_cell:
                    break
                outputs = self.run_cell(client, i)
                if i == show:
                    shown = outputs
            # The stream's cell shows the live page: an <iframe> whose src
            # is the server's page.
            html_out = [o.data["text/html"] for o in shown
                        if o.output_type in ("execute_result", "display_data")
                        and "text/html" in o.data]
            self.assertEqual(len(html_out), 1, shown)
            frames = iframes(html_out[0])
            self.assertEqual(len(frames), 1, html_out[0])
            url = frames[0]["src"]
            self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/$")
            self.assertIn("autoplay", frames[0].get("allow", ""))
            # The page may be framed by the notebook (another origin): no
            # X-Frame-Options, no CSP frame-ancestors.
            with urllib.request.urlopen(url, timeout=5) as r:
                self.assertIsNone(r.headers.get("X-Frame-Options"))
                self.assertNotIn("frame-ancestors", r.headers.get("Content-Security-Policy", ""))
            before = self.camera(client, cam_cell)
            print("camera before:", before)

            # Chromium opens the address from the output; the scene's frames
            # show (the VTK window's size, with the cone and the sphere).
            self.browser.call("open", page="a", url=url)
            t1 = time.monotonic()
            first = None
            end = time.monotonic() + slack(30)
            while time.monotonic() < end:
                first = self.browser.js("a", PICTURE_JS)
                if first and first["frames"] > 0 and first["scene"] > 0.02:
                    break
                time.sleep(0.2)
            print("first picture after %.2f s: %r" % (time.monotonic() - t1, first and {
                k: v for k, v in first.items() if k != "shape"}), flush=True)
            if not (first and first["frames"] > 0):
                print("page: %s" % json.dumps(self.browser.js("a", STATE_JS)))
                print("server:\n" + self.kernel_run(
                    client, "print(stream.server.running, *stream.server.output[-40:], "
                    "sep='\\n')"), flush=True)
            self.assertTrue(first and first["frames"] > 0, "no frames on the page: %r" % first)
            self.assertEqual((first["width"], first["height"]), (800, 450))
            self.assertGreater(first["scene"], 0.02, "the scene is in the picture")
            self.assertLess(first["scene"], 0.9, "and the background around it")
            end = time.monotonic() + slack(20)
            while not (self.browser.js("a", "window.vizstream.role") == "control"
                       and self.browser.js("a", "window.vizstream.inputOpen")):
                self.assertLess(time.monotonic(), end, "the page never got control")
                time.sleep(0.2)

            # A left drag across the picture: the trackball turns the camera,
            # in the kernel.
            self.browser.call("mouse", page="a", action="down", x=0.4, y=0.5)
            self.browser.call("mouse", page="a", action="move", x=0.7, y=0.55, steps=12)
            self.browser.call("mouse", page="a", action="up", x=0.7, y=0.55)
            t2 = time.monotonic()
            end = time.monotonic() + slack(20)
            while True:
                after = self.camera(client, cam_cell)
                moved = math.dist(before["position"], after["position"])
                if moved > 0.05 or time.monotonic() > end:
                    break
                time.sleep(0.3)
            print("camera after %.2f s: %r (moved %.3f)" % (time.monotonic() - t2, after, moved))
            self.assertGreater(moved, 0.05, "the drag did not turn the camera in the kernel")
            self.assertGreater(after["renders"], before["renders"], "the loop rendered")
            # The page shows the turned scene.
            end = time.monotonic() + slack(15)
            while True:
                now = self.browser.js("a", PICTURE_JS)
                if now and now["shape"] != first["shape"] or time.monotonic() > end:
                    break
                time.sleep(0.2)
            self.assertNotEqual(now["shape"], first["shape"], "the picture did not change")

            # The notebook's last cell stops the loop, the stream and the server.
            self.run_cell(client, cleanup)
            self.browser.call("close", page="a")
        print("total %.2f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    if nbformat is not None and os.environ.get("DISPLAY"):
        test_browser.enter_namespace()
    unittest.main()
