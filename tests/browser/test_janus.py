"""Spectators through Janus (issue 16): vizstream-demo -> vizstream-server
--janus-rtp -> a private Janus (scripts/janus.sh: Streaming plugin, HTTP
transport) -> spectators' pages (/watch, janus.js) in headless Chromium,
while the controller keeps the direct page. All in a network namespace:
loopback, and a veth pair whose address Janus offers (Janus gathers no ICE
candidate on a loopback interface). A small demo (320x240, 15 fps) keeps
four decoding pages light. Run one: test_janus.py JanusTest.test_two_edges."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_browser import BrowserTestCase, enter_namespace, vztest  # noqa: E402

JANUS_SH = os.path.join(vztest.SOURCE, "scripts", "janus.sh")
JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
JW, JH = 320, 240
ICE = "10.79.0.1"


def free_udp_pair():
    """An even UDP port whose next one is free too (RTP, RTCP)."""
    while True:
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        if port % 2 or port > 65000:
            a.close()
            continue
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            pass
        finally:
            a.close()
            b.close()


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class JanusTest(BrowserTestCase):
    start_demo = False

    def setUp(self):
        if shutil.which("janus") is None or not os.path.exists(JANUS_JS):
            self.skipTest("janus or libjs-janus-gateway not installed "
                          "(scripts/install-deps.sh)")
        super().setUp()
        # The address Janus offers spectators, on an interface that is not
        # loopback (a veth pair, both ends here).
        for cmd in (["ip", "link", "add", "vzj0", "type", "veth", "peer",
                     "name", "vzj1"],
                    ["ip", "addr", "add", ICE + "/24", "dev", "vzj0"],
                    ["ip", "link", "set", "vzj0", "up"],
                    ["ip", "link", "set", "vzj1", "up"]):
            subprocess.run(cmd, check=True, capture_output=True)
        self.demo = self.procs.start(
            [vztest.DEMO, "--segment", self.segment, "--size",
             "%dx%d" % (JW, JH), "--fps", "15", "--tags", "--quiet",
             "--print-events"],
            stdout=self.events_file, stderr=subprocess.DEVNULL)
        self.janus = {}

    def tearDown(self):
        super().tearDown()
        subprocess.run(["ip", "link", "del", "vzj0"], capture_output=True)

    def start_janus(self, name, rtp_port=None, http_port=None, codec="h264"):
        """A private Janus with mountpoint 1 fed on rtp_port; returns its
        API URL. start_janus(name) again restarts it on the same ports."""
        if name in self.janus:
            cmd = self.janus[name]["cmd"]
            url = self.janus[name]["url"]
            codec = self.janus[name]["codec"]
        else:
            http_port = http_port or free_tcp_port()
            cmd = [JANUS_SH, os.path.join(self.tmp.name, "janus-" + name),
                   str(http_port), str(rtp_port), "127.0.0.1"]
            url = "http://127.0.0.1:%d/janus" % http_port
        log = open(os.path.join(self.tmp.name, "janus-%s.out" % name), "a")
        proc = self.procs.start(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, JANUS_ICE=ICE,
                                         JANUS_CODEC=codec))
        log.close()
        self.janus[name] = {"cmd": cmd, "url": url, "proc": proc,
                            "codec": codec}

        def answers():
            try:
                with urllib.request.urlopen(url + "/info", timeout=2) as r:
                    return json.load(r).get("janus") == "server_info"
            except OSError:
                self.assertIsNone(proc.poll(), "janus.sh exited")
                return False
        self.wait("janus %s answers" % name, answers, 20)
        return url

    def status(self):
        req = urllib.request.Request(self.url + "status")
        if getattr(self, "token", None):
            req.add_header("Authorization", "Bearer " + self.token)
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def frame(self, page):
        return self.browser.call("frame", page=page, rw=JW, rh=JH)["number"]

    def watch(self, page, query=""):
        self.open(page, "watch" + query)

    def edges(self):
        return self.status()["janus"]

    def test_four_spectators_one_controller(self):
        """Four spectators' pages through one Janus decode the demo's
        frames; the server keeps one encode and one viewer (the
        controller), whose input still reaches the renderer."""
        rtp = free_udp_pair()
        url = self.start_janus("a", rtp)
        token = os.path.join(self.tmp.name, "token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        os.chmod(token, 0o600)
        self.token = "s3cret"
        self.start_server("--janus-rtp", "127.0.0.1:%d" % rtp,
                          "--janus-url", url, "--token-file", token)
        t0 = time.monotonic()
        self.open("c", "#token=s3cret")
        for i in range(4):
            self.watch("s%d" % i, "?stats#token=s3cret" if i == 0 else "")
        self.wait_frames("c")
        for i in range(4):
            first, second = self.wait_frames("s%d" % i, 30)
            print("spectator %d: frames %d -> %d" % (i, first, second))
            self.assertGreater(second, first)
        print("four spectators decoding %.1f s after the pages opened"
              % (time.monotonic() - t0))
        st = self.status()
        self.assertEqual(len(st["viewers"]), 1)          # the controller only
        self.assertEqual(len(st["variants"]), 1)         # one encode
        edge = st["janus"][0]
        print("edge:", json.dumps(edge))
        self.assertEqual(edge["state"], "sending")
        self.assertGreater(edge["packets"], 100)
        # Janus asked for key frames (a PLI as each spectator starts), on
        # the socket the server sent its RTCP from.
        self.assertGreaterEqual(edge["key_requests"], 1)
        stats = self.wait("spectator stats", lambda: self.browser.js(
            "s0", "window.vizstream.stats.codec && window.vizstream.stats"))
        self.assertEqual(stats["codec"], "video/H264")
        self.assertEqual((stats["width"], stats["height"]), (JW, JH))
        self.assertEqual(self.browser.js("s0", "window.vizstream.role"), "view")
        # The controller drives the renderer as before.
        self.wait("role", lambda: self.role("c") == "control")
        self.wait("input channel", lambda: self.browser.js(
            "c", "window.vizstream.inputOpen"))
        self.browser.call("mouse", page="c", action="click", x=0.25, y=0.5)
        ev = self.wait("click at the renderer", lambda: [
            e for e in self.demo_events() if e["event"] == "MouseButtonRelease"], 10)
        self.assertAlmostEqual(ev[0]["x"], 0.25 * JW, delta=2)
        # ... and the spectators see its effect: the events counter the
        # demo draws, read from a spectator's picture.
        self.wait("events counter on a spectator's picture", lambda: (
            self.browser.call("frame", page="s1", rw=JW, rh=JH)["events"] or 0) >= 2, 10)
        # A spectator with the token takes control: its link leads to the
        # direct page, the token in the fragment (gone from its own address).
        self.assertEqual(self.browser.js("s0", "location.hash"), "")
        self.assertTrue(self.browser.js("s0", "document.getElementById("
                                        "'take-control').href").endswith("/#token=s3cret"))
        self.assertTrue(self.browser.js("s1", "document.getElementById("
                                        "'take-control').href").endswith("/"))
        self.browser.call("close", page="c")
        self.browser.js("s0", "document.getElementById('take-control').click(), true")
        def role():
            try:
                return self.browser.js("s0", "window.vizstream && window.vizstream.role")
            except RuntimeError:        # navigating
                return None
        self.wait("the spectator controls on the direct page",
                  lambda: role() == "control", 20)
        self.wait_frames("s0")

    def test_two_edges(self):
        """One encode to two Janus instances at once; each serves pages."""
        rtp_a, rtp_b = free_udp_pair(), free_udp_pair()
        while rtp_b in (rtp_a, rtp_a + 1, rtp_a - 1):
            rtp_b = free_udp_pair()
        url_a = self.start_janus("a", rtp_a)
        url_b = self.start_janus("b", rtp_b)
        self.start_server("--janus-rtp", "127.0.0.1:%d" % rtp_a,
                          "--janus-rtp", "127.0.0.1:%d" % rtp_b,
                          "--janus-url", url_a, "--janus-url", url_b,
                          "--janus-mountpoint", "1")
        self.watch("a", "?edge=1")
        self.watch("b", "?edge=2")
        for page, url in (("a", url_a), ("b", url_b)):
            first, second = self.wait_frames(page, 30)
            self.assertGreater(second, first)
            self.assertEqual(self.browser.js(page, "window.vizstream.edge"), url)
        edges = self.edges()
        print("edges:", json.dumps(edges))
        self.assertEqual([e["state"] for e in edges], ["sending", "sending"])
        self.assertTrue(all(e["key_requests"] >= 1 for e in edges), edges)
        # One encode feeds both.
        self.assertEqual(len(self.status()["variants"]), 1)
        # The page's policy lets it reach both edges, and only its own.
        with urllib.request.urlopen(self.url + "watch", timeout=5) as r:
            csp = r.headers["Content-Security-Policy"]
        self.assertIn("connect-src 'self' %s %s;" % (url_a[:-len("/janus")],
                                                    url_b[:-len("/janus")]), csp)

    def test_vp8_spectator(self):
        """--codec vp8: the edge gets the VP8 encode as it is (no second
        encode), which a VP8 mountpoint plays."""
        rtp = free_udp_pair()
        url = self.start_janus("a", rtp, codec="vp8")
        self.start_server("--codec", "vp8", "--janus-rtp", "127.0.0.1:%d" % rtp,
                          "--janus-url", url)
        self.watch("s")
        first, second = self.wait_frames("s", 30)
        self.assertGreater(second, first)
        stats = self.wait("spectator stats", lambda: self.browser.js(
            "s", "window.vizstream.stats.codec && window.vizstream.stats"))
        self.assertEqual(stats["codec"], "video/VP8")
        self.assertEqual(self.status()["encoder"], "vp8enc")
        self.assertGreaterEqual(self.edges()[0]["key_requests"], 1)

    def test_janus_restart(self):
        """Janus killed and restarted mid-stream: the spectators' pages
        come back by themselves (no reload), the controller never stops."""
        rtp = free_udp_pair()
        url = self.start_janus("a", rtp)
        self.start_server("--janus-rtp", "127.0.0.1:%d" % rtp,
                          "--janus-url", url)
        self.open("c")
        self.watch("s0")
        self.watch("s1")
        self.wait_frames("c")
        for page in ("s0", "s1"):
            self.wait_frames(page, 30)
            self.browser.js(page, "window.keptAcrossRestart = true")
        samples = []

        def sample(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                n = self.frame("c")
                if n:
                    samples.append((time.monotonic(), n))
                time.sleep(0.2)
        sample(1)
        self.procs.stop(self.janus["a"]["proc"], signal.SIGKILL)
        sample(3)
        self.assertIsNone(self.server.poll())
        t0 = time.monotonic()
        self.start_janus("a")
        for page in ("s0", "s1"):
            end = time.monotonic() + 40
            before = None
            while True:
                self.assertLess(time.monotonic(), end,
                                "%s did not come back: %s" % (page, self.browser.js(
                                    page, "JSON.stringify(window.vizstream)")))
                sample(0.5)
                n = self.frame(page)
                if n and before and n > before and n > samples[-1][1] - 30:
                    break
                before = n or before
            self.assertTrue(self.browser.js(page, "window.keptAcrossRestart === true"))
            self.assertGreaterEqual(self.browser.js(page, "window.vizstream.reconnects"), 1)
        print("spectators back %.1f s after Janus restarted" % (time.monotonic() - t0))
        sample(1)
        # The controller's picture moved all along: never 1 s without a
        # new frame.
        last_t, last_n = samples[0]
        for t, n in samples[1:]:
            if n > last_n:
                last_t, last_n = t, n
            self.assertLess(t - last_t, 1.0, samples)
        self.assertEqual(self.role("c"), "control")
        self.assertEqual(self.edges()[0]["state"], "sending")


if __name__ == "__main__":
    enter_namespace()
    unittest.main()
