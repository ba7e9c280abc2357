"""Several streams behind one vizstream-server (issue 19, item 1), without
a browser: real vizstream-demo renderers, the server, WebSocket and HTTP
clients.

- URLs: /s/NAME/ for each stream, / lists them, /status shows them all,
  /s/NAME/status one; an unknown stream is a 404; /s/NAME is redirected
  to /s/NAME/; each stream shows its own renderer (its size) and input
  from a stream's page reaches its renderer only;
- isolation: a hostile segment, a renderer killed and a pipeline error in
  three streams leave the fourth streaming; the failed one is removed and
  its page told why ({"type":"ended"});
- options: names, duplicates, one-stream options, a stream's own token.

The browser side is tests/browser/test_streams.py."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import struct
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
SIZES = {"a": (320, 240), "b": (352, 288), "c": (384, 256), "d": (256, 192)}


class StreamsTest(vztest.ProcessTestCase):
    def start(self, names, *args, demos=None, env=None, options=None):
        """A demo per name (of demos, default all), a server with a stream
        per name (options: name -> ",token-file=..." after its segment);
        returns the server process."""
        self.segments, self.demos, self.event_files = {}, {}, {}
        for n in names:
            self.segments[n] = vztest.unique_segment("st" + n)
            path = os.path.join(self.tmp.name, "events-%s.jsonl" % n)
            self.event_files[n] = path
            if demos is not None and n not in demos:
                continue
            f = open(path, "w")
            self.addCleanup(f.close)
            self.demos[n] = self.procs.start(
                [vztest.DEMO, "--segment", self.segments[n], "--size",
                 "%dx%d" % SIZES[n], "--fps", "30", "--tags", "--quiet",
                 "--print-events"], stdout=f)
        cmd = [SERVER, "--port", "0"]
        for n in names:
            cmd += ["--segment", "%s=%s%s" % (n, self.segments[n],
                                               (options or {}).get(n, ""))]
        self.log = open(os.path.join(self.tmp.name, "server.log"), "w+")
        self.addCleanup(self.log.close)
        self.server = self.procs.start(
            cmd + list(args), stdout=subprocess.PIPE, stderr=self.log,
            text=True, env=dict(os.environ, **(env or {})))
        line = self.server.stdout.readline()
        m = re.search(r"serving http://([\d.]+):(\d+)/", line)
        self.assertTrue(m, "the server did not start: %r" % line)
        self.host, self.port = m.group(1), int(m.group(2))
        return self.server

    def get(self, path, token=None):
        """(status, headers, body) of a GET, errors included, no redirects."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None
        req = urllib.request.Request("http://%s:%d%s" % (self.host, self.port,
                                                         path))
        if token:
            req.add_header("Authorization", "Bearer " + token)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def status(self, path="/status", token=None):
        code, _, body = self.get(path, token)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def wait(self, what, cond, timeout=15):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = cond()
            if last:
                return last
            time.sleep(0.1)
        self.fail("%s: not within %s s (last: %r)" % (what, timeout, last))

    def join(self, name, transport="ws", token=None):
        ws = WebSocket(self.host, self.port, path="/s/%s/ws" % name)
        self.assertEqual(ws.status, 101)
        self.addCleanup(ws.close)
        hello = {"type": "hello", "transport": transport}
        if token:
            hello["token"] = token
        ws.send(json.dumps(hello))
        return ws

    def demo_events(self, name):
        with open(self.event_files[name]) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def jpeg_size(self, data):
        """(width, height) from a JPEG's SOF marker."""
        i = 2
        while i < len(data):
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
        return None

    def test_urls_list_and_status(self):
        self.start(["a", "b", "c"])
        for n in "abc":
            self.wait("stream %s running" % n, lambda: self.status(
                "/s/%s/status" % n)["renderer"] == "connected")
        # / lists the streams, relative links.
        code, headers, body = self.get("/")
        self.assertEqual(code, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertEqual(re.findall(r'href="(s/[^"]+)"', body.decode()),
                         ["s/a/", "s/b/", "s/c/"])
        # /status: every stream, in order, each with its segment.
        st = self.status()
        self.assertEqual([s["name"] for s in st["streams"]], ["a", "b", "c"])
        self.assertEqual([s["segment"] for s in st["streams"]],
                         [self.segments[n] for n in "abc"])
        self.assertIn("rejected", st)
        # Each stream is its own renderer: its size, its snapshot.
        for n in "abc":
            one = self.status("/s/%s/status" % n)
            self.assertEqual(one["name"], n)
            self.assertEqual((one["source_width"], one["source_height"]),
                             SIZES[n])
            code, headers, jpeg = self.get("/s/%s/snapshot.jpg" % n)
            self.assertEqual(code, 200)
            self.assertEqual(self.jpeg_size(jpeg), SIZES[n])
            code, _, page = self.get("/s/%s/" % n)
            self.assertEqual(code, 200)
            self.assertIn(b'src="vizstream.js"', page)
        # /s/b is sent to /s/b/ (relative: it holds under a proxy's path).
        code, headers, _ = self.get("/s/b")
        self.assertEqual(code, 301)
        self.assertEqual(headers["Location"], "b/")
        # Unknown streams and the one-stream URLs at / are 404s that say so.
        for path in ("/s/nope/", "/s/nope/status", "/mjpeg", "/snapshot.jpg",
                     "/ws", "/s/"):
            code, _, body = self.get(path)
            self.assertEqual(code, 404, path)
            self.assertTrue(b"stream" in body, (path, body))
        self.assertEqual(self.get("/s/a/nothing-here")[0], 404)
        ws = WebSocket(self.host, self.port, path="/s/nope/ws")
        self.assertEqual(ws.status, 404)
        ws.close()
        ws = WebSocket(self.host, self.port, path="/ws")
        self.assertEqual(ws.status, 404)
        ws.close()

    def test_input_reaches_only_its_renderer(self):
        self.start(["a", "b", "c"])
        socks = {n: self.join(n, "mjpeg") for n in "abc"}
        for n, ws in socks.items():
            texts, _, _ = ws.pump(1.0)
            self.assertIn({"type": "role", "role": "control"},
                          [{"type": t["type"], "role": t.get("role")}
                           for t in texts if t["type"] == "role"], texts)
        # Each stream's viewer presses its own key.
        for n, ws in socks.items():
            ws.send(json.dumps({"type": "input", "data": json.dumps(
                {"event": "KeyPress", "key": n})}))
        for n in "abc":
            self.wait("%s's key at its renderer" % n, lambda: any(
                e["event"] == "KeyPress" for e in self.demo_events(n)))
        time.sleep(0.5)
        for n in "abc":
            keys = [e["key"] for e in self.demo_events(n)
                    if e["event"] == "KeyPress"]
            self.assertEqual(keys, [n], "renderer %s got %r" % (n, keys))
        st = self.status()
        self.assertEqual([len(s["viewers"]) for s in st["streams"]], [1, 1, 1])

    def test_failures_in_three_streams_leave_the_fourth(self):
        """a streams on; b reads a hostile segment; c's renderer is killed;
        d's pipeline fails (VIZSTREAM_TEST_HOOKS=1): d goes, with its page
        told why; a's viewer never stops getting frames."""
        self.start(["a", "b", "c", "d"], demos=["a", "c", "d"],
                   env={"VIZSTREAM_TEST_HOOKS": "1"})
        # b: not a vizstream segment, 0600 like a renderer's.
        fd = os.open("/dev/shm/" + self.segments["b"],
                     os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o600)
        os.write(fd, b"VIZSTRM\x00" + os.urandom(8184))
        os.close(fd)
        self.addCleanup(os.unlink, "/dev/shm/" + self.segments["b"])
        for n in "acd":
            self.wait("stream %s running" % n, lambda: self.status(
                "/s/%s/status" % n)["renderer"] == "connected")
        wa = self.join("a")
        wd = self.join("d")
        _, frames, _ = wa.pump(1.5)
        self.assertGreater(frames, 10)
        _, frames, _ = wd.pump(1.0)
        self.assertGreater(frames, 5)
        self.wait("b's renderer refused", lambda: self.status(
            "/s/b/status")["renderer"] == "error")
        # c's renderer dies.
        self.procs.stop(self.demos["c"], timeout=5)
        self.demos["c"].kill()
        self.wait("c's renderer gone", lambda: self.status(
            "/s/c/status")["renderer"] != "connected")
        # d's pipeline fails outside every viewer.
        wd.send(json.dumps({"type": "test_error", "where": "pipeline"}))
        texts, _, closed = wd.pump(5)
        ended = [t for t in texts if t["type"] == "ended"]
        self.assertTrue(ended, texts)
        self.assertIn("the stream failed", ended[0]["reason"])
        self.assertIn("test_error", ended[0]["reason"])
        self.assertTrue(closed)
        self.wait("d gone", lambda: self.get("/s/d/status")[0] == 404)
        self.assertEqual([s["name"] for s in self.status()["streams"]],
                         ["a", "b", "c"])
        # a never stopped: frames in the seconds after all that.
        texts, frames, closed = wa.pump(2.0)
        self.assertFalse(closed)
        self.assertGreater(frames, 20)
        a = self.status("/s/a/status")
        self.assertEqual(a["renderer"], "connected")
        self.assertEqual(len(a["viewers"]), 1)
        self.assertIsNone(self.server.poll())
        # A renderer back on c's segment is picked up again.
        f = open(self.event_files["c"], "a")
        self.addCleanup(f.close)
        self.procs.start([vztest.DEMO, "--segment", self.segments["c"],
                          "--size", "384x256", "--fps", "30", "--quiet"],
                         stdout=f)
        self.wait("c back", lambda: self.status(
            "/s/c/status")["renderer"] == "connected", 20)
        self.procs.stop(self.server)
        self.log.seek(0)
        log = self.log.read()
        self.assertIn("stream d failed", log)
        self.assertRegex(log, r"vizstream-server: b: renderer error: ")

    def test_options(self):
        def run(*args):
            return subprocess.run([SERVER, "--port", "0"] + list(args),
                                  capture_output=True, text=True, timeout=30)
        for args, want in (
                (["--segment", "a=x", "--segment", "a=y"], "two streams named 'a'"),
                (["--segment", "x", "--segment", "x"], "two streams named 'x'"),
                (["--segment", "b c=x"], "stream's name"),
                (["--segment", "a=x,color=red"], "unknown or repeated 'color=red'"),
                (["--segment", "a=x", "--segment", "b=y", "--rtmp",
                  "rtmp://127.0.0.1/live/k"], "--rtmp serves one stream"),
                (["--segment", "a=x", "--segment", "b=y", "--pipeline",
                  "videotestsrc"], "--pipeline serves one stream"),
                (["--segment", "a=x,token-file=/nonexistent"], "token"),
                (["--segment", "a=x", "--segment", "b=y", "--control",
                  "token"], "--control token needs")):
            r = run(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)

    def test_a_stream_with_its_own_token(self):
        secret = os.path.join(self.tmp.name, "a.token")
        with open(secret, "w") as f:
            f.write("alpha-secret\n")
        os.chmod(secret, 0o600)
        self.start(["a", "b"], options={"a": ",token-file=" + secret})
        # a's status wants a's token; b's is open; the list wants more.
        self.assertEqual(self.get("/s/a/status")[0], 401)
        self.assertEqual(self.get("/s/a/status", "alpha-secret")[0], 200)
        self.assertEqual(self.get("/s/b/status")[0], 200)
        self.assertEqual(self.get("/status")[0], 401)
        # On a only the holder controls; on b (no token) the first viewer.
        roles = {}
        for n, tok in (("a", None), ("a", "alpha-secret"), ("b", None)):
            ws = self.join(n, "mjpeg", tok)
            texts, _, _ = ws.pump(1.0)
            roles[(n, tok)] = [t["role"] for t in texts if t["type"] == "role"]
        self.assertEqual(roles[("a", None)][-1], "view")
        self.assertEqual(roles[("a", "alpha-secret")][-1], "control")
        self.assertEqual(roles[("b", None)][-1], "control")


if __name__ == "__main__":
    unittest.main()
