"""vizstream-gldemo: an EGL OpenGL program streamed by glreadbacksrc
through the embedded server, on llvmpipe (no GPU, no display)."""
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
import vztest  # noqa: E402

GLDEMO = os.path.join(vztest.BUILD, "examples", "gl", "vizstream-gldemo")


class GlDemoTest(vztest.ProcessTestCase):
    def test_streams_its_gl_scene(self):
        log = open(os.path.join(self.tmp.name, "gldemo.log"), "w")
        proc = self.procs.start(
            [GLDEMO, "--size", "640x360", "--fps", "30", "--port", "0",
             "--quiet"], stdout=subprocess.PIPE, stderr=log, text=True)
        line = proc.stdout.readline()
        m = re.search(r"serving (http://\S+)", line)
        self.assertTrue(m, "did not start: %r" % line)
        url = m.group(1)
        end = time.monotonic() + 20
        status = None
        while time.monotonic() < end:
            with urllib.request.urlopen(url + "status", timeout=5) as r:
                status = json.load(r)
            if status["source_width"] == 640:
                break
            time.sleep(0.3)
        self.assertEqual(status["renderer"], "application", status)
        self.assertEqual((status["source_width"], status["source_height"]),
                         (640, 360))
        # the picture: a JPEG of the scene, tag row at the top
        jpgs = []
        for _ in range(2):
            with urllib.request.urlopen(url + "snapshot.jpg", timeout=10) as r:
                self.assertEqual(r.headers["Content-Type"], "image/jpeg")
                jpgs.append(r.read())
            time.sleep(0.5)
        raw = []
        for j in jpgs:
            out = subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-i", "-", "-f", "rawvideo",
                 "-pix_fmt", "rgb24", "-"], input=j, capture_output=True,
                check=True).stdout
            self.assertEqual(len(out), 640 * 360 * 3)
            raw.append(out)
        # the scene moves (frames keep coming through the readback)
        self.assertNotEqual(raw[0], raw[1])
        # the grey tag band (128) at the top left, as the demo draws it
        px = raw[0][(8 * 640 + 4) * 3:(8 * 640 + 4) * 3 + 3]
        self.assertTrue(all(abs(c - 128) < 12 for c in px), px)
        proc.terminate()
        self.assertEqual(proc.wait(10), 0)
        log.close()


if __name__ == "__main__":
    unittest.main()
