"""Who controls, and the server's secrets (issue 15, items 1, 2 and 9),
without a browser: viewers speak the signalling protocol over /ws with the
MJPEG transport (no WebRTC needed to be given a role).

- every --control policy with and without a token (the table in
  docs/server.md, "Control"): with a token only its holders control; a
  viewer alone without the token watches; a wrong token is told so and
  never controls on that connection;
- the token from a 0600 file or $VIZSTREAM_TOKEN, refused from a file
  others can read; --token on the command line warns;
- /status wants the token (or the status token) and never shows an RTMP
  stream key, nor does the log;
- joins, leaves and refusals are one log line each; --quiet drops them.

The page's side (the token leaves the address bar) is
browser-token_gives_control (tests/browser/test_browser.py)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import vztest  # noqa: E402
from test_security import WebSocket  # noqa: E402

SERVER = vztest.SERVER
TOKEN = "4f1c0ffee-token"


class Viewer:
    """A viewer on /ws: its role as the server last said, its errors."""

    def __init__(self, test, token=None, view_only=False):
        self.ws = WebSocket(test.host, test.port)
        test.assertEqual(self.ws.status, 101)
        test.addCleanup(self.ws.close)
        hello = {"type": "hello", "transport": "mjpeg", "view_only": view_only}
        if token is not None:
            hello["token"] = token
        self.ws.send(json.dumps(hello))
        self.role, self.errors, self.closed = None, [], False
        self.pump(1.0)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                self.ws.sock.settimeout(max(0.05, end - time.monotonic()))
                op, data = self.ws.recv()
                if op == 8:
                    self.closed = True
                    return self
                if op != 1:
                    continue
                m = json.loads(data)
                if m["type"] == "role":
                    self.role = m["role"]
                elif m["type"] == "error":
                    self.errors.append(m["message"])
        except TimeoutError:
            pass
        except (EOFError, ConnectionError):
            self.closed = True
        return self

    def leave(self):
        self.ws.close()


class ControlTest(vztest.ProcessTestCase):
    def start(self, *args, quiet=True, env=None, expect_start=True):
        self.segment = vztest.unique_segment("ctl")
        self.procs.start([vztest.DEMO, "--segment", self.segment, "--size",
                          "160x120", "--fps", "15", "--quiet"])
        self.log = os.path.join(self.tmp.name, "server-%d.log" % time.monotonic_ns())
        with open(self.log, "w") as log:
            self.server = self.procs.start(
                [SERVER, "--segment", self.segment, "--port", "0"] +
                (["--quiet"] if quiet else []) + list(args),
                stdout=subprocess.PIPE, stderr=log, text=True,
                env=dict(os.environ, **(env or {})))
        line = self.server.stdout.readline()
        m = re.search(r"serving http://([\d.]+):(\d+)/", line)
        if not expect_start:
            return self.server.wait(10)
        self.assertTrue(m, "the server did not start: %r %s" % (line, self.read_log()))
        self.host, self.port = m.group(1), int(m.group(2))

    def read_log(self):
        with open(self.log) as f:
            return f.read()

    def secret_file(self, text, mode=0o600):
        path = os.path.join(self.tmp.name, "secret-%d" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, mode)
        return path

    def roles(self, *viewers, settle=0.6):
        for v in viewers:
            v.pump(settle / len(viewers))
        return "".join({"control": "C", "view": "."}.get(v.role, "?")
                       for v in viewers)

    def status(self, token=None):
        req = urllib.request.Request("http://%s:%d/status" % (self.host, self.port))
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()

    # ---- the policies (docs/server.md, "Control") ----

    def test_first_without_token(self):
        self.start()
        a = Viewer(self)
        b = Viewer(self)
        w = Viewer(self, view_only=True)
        self.assertEqual(self.roles(a, b, w), "C..")
        a.leave()
        self.assertEqual(self.roles(b, w, settle=1.0), "C.")

    def test_first_with_token_only_holders_control(self):
        self.start("--token-file", self.secret_file(TOKEN))
        a = Viewer(self)
        self.assertEqual(self.roles(a), ".", "alone without the token: view only")
        wrong = Viewer(self, token="not-" + TOKEN)
        self.assertIn("the token is not valid: view only", wrong.errors)
        t1 = Viewer(self, token=TOKEN)
        t2 = Viewer(self, token=TOKEN)
        self.assertEqual(self.roles(a, wrong, t1, t2), "..C.")
        t1.leave()
        self.assertEqual(self.roles(a, wrong, t2, settle=1.0), "..C")
        t2.leave()
        # Nobody with the token: nobody controls, the wrong one neither.
        self.assertEqual(self.roles(a, wrong, settle=1.0), "..")
        # A second hello on the wrong connection changes nothing.
        wrong.ws.send(json.dumps({"type": "hello", "token": TOKEN,
                                  "transport": "mjpeg"}))
        self.assertEqual(self.roles(a, wrong, settle=1.0), "..")
        self.assertIn("hello: already said", wrong.errors)

    def test_all_without_token(self):
        self.start("--control", "all")
        a, b, w = Viewer(self), Viewer(self), Viewer(self, view_only=True)
        self.assertEqual(self.roles(a, b, w), "CC.")

    def test_all_with_token(self):
        self.start("--control", "all", env={"VIZSTREAM_TOKEN": TOKEN})
        a = Viewer(self)
        t1, t2 = Viewer(self, token=TOKEN), Viewer(self, token=TOKEN)
        o = Viewer(self, token=TOKEN, view_only=True)
        self.assertEqual(self.roles(a, t1, t2, o), ".CC.")

    def test_token_policy(self):
        self.start("--control", "token", "--token-file", self.secret_file(TOKEN))
        a = Viewer(self)
        self.assertEqual(self.roles(a), ".")
        t = Viewer(self, token=TOKEN)
        self.assertEqual(self.roles(a, t), ".C")

    def test_none_with_and_without_token(self):
        self.start("--control", "none", "--token-file", self.secret_file(TOKEN))
        a, t = Viewer(self), Viewer(self, token=TOKEN)
        self.assertEqual(self.roles(a, t), "..")

    # ---- secrets ----

    def test_token_file_env_and_command_line(self):
        loose = self.secret_file(TOKEN, 0o644)
        rc = self.start("--token-file", loose, expect_start=False)
        self.assertEqual(rc, 2)
        self.assertIn("is open to other users (mode 0644): chmod 600 it",
                      self.read_log())
        rc = self.start("--token-file", self.secret_file(TOKEN),
                        env={"VIZSTREAM_TOKEN": TOKEN}, expect_start=False)
        self.assertEqual(rc, 2)
        self.assertIn("given more than once", self.read_log())
        self.start("--token", TOKEN)
        self.assertIn("--token on the command line is visible to every local "
                      "user", self.read_log())
        self.assertEqual(self.roles(Viewer(self, token=TOKEN)), "C")

    def test_status_wants_the_token_and_hides_stream_keys(self):
        key = "s3cretStreamKey"
        self.start("--token-file", self.secret_file(TOKEN),
                   "--status-token-file", self.secret_file("monitor-token"),
                   "--rtmp", "rtmp://127.0.0.1:9/live/" + key, quiet=False)
        for token in (None, "wrong", TOKEN[:-1]):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                self.status(token)
            self.assertEqual(cm.exception.code, 401)
            self.assertIn("Bearer", cm.exception.headers["WWW-Authenticate"])
        # Port 9 refuses: the push fails and says why; neither the status
        # nor the log may show the key.
        deadline = time.monotonic() + 15
        while True:
            st = json.loads(self.status(TOKEN))
            if st["rtmp"][0]["last_error"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(st["rtmp"][0]["url"], "rtmp://127.0.0.1:9/live/***")
        self.assertTrue(st["rtmp"][0]["last_error"], "the push never failed")
        self.assertNotIn(key, self.status(TOKEN))
        self.assertNotIn(key, self.status("monitor-token"))
        self.assertIn("rtmp rtmp://127.0.0.1:9/live/***", self.read_log())
        self.assertNotIn(key, self.read_log())

    def test_status_open_without_a_token(self):
        self.start()
        self.assertIn('"viewers"', self.status())

    # ---- the log ----

    def test_joins_leaves_and_refusals_one_line_each(self):
        self.start("--token-file", self.secret_file(TOKEN), "--max-viewers", "2",
                   quiet=False)
        t = Viewer(self, token=TOKEN)
        w = Viewer(self, token="nope")
        refused = WebSocket(self.host, self.port)
        self.assertEqual(refused.status, 503)
        refused.close()
        t_port = t.ws.sock.getsockname()[1]
        t.leave()
        w.leave()
        time.sleep(1.0)
        log = self.read_log()
        lines = log.splitlines()
        self.assertNotIn("", lines, "a line with nothing on it (journald keeps it)")
        want = [
            r"^vizstream-server: viewer \d+ \(127\.0\.0\.1:%d\) joined over mjpeg, "
            r"controlling$" % t_port,
            r"^vizstream-server: viewer \d+ \(127\.0\.0\.1:\d+\) presented a wrong "
            r"token: view only$",
            r"^vizstream-server: viewer \d+ \(127\.0\.0\.1:\d+\) joined over mjpeg, "
            r"view only$",
            r"^vizstream-server: refused a viewer from 127\.0\.0\.1:\d+: too many "
            r"viewers \(see --max-viewers\)$",
            r"^vizstream-server: viewer \d+ \(127\.0\.0\.1:%d\) left$" % t_port,
        ]
        for pattern in want:
            self.assertTrue([x for x in lines if re.search(pattern, x)],
                            "no line like %r in:\n%s" % (pattern, log))
        self.assertNotIn(TOKEN, log)
        # --quiet: none of that.
        self.start("--quiet")
        Viewer(self).leave()
        time.sleep(0.5)
        self.assertNotIn("joined", self.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
