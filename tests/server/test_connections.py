"""docs/security.md, "Connections": a request has --request-timeout
seconds to arrive whole, a kept-alive connection --idle-timeout seconds to
send its next one, and one address holds at most
--max-connections-per-address connections; WebSocket and /mjpeg
connections count but outlive the timers. Refusals are logged, once and
then summed up. Descriptors are counted in /proc/PID/fd of the server."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import vztest  # noqa: E402
from test_security import WebSocket  # noqa: E402

SERVER = vztest.SERVER
FLOOD = 2000
CAP = 64
FLOODER = "127.0.0.2"  # all of 127/8 is loopback on Linux
PARTIAL = b"GET / HTTP/1.1\r\nHost: x"  # the headers never end


def slack(seconds):
    """A bound stretched by VZ_TEST_TIME_SCALE (ASan, valgrind runs)."""
    return seconds * max(1, int(os.environ.get("VZ_TEST_TIME_SCALE", "1")))


class ConnectionsTest(vztest.ProcessTestCase):
    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = FLOOD + 256
        if hard != resource.RLIM_INFINITY and hard < want:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))

    def start_server(self, *args):
        self.segment = vztest.unique_segment("conn")
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "160x120", "--fps", "10", "--quiet"])
        self.log_path = os.path.join(self.tmp.name, "server.log")
        self.log = open(self.log_path, "w")
        self.addCleanup(self.log.close)
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", "0"] + list(args),
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/",
                      self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.host, self.port = m.group(1), int(m.group(2))

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.server.pid))

    def settled_fds(self, timeout=5):
        """The server's descriptors once they stop changing."""
        last, end = self.fds(), time.monotonic() + timeout
        while time.monotonic() < end:
            time.sleep(0.3)
            now = self.fds()
            if now == last:
                return now
            last = now
        return last

    def wait(self, what, cond, timeout):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = cond()
            if last:
                return last
            time.sleep(0.05)
        self.fail("%s: not within %.1f s (last: %r)" % (what, timeout, last))

    def load_page(self, source="127.0.0.1"):
        """Seconds GET / takes, from connect to the last byte; raises if
        the server closes the connection without an answer."""
        t0 = time.monotonic()
        s = socket.create_connection((self.host, self.port), 5, (source, 0))
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                      % (self.host.encode(), self.port))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        took = time.monotonic() - t0
        if not data.startswith(b"HTTP/1.1 200") or b"<html" not in data.lower():
            raise ConnectionError("no page: %r" % data[:80])
        return took

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def tearDown(self):
        self.procs.stop_all()
        log = self.log_text() if hasattr(self, "log") else ""
        super().tearDown()
        self.assertNotRegex(log, r"CRITICAL|WARNING|ERROR")

    @staticmethod
    def closed_by_server(s, wait=0.0):
        """True when the server closed s (end of stream or reset)."""
        s.settimeout(wait)
        try:
            return s.recv(1024) == b""
        except (socket.timeout, BlockingIOError):
            return False
        except ConnectionError:
            return True

    def test_half_open_flood(self):
        timeout = 3
        self.start_server("--request-timeout", str(timeout), "--idle-timeout",
                          "30", "--max-connections-per-address", str(CAP))
        self.load_page()
        baseline = self.settled_fds()

        socks, t0 = [], time.monotonic()
        for _ in range(FLOOD):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((FLOODER, 0))
            s.settimeout(5)
            s.connect((self.host, self.port))
            try:
                s.send(PARTIAL)
            except ConnectionError:
                pass  # refused already
            socks.append(s)
        flood_s = time.monotonic() - t0
        for s in socks:
            self.addCleanup(s.close)

        # A page load from another address, once, right after the last
        # connect: it waits behind what the server has not accepted yet.
        took_right_after = self.load_page()
        during = self.fds()
        # The server takes each connection in (and closes all but CAP of
        # them) at once...
        self.wait("the server closes all but %d" % CAP, lambda: sum(
            not self.closed_by_server(s) for s in socks) <= CAP, slack(2))
        held = [s for s in socks if not self.closed_by_server(s)]
        self.assertEqual(len(held), CAP)
        # ...and a page load from another address, once, with the flood in.
        took = self.load_page()
        print("flood of %d half-open requests from %s: %.2f s; a page load "
              "right after it: %.1f ms, once the server has taken it in: "
              "%.1f ms; descriptors: %d before, %d during"
              % (FLOOD, FLOODER, flood_s, took_right_after * 1000,
                 took * 1000, baseline, during))
        self.assertLess(took, slack(0.1))
        self.assertLess(took_right_after, slack(1))
        self.assertLessEqual(during, baseline + CAP + 8)

        # ...and the others after --request-timeout: descriptors are back.
        end_of_flood = time.monotonic()
        self.wait("descriptors back to %d" % baseline,
                  lambda: self.fds() <= baseline, slack(timeout + 2))
        back_s = time.monotonic() - end_of_flood
        print("descriptors back to %d %.1f s after the flood (--request-"
              "timeout %d)" % (baseline, back_s, timeout))
        self.assertTrue(all(self.closed_by_server(s, 1) for s in held))
        # The address may connect again.
        self.load_page(FLOODER)

        # Logged: the first refusal and the first timeout in a line each,
        # then sums; every refused and every timed out connection counted.
        self.wait("the summaries", lambda: re.search(
            r"closed \d+ more connections from 127\.0\.0\.2",
            self.log_text()), slack(8))
        time.sleep(0.5)
        log = self.log_text()
        print(log)
        self.assertEqual(log.count("refused a connection from 127.0.0.2"), 1)
        self.assertEqual(log.count("closed a connection from 127.0.0.2"), 1)
        refused = 1 + sum(int(n) for n in re.findall(
            r"refused (\d+) more connections from 127\.0\.0\.2", log))
        timed_out = 1 + sum(int(n) for n in re.findall(
            r"closed (\d+) more connections from 127\.0\.0\.2", log))
        self.assertEqual((refused, timed_out), (FLOOD - CAP, CAP))
        self.assertLessEqual(log.count("127.0.0.2"), 6)
        self.assertNotIn("127.0.0.1", log)

    def test_quiet_logs_no_refusal(self):
        self.start_server("--max-connections-per-address", "2", "--quiet")
        socks = []
        for _ in range(5):
            s = socket.create_connection((self.host, self.port), 5)
            self.addCleanup(s.close)
            socks.append(s)
        self.wait("3 refused", lambda: sum(
            self.closed_by_server(s, 0.1) for s in socks) == 3, slack(3))
        self.assertEqual(self.log_text(), "")

    def keep_alive_request(self, s):
        """An answer that keeps the connection open (405 for OPTIONS)."""
        s.sendall(b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            self.assertTrue(chunk, "closed instead of answering")
            head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 405"), head)
        self.assertNotIn(b"connection: close", head.lower(),
                         "no kept-alive answer left to test the idle timeout")

    def test_idle_keep_alive_closed(self):
        idle = 3
        self.start_server("--request-timeout", "10", "--idle-timeout",
                          str(idle))
        self.load_page()
        baseline = self.settled_fds()

        # One that waits: closed after --idle-timeout, not before; a second
        # request starts the wait again.
        s = socket.create_connection((self.host, self.port), 5)
        self.addCleanup(s.close)
        self.keep_alive_request(s)
        time.sleep(1)
        self.keep_alive_request(s)
        t0 = time.monotonic()
        self.assertFalse(self.closed_by_server(s, idle - 0.5))
        self.assertTrue(self.closed_by_server(s, slack(2.5)))
        print("idle keep-alive connection closed %.1f s after its answer "
              "(--idle-timeout %d)" % (time.monotonic() - t0, idle))

        # One the client closes (libsoup 3.2 never closes its side): its
        # descriptor is back within --idle-timeout.
        c = socket.create_connection((self.host, self.port), 5)
        self.keep_alive_request(c)
        c.close()
        self.wait("descriptors back to %d" % baseline,
                  lambda: self.fds() <= baseline, slack(idle + 2))
        self.load_page()

    def test_websocket_and_mjpeg_outlive_the_timers(self):
        self.start_server("--request-timeout", "2", "--idle-timeout", "1",
                          "--max-connections-per-address", "3")
        ws = WebSocket(self.host, self.port,
                       "http://%s:%d" % (self.host, self.port))
        self.addCleanup(ws.close)
        self.assertEqual(ws.status, 101)
        ws.send(json.dumps({"type": "hello", "transport": "mjpeg"}))
        mjpeg = socket.create_connection((self.host, self.port), 5)
        self.addCleanup(mjpeg.close)
        mjpeg.sendall(b"GET /mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(4.5)  # both timers over, twice

        ws.send(json.dumps({"type": "ping", "t": 7}))
        msgs, closed = ws.messages(2)
        self.assertIsNone(closed)
        self.assertIn(7, [m.get("t") for m in msgs if m["type"] == "pong"])
        mjpeg.settimeout(5)
        got, end = b"", time.monotonic() + 1
        while time.monotonic() < end:  # parts still coming
            chunk = mjpeg.recv(1 << 20)
            self.assertTrue(chunk, "/mjpeg closed")
            got += chunk
        self.assertIn(b"--vizstreamframe", got)

        # Both count: with them a third connection is the last one allowed.
        self.load_page()
        extra = socket.create_connection((self.host, self.port), 5)
        self.addCleanup(extra.close)
        with self.assertRaises(ConnectionError):
            self.load_page()
        # The WebSocket closed, its place is free (extra, which has not sent
        # its request yet, still holds its own).
        ws.close()
        self.wait("a page once the WebSocket is closed", self._loads, 1)
        self.assertFalse(self.closed_by_server(extra))

    def _loads(self):
        try:
            self.load_page()
            return True
        except ConnectionError:
            return False


if __name__ == "__main__":
    unittest.main()
