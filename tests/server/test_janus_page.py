"""vizstream-server's Janus side without Janus or a browser: the options,
the RTP that goes out to an edge (and goes on with nobody listening), the
spectators' page, its policy and what it loads. tests/browser/test_janus.py
has the real Janus and Chromium."""
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
SOURCE = ("videotestsrc is-live=true ! capsfilter "
          "caps=video/x-raw,width=160,height=120,framerate=15/1")
JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"


class JanusPageTest(vztest.ProcessTestCase):
    def start_server(self, *args):
        p = self.procs.start([SERVER, "--port", "0", "--pipeline", SOURCE]
                             + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        m = re.search(r"serving (http://\S+)", line)
        self.assertIsNotNone(m, line + (p.stderr.read() if p.poll() is not None else ""))
        return p, m.group(1)

    def get(self, url):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def test_bad_options(self):
        r = subprocess.run([SERVER, "--help"], capture_output=True, text=True)
        for opt in ("--janus-rtp", "--janus-url", "--janus-mountpoint"):
            self.assertIn(opt, r.stdout)
        for args, msg in ((["--janus-rtp", "127.0.0.1"], "--janus-rtp"),
                          (["--janus-rtp", "127.0.0.1:0"], "--janus-rtp"),
                          (["--janus-rtp", "127.0.0.1:65535"], "--janus-rtp"),
                          (["--janus-rtp", "[::1"], "--janus-rtp"),
                          (["--janus-url", "ftp://h/janus"], "--janus-url"),
                          (["--janus-url", "janus"], "--janus-url"),
                          (["--janus-url", "http://h/j;x"], "--janus-url"),
                          (["--janus-mountpoint", "3"], "--janus-url"),
                          (["--janus-url", "/janus", "--janus-mountpoint", "-1"],
                           "--janus-mountpoint")):
            r = subprocess.run([SERVER, "--segment", "x"] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)

    def test_rtp_out_with_nobody_listening(self):
        """RTP (H.264, payload type 96) goes to the edge; while nothing
        listens there the server sends on and keeps running."""
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        port = rx.getsockname()[1]
        p, url = self.start_server("--quiet", "--janus-rtp",
                                   "localhost:%d" % port)
        rx.settimeout(10)
        data, addr = rx.recvfrom(2048)
        self.assertEqual(data[0] >> 6, 2)               # RTP version 2
        self.assertEqual(data[1] & 0x7f, 96)            # payload type
        rx.close()                                      # nobody listens now
        before = json.loads(self.get(url + "status")[2])["janus"][0]["packets"]
        time.sleep(2)
        edge = json.loads(self.get(url + "status")[2])["janus"][0]
        self.assertEqual(edge["state"], "sending")
        self.assertGreater(edge["packets"], before)
        self.assertIsNone(edge["last_error"])
        self.assertIsNone(p.poll())
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(10), 0)

    def test_watch_page_policy_and_files(self):
        p, url = self.start_server("--quiet", "--janus-url",
                                   "http://127.0.0.1:18088/janus",
                                   "--janus-url", "/janus",
                                   "--janus-mountpoint", "7")
        status, headers, body = self.get(url + "watch")
        self.assertEqual(status, 200)
        self.assertIn(b"watch/watch.js", body)
        # Only this page may talk to the Janus edge's origin.
        self.assertEqual(headers["Content-Security-Policy"],
                         "default-src 'self'; connect-src 'self' "
                         "http://127.0.0.1:18088; style-src 'self'; "
                         "img-src 'self' data:; media-src 'self' blob:")
        self.assertNotIn("18088", self.get(url)[1]["Content-Security-Policy"])
        status, headers, body = self.get(url + "watch/config")
        self.assertEqual(json.loads(body), {
            "janus": ["http://127.0.0.1:18088/janus", "/janus"],
            "mountpoint": 7})
        for path in ("watch/watch.js", "watch/watch.css"):
            self.assertEqual(self.get(url + path)[0], 200, path)
        if os.path.exists(JANUS_JS):
            status, headers, body = self.get(url + "watch/janus.js")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
            self.assertTrue(b"Janus.init = " in body, "not janus.js")
        self.assertEqual(self.get(url + "watch/nope")[0], 404)
        # /watch/ would break the page's relative URLs: back to /watch.
        c = urllib.request.build_opener(NoRedirect)
        try:
            c.open(url + "watch/", timeout=5)
            self.fail("no redirect")
        except urllib.error.HTTPError as e:
            self.assertEqual((e.code, e.headers["Location"]), (302, "../watch"))

    def test_no_watch_page_without_janus_url(self):
        p, url = self.start_server("--quiet")
        status, headers, body = self.get(url + "watch")
        self.assertEqual(status, 404)
        self.assertIn(b"--janus-url", body)
        self.assertEqual(json.loads(self.get(url + "status")[2])["janus"], [])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


if __name__ == "__main__":
    unittest.main()
