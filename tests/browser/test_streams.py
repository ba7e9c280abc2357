"""Several streams in Chromium (issue 19, items 1 and 3): real
vizstream-demo renderers, vizstream-server, headless Chromium, all in a
loopback-only network namespace (like test_browser.py).

- three streams behind one server, each page at /s/NAME/: each decodes
  its own renderer's frame numbers (at its renderer's size), and a click
  from each page reaches only its renderer; a stream whose pipeline fails
  is removed and its page says why and stops, the others go on;
- two servers behind one private nginx with docs/deploy.md's "Several
  machines" block: a page through /m1/ and one through /m2/s/NAME/.

Run one test: test_streams.py StreamsBrowserTest.test_three_streams."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from test_browser import enter_namespace  # noqa: E402
from test_broadcast import free_port  # noqa: E402
from test_security import WebSocket  # noqa: E402
from test_tls import TlsTest, serve  # noqa: E402
import vztest  # noqa: E402

SERVER = vztest.SERVER
# A size per renderer: a page decoding another's frames would misread.
SIZES = {"one": (480, 272), "two": (560, 320), "three": (640, 368)}


class StreamsBrowserTest(TlsTest):
    start_demo = False

    def demo(self, name):
        """A renderer for stream name (its size); its events file."""
        seg = vztest.unique_segment("bs" + name)
        path = os.path.join(self.tmp.name, "events-%s.jsonl" % name)
        f = open(path, "w")
        self.addCleanup(f.close)
        self.procs.start([vztest.DEMO, "--segment", seg, "--size",
                          "%dx%d" % SIZES[name], "--fps", "20", "--nodes",
                          "300", "--tags", "--quiet", "--print-events"],
                         stdout=f, stderr=subprocess.DEVNULL)
        self.event_files[name] = path
        return seg

    def setUp(self):
        super().setUp()
        self.event_files = {}

    def events_of(self, name):
        with open(self.event_files[name]) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def page_frames(self, page, name):
        """Two frame numbers 1 s apart, read at the renderer's size."""
        rw, rh = SIZES[name]
        read = lambda: self.browser.call("frame", page=page, rw=rw, rh=rh)["number"]  # noqa: E731
        first = self.wait("frames on %s" % page, read, 30)
        time.sleep(1.0)
        second = self.wait("more frames on %s" % page,
                           lambda: (read() or 0) > first and read(), 15)
        return first, second

    def check_page(self, page, name):
        """The page shows its renderer: its size, its frame numbers equal
        to those the server tagged; a click reaches its renderer only."""
        rw, rh = SIZES[name]
        first, second = self.page_frames(page, name)
        self.assertGreater(second, first)
        size = self.wait("video size on %s" % page, lambda: self.browser.js(
            page, "document.getElementById('video').videoWidth && "
            "[document.getElementById('video').videoWidth,"
            "document.getElementById('video').videoHeight]"))
        self.assertEqual(tuple(size), (rw, rh))
        self.browser.js(page, "window.vizstream.timing.clear(), true")
        self.browser.js(page, "document.getElementById('stats-toggle').click()")
        checks = [self.wait("frame timing on %s" % page, lambda: self.browser.call(
            "framecheck", page=page, rw=rw, rh=rh), 15) for _ in range(4)]
        self.assertTrue(any(p == t for p, t in
                            ((c["pixels"], c["tagged"]) for c in checks)), checks)
        self.assertTrue(all(0 <= c["pixels"] - c["tagged"] <= 4 for c in checks),
                        checks)

    def click_each(self, pages):
        """pages: page -> stream name. A click at a place of its own on
        each; each renderer gets exactly its page's click."""
        spots = [(0.2, 0.3), (0.5, 0.6), (0.8, 0.4)]
        for (page, name), (x, y) in zip(pages.items(), spots):
            self.wait("role on %s" % page, lambda: self.browser.js(
                page, "window.vizstream.role") == "control")
            self.wait("input on %s" % page, lambda: self.browser.js(
                page, "window.vizstream.inputOpen"))
            self.browser.call("mouse", page=page, action="click", x=x, y=y)
        for (page, name), (x, y) in zip(pages.items(), spots):
            self.wait("the click at %s's renderer" % name, lambda: [
                e for e in self.events_of(name) if e["event"] == "MouseButtonRelease"], 10)
        time.sleep(0.5)
        for (page, name), (x, y) in zip(pages.items(), spots):
            rw, rh = SIZES[name]
            press = [e for e in self.events_of(name) if e["event"] == "MouseButtonPress"]
            self.assertEqual(len(press), 1, "%s got %r" % (name, press))
            self.assertAlmostEqual(press[0]["x"], x * rw, delta=2)
            self.assertAlmostEqual(press[0]["y"], y * rh, delta=2)

    def test_three_streams(self):
        segs = {n: self.demo(n) for n in SIZES}
        self.server_log = open(os.path.join(self.tmp.name, "server.log"), "a")
        cmd = [SERVER, "--port", "0", "--ice-address", "127.0.0.1"]
        for n in SIZES:
            cmd += ["--segment", "%s=%s" % (n, segs[n])]
        self.server = self.procs.start(
            cmd, stdout=subprocess.PIPE, stderr=self.server_log, text=True,
            env=dict(os.environ, VIZSTREAM_TEST_HOOKS="1"))
        m = re.search(r"serving (http://\S+)", self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        base = m.group(1)
        # The list, then each stream's page from its link.
        self.browser.call("open", page="list", url=base)
        links = self.browser.js("list", "[...document.querySelectorAll("
                                "'#streams a')].map(a => a.href)")
        self.assertEqual(links, [base + "s/%s/" % n for n in SIZES])
        pages = {}
        for i, (n, link) in enumerate(zip(SIZES, links)):
            self.browser.call("open", page="p%d" % i, url=link)
            pages["p%d" % i] = n
        for page, name in pages.items():
            self.check_page(page, name)
        self.click_each(pages)

        # Stream three's pipeline fails: its page is told and stops; the
        # others keep showing their renderers.
        host, port = re.match(r"http://([\d.]+):(\d+)/", base).groups()
        ws = WebSocket(host, int(port), path="/s/three/ws")
        self.addCleanup(ws.close)
        ws.send(json.dumps({"type": "hello", "transport": "mjpeg"}))
        ws.send(json.dumps({"type": "test_error", "where": "pipeline"}))
        ended = self.wait("page p2 told", lambda: self.browser.js(
            "p2", "window.vizstream.ended"))
        self.assertIn("the stream failed", ended)
        self.assertIn("this stream has ended", self.browser.js(
            "p2", "document.getElementById('message').textContent"))
        reconnects = self.browser.js("p2", "window.vizstream.reconnects")
        for page in ("p0", "p1"):
            self.page_frames(page, pages[page])
        self.assertEqual(self.browser.js("p2", "window.vizstream.reconnects"),
                         reconnects, "an ended stream's page does not retry")
        self.assertIsNone(self.server.poll())

    def test_two_servers_behind_one_nginx(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            self.skipTest("nginx not installed")
        self.certificates("IP:127.0.0.1")
        ports = []
        for n in ("one", "two"):
            seg = self.demo(n)
            _, url = serve(self, "--segment", "%s=%s" % (n, seg), "--port",
                           "0", "--ice-address", "127.0.0.1")
            ports.append(int(url.rsplit(":", 1)[1].strip("/")))
        port = free_port()
        d, _ = self.deploy_nginx("nginx machines example", (
            ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % port),
            ("/etc/letsencrypt/live/viz.example.org/fullchain.pem", self.cert),
            ("/etc/letsencrypt/live/viz.example.org/privkey.pem", self.key),
            ("proxy_pass http://10.0.0.11:8080/;",
             "proxy_pass http://127.0.0.1:%d/;" % ports[0]),
            ("proxy_pass http://10.0.0.12:8080/;",
             "proxy_pass http://127.0.0.1:%d/;" % ports[1])))
        public = "https://127.0.0.1:%d" % port
        self.trusting_browser()
        # Machine 1's only stream at /m1 (redirected to /m1/); machine 2's
        # by its stream URL.
        self.browser.call("open", page="a", url=public + "/m1")
        self.assertEqual(self.browser.js("a", "location.href"), public + "/m1/")
        self.browser.call("open", page="b", url=public + "/m2/s/two")
        self.assertEqual(self.browser.js("b", "location.href"),
                         public + "/m2/s/two/")
        pages = {"a": "one", "b": "two"}
        for page, name in pages.items():
            self.check_page(page, name)
        self.click_each(pages)
        # Both WebSockets went through nginx (logged when they close).
        for page in pages:
            self.browser.call("close", page=page)

        def ws_logged():
            with open(os.path.join(d, "access.log")) as f:
                return sorted(re.findall(r'"GET (/m\d/\S*ws) HTTP/1.1" 101',
                                         f.read()))
        self.assertEqual(self.wait("the WebSockets in nginx's log", lambda:
                                   len(ws_logged()) == 2 and ws_logged(), 10),
                         ["/m1/ws", "/m2/s/two/ws"])


if __name__ == "__main__":
    enter_namespace()
    unittest.main()
