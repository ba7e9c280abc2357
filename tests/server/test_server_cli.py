"""vizstream-server without a browser: options, errors, the page and its
headers, /status, and a renderer that goes away and comes back."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import vztest  # noqa: E402

SERVER = vztest.SERVER


class ServerCliTest(vztest.ProcessTestCase):
    def run_server(self, *args):
        return subprocess.run([SERVER] + list(args), capture_output=True,
                              text=True, timeout=30)

    def start_server(self, *args):
        p = self.procs.start([SERVER, "--port", "0", "--quiet"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        line = p.stdout.readline()
        m = re.search(r"serving (http://\S+)", line)
        self.assertIsNotNone(m, line + p.stderr.read() if p.poll() is not None else line)
        return p, m.group(1)

    def get(self, url, method="GET"):
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def test_help_and_bad_options(self):
        r = self.run_server("--help")
        self.assertEqual(r.returncode, 0)
        for opt in ("--segment", "--port", "--bind", "--codec", "--bitrate",
                    "--max-fps", "--stun", "--turn", "--ice-address", "--token",
                    "--pipeline", "--profile", "--allow-origin"):
            self.assertIn(opt, r.stdout)
        for args, msg in ((["--segment", "x", "--codec", "h265"], "--codec"),
                          ([], "--segment"),
                          (["--segment", "x", "--bitrate", "fast"], "--bitrate"),
                          (["--segment", "x", "--stun", "example.org"], "--stun"),
                          (["--segment", "x", "--turn", "x.org:3478"], "--turn"),
                          (["--segment", "x", "--control", "token"], "--token"),
                          (["--segment", "x", "--profile", "tiny"], "--profile"),
                          (["--segment", "x", "--bind", "localhost"], "--bind"),
                          (["--segment", "x", "--encoder", "nope"], "nope"),
                          (["--pipeline", "videotestsrc ! ! x"], "--pipeline")):
            r = self.run_server(*args, "--port", "0")
            self.assertIn(r.returncode, (1, 2), args)
            self.assertIn(msg, r.stderr, args)
            self.assertNotIn("CRITICAL", r.stderr)

    def test_port_in_use(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = self.run_server("--segment", "x", "--port", str(port))
        s.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot listen on 127.0.0.1:%d" % port, r.stderr)

    def test_page_and_headers(self):
        p, url = self.start_server("--segment", vztest.unique_segment("cli"))
        status, headers, body = self.get(url)
        self.assertEqual(status, 200)
        self.assertIn(b'<video id="video"', body)
        self.assertIn("default-src 'self'", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        status, headers, body = self.get(url + "vizstream.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
        self.assertIn(b"createDataChannel('input'", body)
        self.assertEqual(self.get(url + "nope")[0], 404)
        self.assertEqual(self.get(url + "../etc/passwd")[0], 404)
        self.assertEqual(self.get(url, "POST")[0], 405)

    def test_status_follows_the_renderer(self):
        seg = vztest.unique_segment("cli")
        p, url = self.start_server("--segment", seg)
        st = json.loads(self.get(url + "status")[2])
        self.assertEqual(st["segment"], seg)
        self.assertEqual(st["renderer"], "waiting")
        self.assertEqual(st["viewers"], [])
        self.assertEqual(st["encoder"], "x264enc")

        def renderer(state):
            end = time.monotonic() + 15
            while time.monotonic() < end:
                st = json.loads(self.get(url + "status")[2])
                if st["renderer"] == state:
                    return st
                time.sleep(0.1)
            self.fail("renderer never %s (last %s)" % (state, st["renderer"]))
        demo = self.procs.start([vztest.DEMO, "--segment", seg, "--size",
                                 "320x240", "--fps", "30", "--tags", "--quiet"])
        st = renderer("connected")
        self.assertEqual((st["source_width"], st["source_height"]), (320, 240))
        self.procs.stop(demo, signal.SIGKILL)
        renderer("lost")
        self.procs.start([vztest.DEMO, "--segment", seg, "--size", "640x480",
                          "--fps", "30", "--tags", "--quiet"])
        renderer("connected")
        self.assertIsNone(p.poll())

    def test_custom_pipeline_and_vp8(self):
        p, url = self.start_server("--pipeline", "videotestsrc is-live=true "
                                   "! capsfilter caps=video/x-raw,width=320,height=240",
                                   "--codec", "vp8")
        st = json.loads(self.get(url + "status")[2])
        self.assertEqual(st["encoder"], "vp8enc")
        self.assertEqual(st["renderer"], "pipeline")
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(10), 0)


if __name__ == "__main__":
    unittest.main()
