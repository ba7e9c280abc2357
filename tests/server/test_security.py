"""docs/security.md, claim by claim: each test tries to break one.

- another local user cannot read the frames nor write events (mode 0600);
- the server listens on 127.0.0.1 only unless told otherwise;
- a WebSocket from a page of another origin is refused before the upgrade;
- a signalling message over --max-message closes that connection only;
- malformed signalling gets an error, and only that connection hears it.
(View-only pages, tokens, the viewer cap and the input rate limit are
tried in tests/browser/test_browser.py with a real browser.)"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import base64
import json
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import vztest  # noqa: E402

SERVER = vztest.SERVER
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class WebSocket:
    """Just enough of RFC 6455 for a client that misbehaves on purpose."""

    def __init__(self, host, port, origin=None, path="/ws"):
        self.sock = socket.create_connection((host, port), 5)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n" % (path, host, port, key))
        if origin:
            req += "Origin: %s\r\n" % origin
        self.sock.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split(b" ", 2)[1]) if head else 0

    def send(self, payload, opcode=1):
        data = payload.encode() if isinstance(payload, str) else payload
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(hdr + mask + masked)

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def recv(self):
        """(opcode, payload) of the next frame; close frames too."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def pump(self, seconds, out=None):
        """Reads what the server sends for a while, acknowledging video
        frames (binary messages, docs/server.md) as a page does, their
        pictures written to `out` if given. Returns (text messages,
        frames, closed)."""
        end = time.monotonic() + seconds
        texts, frames = [], 0
        try:
            while time.monotonic() < end:
                self.sock.settimeout(max(0.05, end - time.monotonic()))
                op, data = self.recv()
                if op == 1:
                    texts.append(json.loads(data))
                elif op == 2:
                    seq = struct.unpack("<I", data[4:8])[0]
                    try:
                        self.send(json.dumps({"type": "ack", "n": seq}))
                    except OSError:
                        pass  # closing: what it sent before still counts
                    if out:
                        out.write(data[24:])
                    frames += 1
                elif op == 8:
                    return texts, frames, True
        except TimeoutError:
            pass
        except (EOFError, ConnectionError):
            return texts, frames, True
        return texts, frames, False

    def messages(self, seconds):
        """Text messages (parsed) until a close frame or the time is up."""
        self.sock.settimeout(seconds)
        out, closed = [], None
        try:
            while True:
                op, data = self.recv()
                if op == 1:
                    out.append(json.loads(data))
                elif op == 8:
                    closed = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 0
                    break
        except socket.timeout:
            pass
        except (EOFError, ConnectionError):
            closed = -1  # dropped without a close frame
        return out, closed

    def close(self):
        self.sock.close()


