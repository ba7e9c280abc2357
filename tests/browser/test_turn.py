"""TURN and fixed ports (issue 15, items 4 and 5), inside a network
namespace with only loopback up, like test_browser.py (whose helpers these
tests use):

- TurnTest: Debian's coturn, started here with a private configuration
  (use-auth-secret), and a page that forces the relay (?relay=1): with the
  server's per-viewer credential, frames arrive, a click reaches the
  renderer, and the media takes the relay (the page's selected candidate
  pair; coturn's allocation for that viewer's username); with a secret
  that is not coturn's, the page says TURN refused the credentials and the
  server's log says so, within seconds.
- PortsTest (signalling only, no browser: the candidates the server
  offers and its refusals are all on the WebSocket): with --udp-ports,
  every candidate the server offers has its port in the range; a viewer
  more than the range holds is refused at once, saying why; when a viewer
  leaves, the next one gets its port; the server listens on nothing but
  the range and its HTTP port.

Run one: test_turn.py TurnTest.test_relay_only_page_with_minted_credentials"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import vztest  # noqa: E402
from test_browser import BrowserTestCase, W, H, enter_namespace  # noqa: E402
from test_security import WebSocket  # noqa: E402

SCALE = float(os.environ.get("VZ_TEST_TIME_SCALE", "1"))
# Fixed ports are safe here: the namespace is this test's alone.
TURN_PORT = 13478
TURN_URL = "turn://127.0.0.1:%d" % TURN_PORT


class TurnTest(BrowserTestCase):
    SECRET = "coturn-and-vizstream-share-this"

    def start_coturn(self, secret):
        if shutil.which("turnserver") is None:
            self.skipTest("turnserver (Debian's coturn) not installed")
        self.turn_log = os.path.join(self.tmp.name, "coturn.log")
        log = open(self.turn_log, "w")
        self.addCleanup(log.close)
        # -n: no configuration file; nothing outside this test's directory.
        self.procs.start(
            ["turnserver", "-n", "--listening-ip=127.0.0.1",
             "--listening-port=%d" % TURN_PORT, "--relay-ip=127.0.0.1",
             "--use-auth-secret", "--static-auth-secret=" + secret,
             "--realm=vizstream-test", "--min-port=40000", "--max-port=40100",
             "--no-cli", "--no-tls", "--no-dtls", "--allow-loopback-peers",
             "--log-file=stdout", "-v",
             "--pidfile=" + os.path.join(self.tmp.name, "coturn.pid"),
             "--userdb=" + os.path.join(self.tmp.name, "coturn.sqlite")],
            stdout=log, stderr=subprocess.STDOUT)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", TURN_PORT), 1).close()
                return True
            except OSError:
                return False
        self.wait("coturn listening", listening, 10 * SCALE, 0.05)

    def secret_file(self, secret):
        path = os.path.join(self.tmp.name, "turn-secret")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (secret + "\n").encode())
        os.close(fd)
        return path

    def coturn_log(self):
        with open(self.turn_log) as f:
            return f.read()

    def server_log_text(self):
        with open(self.server_log.name) as f:
            return f.read()

    def test_relay_only_page_with_minted_credentials(self):
        self.start_coturn(self.SECRET)
        self.start_server("--turn", TURN_URL, "--turn-secret-file",
                          self.secret_file(self.SECRET), "--turn-ttl", "600")
        t0 = time.time()
        self.open("a", "?relay=1")
        self.wait_frames("a")
        # The media goes through coturn: the page's end of the selected
        # pair is its relayed address.
        pair = self.wait("selected candidate pair", lambda: self.browser.js(
            "a", "window.vizstream.selectedPair"), 10 * SCALE)
        print("selected pair:", pair)
        self.assertEqual(pair["local"], "relay")
        # Input comes back through the relay too (the data channel).
        self.wait("role", lambda: self.role("a") == "control")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        self.browser.call("mouse", page="a", action="click", x=0.25, y=0.5)
        press = self.wait("click at the renderer", lambda: [
            e for e in self.demo_events() if e["event"] == "MouseButtonPress"],
            10 * SCALE)
        self.assertAlmostEqual(press[0]["x"], 0.25 * W, delta=2)
        self.assertAlmostEqual(press[0]["y"], 0.5 * H, delta=2)
        # coturn allocated for this viewer's REST username: EXPIRY:viewer-1,
        # EXPIRY = now + --turn-ttl.
        log = self.coturn_log()
        m = re.search(r"user <(\d+):viewer-1>: incoming packet ALLOCATE "
                      r"processed, success", log)
        self.assertTrue(m, log[-3000:])
        self.assertAlmostEqual(int(m.group(1)), t0 + 600, delta=60)
        self.assertNotIn("no relay address", self.server_log_text())

    def test_wrong_secret_said_in_page_and_log(self):
        self.start_coturn(self.SECRET)
        self.start_server("--turn", TURN_URL, "--turn-secret-file",
                          self.secret_file("not-the-secret-of-coturn"))
        t0 = time.monotonic()
        self.open("a", "?relay=1")

        def page_says():
            text = self.browser.js(
                "a", "document.getElementById('message').textContent")
            return "TURN refused the credentials" in text and text
        said = self.wait("the page's message", page_says, 10 * SCALE, 0.1)
        print("page says %r after %.1f s" % (said, time.monotonic() - t0))
        logged = self.wait("the server's log", lambda: re.search(
            r"viewer 1: no relay address from the TURN server "
            r"turn:127\.0\.0\.1:%d: it refused the credentials" % TURN_PORT,
            self.server_log_text()), 10 * SCALE, 0.1)
        print("server log: %s (%.1f s)" % (logged.group(0),
                                          time.monotonic() - t0))
        self.assertIn("error 401", self.coturn_log())
        self.assertFalse(self.browser.js("a", "window.vizstream.connected"))


class PortsTest(vztest.ProcessTestCase):
    LOW, HIGH = 50000, 50001

    def setUp(self):
        super().setUp()
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        self.segment = vztest.unique_segment("ports")
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "320x240", "--fps", "30", "--quiet"])
        self.log = os.path.join(self.tmp.name, "server.log")
        log = open(self.log, "w")
        self.addCleanup(log.close)
        # Negotiations that never finish must outlast the test.
        self.server = server = self.procs.start(
            [vztest.SERVER, "--segment", self.segment, "--port", "0",
             "--ice-address", "127.0.0.1", "--negotiation-timeout", "120",
             "--udp-ports", "%d-%d" % (self.LOW, self.HIGH)],
            stdout=subprocess.PIPE, stderr=log, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/", server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.host, self.port = m.group(1), int(m.group(2))

    def viewers(self):
        with urllib.request.urlopen("http://%s:%d/status" % (self.host, self.port),
                                    timeout=5) as r:
            return len(json.load(r)["viewers"])

    def join(self, seconds=3.0):
        """A WebRTC viewer that says hello and never answers: its messages
        until it has the offer and its host candidates (UDP and ICE-TCP),
        is closed, or the time is up."""
        ws = WebSocket(self.host, self.port)
        ws.send(json.dumps({"type": "hello", "transport": "webrtc"}))
        msgs, closed = [], None
        end = time.monotonic() + seconds * SCALE
        while time.monotonic() < end:
            ws.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                op, data = ws.recv()
            except socket.timeout:
                break
            except (EOFError, ConnectionError):
                closed = (-1, "")
                break
            if op == 1:
                msgs.append(json.loads(data))
            elif op == 8:
                closed = (int.from_bytes(data[:2], "big"), data[2:].decode())
                break
            cands = [m for m in msgs if m["type"] == "ice"]
            if any(m["type"] == "offer" for m in msgs) and len(cands) >= 3:
                break
        return ws, msgs, closed

    def candidates(self, msgs):
        """(transport, port, type, tcptype) of every candidate the server
        offered: trickled, or in its SDP."""
        lines = [m["candidate"] for m in msgs if m["type"] == "ice"]
        for m in msgs:
            if m["type"] == "offer":
                lines += [l for l in m["sdp"].splitlines()
                          if l.startswith("a=candidate:")]
        out = []
        for line in lines:
            f = line.split()
            tcptype = f[f.index("tcptype") + 1] if "tcptype" in f else None
            out.append((f[2].upper(), int(f[5]), f[7], tcptype))
        return out

    def check_in_range(self, msgs):
        cands = self.candidates(msgs)
        self.assertTrue(any(c[0] == "UDP" for c in cands), msgs)
        for transport, port, _, tcptype in cands:
            # An active ICE-TCP candidate opens no port: 9 by RFC 6544.
            if tcptype == "active":
                self.assertEqual(port, 9)
            else:
                self.assertTrue(self.LOW <= port <= self.HIGH,
                                "candidate port %d out of --udp-ports" % port)
        return [c[1] for c in cands if c[0] == "UDP"][0]

    def test_candidates_in_range_and_refusal_when_full(self):
        a, msgs_a, closed = self.join()
        self.assertIsNone(closed)
        b, msgs_b, closed = self.join()
        self.assertIsNone(closed)
        port_a, port_b = self.check_in_range(msgs_a), self.check_in_range(msgs_b)
        print("viewer 1: %s\nviewer 2: %s" % (self.candidates(msgs_a),
                                              self.candidates(msgs_b)))
        self.assertNotEqual(port_a, port_b)
        # Nothing else listens: UDP sockets and TCP listeners are the
        # range's (ICE, ICE-TCP) and the HTTP port (no UPnP, no SSDP).
        ss = subprocess.run(["ss", "-Huatnlp"], capture_output=True,
                            text=True).stdout
        mine = [l.split() for l in ss.splitlines()
                if "pid=%d," % self.server.pid in l]
        ports = sorted({(f[0], int(f[4].rsplit(":", 1)[1])) for f in mine})
        print("the server listens on", ports)
        self.assertIn(("tcp", self.port), ports)
        for proto, port in ports:
            self.assertTrue(self.LOW <= port <= self.HIGH or (
                proto, port) == ("tcp", self.port), ports)

        # A third: the range holds two; it is told so at once.
        why = "no UDP ports left: --udp-ports %d-%d holds 2 viewers" % (
            self.LOW, self.HIGH)
        t0 = time.monotonic()
        c, msgs_c, closed = self.join(10)
        took = time.monotonic() - t0
        print("third viewer refused in %.2f s: %r" % (took, closed))
        self.assertEqual(closed, (1008, why))
        self.assertIn({"type": "error", "message": why}, msgs_c)
        self.assertEqual(self.candidates(msgs_c), [])
        self.assertLess(took, 2 * SCALE)
        c.close()
        with open(self.log) as f:
            self.assertRegex(f.read(), r"viewer 3 \(\S+\) left: " + re.escape(why))

        # The first leaves: its port goes to the next.
        a.close()
        self.wait_for_viewers(1)
        d, msgs_d, closed = self.join()
        self.assertIsNone(closed, msgs_d)
        self.assertEqual(self.check_in_range(msgs_d), port_a)
        b.close()
        d.close()

    def wait_for_viewers(self, n):
        end = time.monotonic() + 10 * SCALE
        while self.viewers() != n:
            self.assertLess(time.monotonic(), end, "viewers did not leave")
            time.sleep(0.05)


if __name__ == "__main__":
    enter_namespace()
    unittest.main()
