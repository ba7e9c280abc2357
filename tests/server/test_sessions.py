"""Sessions on demand (issue 19, items 2 and 4), without a browser: a real
vizstream-server with --launch starting real vizstream-demo renderers,
HTTP and WebSocket clients.

- /new: 303 to s/ID/#token=T once the renderer's segment is valid; the
  session is its own unlisted stream, its token controls, a viewer without
  it watches; input reaches that session's renderer (its log); bad sizes,
  a server token, POST from the form on /;
- ends: nobody watching for --session-idle-timeout (the renderer and its
  segment gone), the renderer killed (the page told why, with a restart
  link), --max-sessions full (503), a renderer that never makes its
  segment (504) or exits first (502, its log's last lines);
- the server's SIGTERM and SIGKILL leave no renderer and no segment.

The browser side is tests/browser/test_sessions.py."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import vztest  # noqa: E402
import test_streams  # noqa: E402

SERVER = vztest.SERVER
DEMO_LAUNCH = ("%s --segment {segment} --size {width}x{height} --fps 30 "
               "--tags --quiet --print-events" % vztest.DEMO)
LOCATION = re.compile(r"^s/([0-9a-f]{32})/#token=([0-9a-f]{32})$")


def session_pids(session):
    """Pids of the processes whose environment names this session (the
    renderer and whatever it started)."""
    want = b"VIZSTREAM_SESSION=" + session.encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env:
            pids.append(int(d))
    return pids


def segment_exists(session):
    return os.path.exists("/dev/shm/vizstream-session-" + session)


class SessionsTest(vztest.ProcessTestCase):
    get = test_streams.StreamsTest.get
    status = test_streams.StreamsTest.status
    wait = test_streams.StreamsTest.wait
    join = test_streams.StreamsTest.join

    def start(self, *args, launch=DEMO_LAUNCH, expect_start=True):
        self.logs = os.path.join(self.tmp.name, "logs")
        self.log = open(os.path.join(self.tmp.name, "server.log"), "w+")
        self.addCleanup(self.log.close)
        self.server = self.procs.start(
            [SERVER, "--port", "0", "--launch", launch, "--launch-log-dir",
             self.logs] + list(args),
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.server.stdout.readline()
        if not expect_start:
            return self.server.wait(10)
        m = re.search(r"serving http://([\d.]+):(\d+)/", line)
        self.assertTrue(m, "the server did not start: %r" % line)
        self.host, self.port = m.group(1), int(m.group(2))
        self.sessions = []
        self.addCleanup(self.no_renderer_left)
        return self.server

    def no_renderer_left(self):
        """After the test (its server stopped by then): nothing of any
        session it made is left."""
        self.procs.stop(self.server)
        for s in self.sessions:
            self.wait("session %s's processes gone" % s,
                      lambda: not session_pids(s), 6)
            self.assertFalse(segment_exists(s), s)

    def new(self, query="", token=None, method="GET", form=None):
        """(status, Location or body) of /new."""
        if method == "POST":
            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *a, **kw):
                    return None
            req = urllib.request.Request(
                "http://%s:%d/new" % (self.host, self.port),
                data=urllib.parse.urlencode(form or {}).encode(),
                method="POST")
            try:
                with urllib.request.build_opener(NoRedirect).open(
                        req, timeout=30) as r:
                    code, headers, body = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                code, headers, body = e.code, e.headers, e.read()
        else:
            code, headers, body = self.get("/new" + query, token)
        if code == 303:
            m = LOCATION.match(headers["Location"])
            self.assertTrue(m, headers["Location"])
            self.sessions.append(m.group(1))
            return code, m.group(1), m.group(2)
        for name in os.listdir(self.logs) if os.path.isdir(self.logs) else []:
            s = name[:-4]
            if name.endswith(".log") and s not in self.sessions:
                self.sessions.append(s)
        return code, body.decode(), None

    def renderer_events(self, session):
        with open(os.path.join(self.logs, session + ".log")) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def server_log(self):
        self.log.seek(0)
        return self.log.read()

    def test_new_starts_a_session_its_creator_controls(self):
        self.start()
        t0 = time.monotonic()
        code, sid, token = self.new("?width=320&height=240")
        self.assertEqual(code, 303, sid)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(segment_exists(sid))
        self.assertTrue(session_pids(sid))
        # Its own token: /status wants it; it streams the asked size.
        self.assertEqual(self.get("/s/%s/status" % sid)[0], 401)
        st = self.wait("frames", lambda: (lambda s: s if s["source_frames"]
                                          > 5 else None)(
            self.status("/s/%s/status" % sid, token)))
        self.assertEqual((st["source_width"], st["source_height"]), (320, 240))
        self.assertEqual(st["segment"], "vizstream-session-" + sid)
        # Unlisted: not on / nor /status; / offers the form.
        self.assertEqual(self.status()["streams"], [])
        code, _, page = self.get("/")
        self.assertIn(b'<form method="post" action="new">', page)
        self.assertNotIn(sid.encode(), page)
        self.assertEqual(self.get("/s/%s/" % sid)[0], 200)
        # A spectator watches; the creator's token controls.
        spectator = self.join(sid, "mjpeg")
        texts, _, _ = spectator.pump(1.0)
        self.assertIn("view", [t["role"] for t in texts if t["type"] == "role"])
        creator = self.join(sid, "ws", token=token)
        texts, frames, _ = creator.pump(1.5)
        self.assertEqual([t["role"] for t in texts if t["type"] == "role"][-1],
                         "control", texts)
        self.assertGreater(frames, 0)
        for ws, key in ((spectator, "s"), (creator, "c")):
            ws.send(json.dumps({"type": "input", "data": json.dumps(
                {"event": "KeyPress", "key": key})}))
        self.wait("the creator's key at the renderer", lambda: any(
            e["event"] == "KeyPress" for e in self.renderer_events(sid)))
        time.sleep(0.5)
        self.assertEqual([e["key"] for e in self.renderer_events(sid)
                          if e["event"] == "KeyPress"], ["c"])
        # A second session is another renderer, another token.
        code, sid2, token2 = self.new()
        self.assertEqual(code, 303)
        self.assertNotEqual((sid, token), (sid2, token2))
        st = self.wait("frames", lambda: self.status(
            "/s/%s/status" % sid2, token2)["source_frames"])
        self.assertEqual(self.status("/s/%s/status" % sid2, token2)
                         ["source_width"], 1280)
        self.assertEqual(self.get("/s/%s/status" % sid2, token)[0], 401)
        self.assertIn("session %s ready" % sid, self.server_log())

    def test_bad_sizes_post_and_server_token(self):
        self.start("--token", "s3cret-server-token")
        for q in ("?width=8", "?height=99999", "?width=abc"):
            code, body, _ = self.new(q, token="s3cret-server-token")
            self.assertEqual(code, 400, q)
            self.assertIn("16..4096", body)
        # With a server token only who has it starts renderers.
        code, body, _ = self.new()
        self.assertEqual(code, 401)
        self.assertIn("token", body)
        self.assertEqual(self.new(token="wrong")[0], 401)
        code, page = self.get("/")[0], self.get("/")[2]
        self.assertIn(b'name="token"', page)
        self.assertEqual(os.listdir(self.logs), [])
        code, sid, token = self.new(method="POST", form={
            "token": "s3cret-server-token", "width": "160",
            "height": "120"})
        self.assertEqual(code, 303, sid)
        self.assertNotEqual(token, "s3cret-server-token")
        st = self.wait("frames", lambda: (lambda s: s if s["source_frames"]
                                          else None)(
            self.status("/s/%s/status" % sid, token)))
        self.assertEqual((st["source_width"], st["source_height"]), (160, 120))
        code, sid2, _ = self.new(token="s3cret-server-token")
        self.assertEqual(code, 303)

    def test_idle_sessions_end(self):
        self.start("--session-idle-timeout", "2")
        # Never opened: ends 2 s after it was ready.
        code, sid, token = self.new("?width=160&height=120")
        self.assertEqual(code, 303)
        pids = session_pids(sid)
        self.assertTrue(pids)
        self.wait("the unopened session gone", lambda: self.get(
            "/s/%s/" % sid)[0] == 404, 8)
        self.wait("its renderer gone", lambda: not session_pids(sid), 6)
        self.wait("its segment gone", lambda: not segment_exists(sid), 3)
        self.assertIn("session %s ended: nobody watched it for 2 s" % sid,
                      self.server_log())
        # Watched: it lives on; 2 s after the last viewer left it ends.
        code, sid, token = self.new("?width=160&height=120")
        ws = self.join(sid, "ws", token=token)
        texts, frames, closed = ws.pump(4.0)
        self.assertFalse(closed)
        self.assertGreater(frames, 0)
        self.assertEqual(self.get("/s/%s/status" % sid, token)[0], 200)
        ws.close()
        t0 = time.monotonic()
        self.wait("the session gone", lambda: self.get(
            "/s/%s/" % sid)[0] == 404, 8)
        self.assertGreater(time.monotonic() - t0, 1.0)
        self.wait("its renderer gone", lambda: not session_pids(sid), 6)
        self.wait("its segment gone", lambda: not segment_exists(sid), 3)

    def test_a_renderer_that_dies_ends_its_session(self):
        self.start("--max-sessions", "1")
        code, sid, token = self.new("?width=160&height=120")
        self.assertEqual(code, 303)
        ws = self.join(sid, "ws", token=token)
        texts, frames, _ = ws.pump(1.0)
        self.assertGreater(frames, 0)
        # Full: the next one waits for this one's end.
        code, body, _ = self.new()
        self.assertEqual(code, 503)
        self.assertIn("--max-sessions", body)
        for pid in session_pids(sid):
            os.kill(pid, signal.SIGKILL)
        texts, _, closed = ws.pump(5.0)
        ended = [t for t in texts if t["type"] == "ended"]
        self.assertTrue(ended, texts)
        self.assertIn("the renderer was killed by signal 9", ended[0]["reason"])
        self.assertEqual(ended[0]["restart"], "../../new")
        self.assertTrue(closed)
        self.assertEqual(self.get("/s/%s/" % sid)[0], 404)
        self.wait("its segment gone", lambda: not segment_exists(sid), 5)
        # Its place is free again.
        code, sid2, _ = self.new("?width=160&height=120")
        self.assertEqual(code, 303, sid2)

    def test_max_sessions(self):
        self.start("--max-sessions", "2")
        self.assertEqual(self.new("?width=160&height=120")[0], 303)
        self.assertEqual(self.new("?width=160&height=120")[0], 303)
        code, headers, body = self.get("/new")
        self.assertEqual(code, 503)
        self.assertIn(b"Too many sessions", body)
        self.assertIn(b"2 sessions", body)
        self.assertEqual(headers["Retry-After"], "30")
        self.assertEqual(len(os.listdir(self.logs)), 2)

    def test_a_renderer_that_never_makes_its_segment(self):
        self.start("--launch-timeout", "2",
                   launch="sleep 100")
        t0 = time.monotonic()
        code, body, _ = self.new()
        self.assertEqual(code, 504, body)
        self.assertGreater(time.monotonic() - t0, 1.5)
        self.assertIn("no valid segment", body)
        self.assertIn("within 2", body)
        self.assertEqual(len(self.sessions), 1)
        self.wait("the renderer gone", lambda: not session_pids(
            self.sessions[0]), 6)
        self.assertEqual(self.status()["streams"], [])

    def test_a_renderer_that_exits_first(self):
        self.start(launch="sh -c 'echo \"<no such scene> for {segment}\" >&2;"
                   " exit 3'")
        code, body, _ = self.new()
        self.assertEqual(code, 502, body)
        self.assertIn("exited with status 3", body)
        # The log's last lines, HTML-escaped.
        self.assertIn("&lt;no such scene&gt; for vizstream-session-", body)
        self.assertNotIn("<no such scene>", body)

    def stop_server_and_check(self, sig):
        self.start()
        ids = []
        for _ in range(2):
            code, sid, token = self.new("?width=160&height=120")
            self.assertEqual(code, 303)
            self.wait("frames", lambda: self.status(
                "/s/%s/status" % sid, token)["source_frames"])
            ids.append(sid)
        pids = [p for s in ids for p in session_pids(s)]
        self.assertGreaterEqual(len(pids), 2)
        self.server.send_signal(sig)
        self.server.wait(10)
        for s in ids:
            self.wait("session %s's renderer gone" % s,
                      lambda: not session_pids(s), 6)
            self.wait("its segment gone", lambda: not segment_exists(s), 3)

    def test_server_sigterm_ends_every_renderer(self):
        self.stop_server_and_check(signal.SIGTERM)
        self.assertEqual(self.server.returncode, 0)

    def test_server_sigkill_leaves_no_renderer(self):
        self.stop_server_and_check(signal.SIGKILL)

    def test_with_command_line_streams(self):
        segment = vztest.unique_segment("sess")
        self.procs.start([vztest.DEMO, "--segment", segment, "--size",
                          "200x100", "--quiet"])
        self.start("--segment", "fixed=" + segment)
        # The command line's stream is at / as before, sessions beside it.
        self.wait("the fixed stream", lambda: self.status()["renderer"] ==
                  "connected")
        code, sid, token = self.new("?width=160&height=120")
        self.assertEqual(code, 303, sid)
        st = self.wait("frames", lambda: (lambda s: s if s["source_frames"]
                                          else None)(
            self.status("/s/%s/status" % sid, token)))
        self.assertEqual((st["source_width"], st["source_height"]), (160, 120))
        self.assertEqual(self.status()["source_width"], 200)
        self.assertEqual(self.status()["name"], "fixed")

    def test_options(self):
        for extra in (["--pipeline", "videotestsrc"], ["--record", "/tmp"]):
            self.start(*extra, expect_start=False)
            self.assertEqual(self.server.returncode, 2)
            self.assertIn("--launch does not go with", self.server_log())
            self.log.close()
        self.start("--launch-timeout", "0", expect_start=False)
        self.assertEqual(self.server.returncode, 2)


if __name__ == "__main__":
    unittest.main()