class SecurityTest(vztest.ProcessTestCase):
    def start_server(self, *args):
        self.segment = vztest.unique_segment("sec")
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "320x240", "--fps", "30", "--tags", "--quiet"])
        p = self.procs.start([SERVER, "--segment", self.segment, "--port", "0",
                              "--quiet"] + list(args),
                             stdout=subprocess.PIPE, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/", p.stdout.readline())
        self.host, self.port = m.group(1), int(m.group(2))
        return p

    def status(self):
        with urllib.request.urlopen("http://%s:%d/status" % (self.host, self.port),
                                    timeout=5) as r:
            return json.load(r)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to become another user")
    def test_other_user_cannot_open_segment(self):
        seg = vztest.unique_segment("perm")
        ready = os.path.join(self.tmp.name, "ready")
        self.procs.start([vztest.TEST_PUBLISHER, "--segment", seg, "--size",
                          "64x48", "--fps", "30", "--ready-file", ready])
        self.wait_for_file(ready)
        mode = stat.S_IMODE(os.stat("/dev/shm/" + seg).st_mode)
        self.assertEqual(mode, 0o600)
        # Another user can neither read frames nor write events...
        for flags in ("os.O_RDONLY", "os.O_RDWR"):
            r = subprocess.run(NOBODY + [sys.executable, "-c",
                                         "import os; os.open('/dev/shm/%s', %s)"
                                         % (seg, flags)], capture_output=True,
                               text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("PermissionError", r.stderr)
        # ...and shmframesrc, run as that user, says why.
        env = dict(os.environ, GST_REGISTRY_1_0=os.path.join(self.tmp.name, "reg.bin"))
        os.chmod(self.tmp.name, 0o755)
        r = subprocess.run(NOBODY + ["gst-launch-1.0", "shmframesrc",
                                     "segment=" + seg, "num-buffers=1", "!",
                                     "fakesink"], capture_output=True,
                           text=True, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("belongs to another user", r.stdout + r.stderr)

    def test_listens_on_loopback_only(self):
        self.start_server()
        addrs = subprocess.run(["hostname", "-I"], capture_output=True,
                               text=True).stdout.split()
        addrs = [a for a in addrs if ":" not in a and not a.startswith("127.")]
        if not addrs:
            self.skipTest("no non-loopback IPv4 address here")
        with self.assertRaises(OSError):
            socket.create_connection((addrs[0], self.port), 2).close()
        socket.create_connection(("127.0.0.1", self.port), 2).close()

    def test_foreign_origin_refused(self):
        self.start_server()
        ws = WebSocket(self.host, self.port, origin="http://evil.example")
        self.assertEqual(ws.status, 403)
        ws.close()
        ws = WebSocket(self.host, self.port,
                       origin="http://%s:%d" % (self.host, self.port))
        self.assertEqual(ws.status, 101)
        ws.close()
        self.assertGreaterEqual(self.status()["rejected"], 1)

    def test_oversize_message_closes_that_connection_only(self):
        self.start_server("--max-message", "4096")
        good = WebSocket(self.host, self.port)
        good.send(json.dumps({"type": "hello", "transport": "mjpeg"}))
        msgs, _ = good.messages(1)
        self.assertIn("welcome", [m["type"] for m in msgs])
        bad = WebSocket(self.host, self.port)
        bad.send(json.dumps({"type": "hello", "token": "x" * 10000}))
        _, closed = bad.messages(5)
        # libsoup drops it (or says 1009, message too big)
        self.assertIn(closed, (1009, -1))
        bad.close()
        # The other connection is still served.
        good.send(json.dumps({"type": "ping", "t": 1}))
        msgs, closed = good.messages(1)
        self.assertIsNone(closed)
        self.assertIn("pong", [m["type"] for m in msgs])
        good.close()

    def test_malformed_signalling_answered_to_its_sender(self):
        self.start_server()
        other = WebSocket(self.host, self.port)
        other.send(json.dumps({"type": "hello", "transport": "mjpeg"}))
        other.messages(1)
        bad = WebSocket(self.host, self.port)
        for m in ('{"type":"ice","candidate":{},"sdpMLineIndex":[1]}',
                  '{"type":7}', 'null', '\xff\xfe', '{"type":"hello",'
                  '"transport":"carrier-pigeon"}'):
            bad.send(m)
        bad.send(b"\x00\x01", opcode=2)  # binary
        msgs, _ = bad.messages(2)
        errors = [m["message"] for m in msgs if m["type"] == "error"]
        self.assertGreaterEqual(len(errors), 6, errors)
        self.assertTrue(any("ice:" in e for e in errors), errors)
        self.assertTrue(any("transport" in e for e in errors), errors)
        msgs, _ = other.messages(1)
        self.assertFalse([m for m in msgs if m["type"] == "error"])
        # Twenty strikes and that connection is out.
        for _ in range(20):
            try:
                bad.send("{")
            except (BrokenPipeError, ConnectionResetError):
                break
        _, closed = bad.messages(5)
        self.assertEqual(closed, 1008)
        other.send(json.dumps({"type": "ping", "t": 1}))
        msgs, closed = other.messages(1)
        self.assertIsNone(closed)


if __name__ == "__main__":
    unittest.main()
