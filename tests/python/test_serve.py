#!/usr/bin/env python3
"""vizstream.serve() and Publisher.serve(): vizstream-server started from
Python for a segment, answering before serve() returns; its options, its
errors (port in use, program missing, renderer absent, a bad option), the
token kept off the command line, and no server left behind when Python
exits, however it exits."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzpy import HERE, slack, process_alive  # noqa: E402

import numpy as np  # noqa: E402
import vizstream  # noqa: E402
import vztest  # noqa: E402

T = slack(10)


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.seg = vztest.unique_segment("serve")

    def test_publisher_serve(self):
        with vizstream.Publisher(self.seg, 160, 120) as pub:
            t0 = time.monotonic()
            server = pub.serve(timeout=T)
            took = time.monotonic() - t0
            self.assertIs(pub.server, server)
            self.assertRegex(server.url, r"^http://127\.0\.0\.1:\d+/$")
            status, body = get(server.url)
            self.assertEqual(status, 200)
            self.assertIn(b'<video id="video"', body)
            # wait_renderer is the default here: attached on return.
            st = json.loads(get(server.url + "status")[1])
            self.assertEqual((st["segment"], st["renderer"]), (self.seg, "connected"))
            self.assertEqual(server.status()["renderer"], "connected")
            pub.publish(np.zeros((120, 160, 4), np.uint8))
            self.assertTrue(server.running)
            print("serve() returned in %.2f s" % took)
        # Closing the publisher stops its server.
        self.assertFalse(server.running)
        self.assertFalse(process_alive(server.pid))

    def test_options_on_the_command_line_and_with_block(self):
        with vizstream.serve(self.seg, max_fps=15, allow_resize=True, no_adapt=False,
                             allow_origin=["http://a.example", "http://b.example"],
                             timeout=T) as server:
            args = cmdline(server.pid)
            self.assertEqual(args[args.index(b"--max-fps") + 1], b"15")
            self.assertIn(b"--allow-resize", args)
            self.assertNotIn(b"--no-adapt", args)
            self.assertEqual(args.count(b"--allow-origin"), 2)
            self.assertIn(b"http://b.example", args)
            self.assertEqual(args[args.index(b"--segment") + 1], self.seg.encode())
            # No renderer yet: the server runs anyway and says so.
            self.assertEqual(server.status()["renderer"], "waiting")
            with vizstream.Publisher(self.seg, 64, 48):
                self.assertEqual(server.wait_renderer(T)["renderer"], "connected")
        self.assertFalse(process_alive(server.pid))
        self.assertIsNotNone(server.returncode)
        self.assertEqual(server.stop(), server.returncode)   # again: nothing happens

    def test_port_in_use(self):
        with vizstream.serve(self.seg, timeout=T) as first:
            port = int(first.url.rsplit(":", 1)[1].strip("/"))
            with self.assertRaises(vizstream.PortInUseError) as cm:
                vizstream.serve(self.seg, port=port, timeout=T)
            msg = str(cm.exception)
            self.assertIn("cannot listen on 127.0.0.1:%d" % port, msg)
            self.assertIn("pick another port, or port=0", msg)
            self.assertTrue(first.running)

    def test_program_missing(self):
        os.environ["VIZSTREAM_SERVER"] = "/nonexistent/vizstream-server"
        try:
            with self.assertRaisesRegex(vizstream.ServerNotFoundError,
                                        r"\$VIZSTREAM_SERVER is '/nonexistent/vizstream-server'"
                                        r", which is not an executable file"):
                vizstream.serve(self.seg)
        finally:
            del os.environ["VIZSTREAM_SERVER"]
        # Without it: the build tree's, the one this test runs against.
        if not os.environ.get("VZ_SERVER_BUILD"):
            from vizstream.server import find_server
            self.assertEqual(os.path.realpath(find_server()), os.path.realpath(vztest.SERVER))

    def test_renderer_absent(self):
        t0 = time.monotonic()
        with self.assertRaises(vizstream.RendererAbsentError) as cm:
            vizstream.serve(self.seg, wait_renderer=True, timeout=slack(1))
        self.assertGreaterEqual(time.monotonic() - t0, 1)
        msg = str(cm.exception)
        self.assertIn("no renderer publishes segment %r" % self.seg, msg)
        self.assertIn("'waiting'", msg)
        self.assertIn("wait_renderer=False", msg)

    def test_dies_at_startup(self):
        with self.assertRaises(vizstream.ServerError) as cm:
            vizstream.serve(self.seg, codec="h265", timeout=T)
        msg = str(cm.exception)
        self.assertIn("refused its command line", msg)
        self.assertIn("--codec wants", msg)     # the server's own words
        self.assertTrue(any("--codec" in line for line in cm.exception.output))
        with self.assertRaisesRegex(vizstream.ServerError, "nope"):
            vizstream.serve(self.seg, encoder="nope", timeout=T)

    def test_token_in_the_environment(self):
        token = "tok-" + os.urandom(8).hex()
        with vizstream.Publisher(self.seg, 64, 48) as pub:
            server = pub.serve(token=token, timeout=T)
            args = b" ".join(cmdline(server.pid))
            self.assertNotIn(token.encode(), args)
            self.assertNotIn(b"--token", args)
            with open("/proc/%d/environ" % server.pid, "rb") as f:
                self.assertIn(b"VIZSTREAM_TOKEN=" + token.encode(), f.read().split(b"\0"))
            # The server holds it: /status wants it.
            self.assertEqual(get(server.url + "status")[0], 401)
            status, body = get(server.url + "status", {"Authorization": "Bearer " + token})
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["renderer"], "connected")
            self.assertEqual(server.token, token)
            self.assertEqual(server.control_url, server.url + "#token=" + token)
        # token=True makes one up.
        with vizstream.serve(self.seg, token=True, timeout=T) as server:
            self.assertGreaterEqual(len(server.token), 20)
            self.assertEqual(server.status()["renderer"], "waiting")
            self.assertNotIn(server.token.encode(), b" ".join(cmdline(server.pid)))

    def child(self, body):
        """A Python process that serves, prints the server's pid, then
        does what body says; returns (process, server pid)."""
        code = textwrap.dedent("""
            import os, sys, threading, time
            sys.path.insert(0, %r)
            import vzpy, vizstream
            pub = vizstream.Publisher(%r, 64, 48)
        """ % (HERE, self.seg)) + textwrap.dedent(body)
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.addCleanup(p.stdout.close)
        line = p.stdout.readline()
        self.assertTrue(line.strip().isdigit(), "the child printed %r" % line)
        return p, int(line)

    def assert_gone(self, pid):
        end = time.monotonic() + T
        while process_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertFalse(process_alive(pid), "server %d outlived its Python" % pid)

    def test_no_orphan_after_a_normal_exit(self):
        # Neither stop() nor close(), the Server not even kept: atexit.
        p, pid = self.child("""
            print(vizstream.serve(pub.name).pid, flush=True)
        """)
        self.assertEqual(p.wait(T), 0)
        self.assert_gone(pid)

    def test_no_orphan_after_sigkill(self):
        # No atexit: the kernel's parent-death signal.
        p, pid = self.child("""
            print(pub.serve().pid, flush=True)
            time.sleep(60)
        """)
        self.assertTrue(process_alive(pid))
        p.send_signal(signal.SIGKILL)
        p.wait(T)
        self.assert_gone(pid)

    def test_served_from_a_thread_that_ends(self):
        # The parent-death signal follows the forking thread: a server
        # started from a short-lived thread must outlive that thread, and
        # still go with the process.
        p, pid = self.child("""
            box = []
            t = threading.Thread(target=lambda: box.append(pub.serve()))
            t.start(); t.join()
            print(box[0].pid, flush=True)
            time.sleep(%f)
            os.kill(os.getpid(), 9)
        """ % slack(1.5))
        time.sleep(slack(0.5))
        self.assertTrue(process_alive(pid), "the server died with the thread that started it")
        p.wait(T)
        self.assert_gone(pid)


class JupyterDisplayTest(unittest.TestCase):
    """What a notebook cell shows for a Server, a serving Publisher or
    VtkStream: an <iframe> of the live page, at public_url behind a proxy
    (the notebook test, test_notebook.py, runs it in a kernel and Chromium)."""

    def test_iframe_and_public_url(self):
        import html.parser

        class Frames(html.parser.HTMLParser):
            found = []

            def handle_starttag(self, tag, attrs):
                if tag == "iframe":
                    self.found.append(dict(attrs))

        seg = vztest.unique_segment("nb")
        with vizstream.Publisher(seg, 64, 32) as pub:
            self.assertIsNone(pub._repr_html_(), "nothing to show before serve()")
            with self.assertRaises(vizstream.VizstreamError):
                pub.show()
            server = pub.serve(token="s3cret&", public_url="https://hub.example/u/me/proxy/{port}")
            self.assertEqual(server.public_url,
                             "https://hub.example/u/me/proxy/%d/" % server.port)
            self.assertEqual(server.url, "http://127.0.0.1:%d/" % server.port)
            p = Frames()
            p.feed(pub._repr_html_())
            self.assertEqual(len(p.found), 1)
            frame = p.found[0]
            # The proxied address, the token for the notebook's user
            # (quoted), framing allowed to play and go full screen.
            self.assertEqual(frame["src"], server.public_url + "#token=s3cret%26")
            self.assertIn("autoplay", frame["allow"])
            self.assertIn("fullscreen", frame["allow"])
            self.assertNotIn("s3cret", server.html(control=False))
            self.assertIn("width:640px;height:360px", server.html(640, 360))
            # Outside a notebook, show() prints the address.
            import contextlib
            import io
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                server.show()
            self.assertIn(server.control_url, out.getvalue())
            # The page may be framed: no header forbids it.
            with urllib.request.urlopen(server.url, timeout=5) as r:
                self.assertIsNone(r.headers.get("X-Frame-Options"))
                self.assertNotIn("frame-ancestors", r.headers.get("Content-Security-Policy", ""))
        self.assertIsNone(server._repr_html_(), "a stopped server shows no page")
        plain = vizstream.serve(seg)
        try:
            self.assertEqual(plain.public_url, plain.url)
            self.assertIn('src="%s"' % plain.url, plain._repr_html_())
        finally:
            plain.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
