"""Browser tests of the server on the internet's terms (issue 15): its own
TLS, reached over a veth link from Chromium in another network namespace;
Debian's nginx doing TLS in front of it at /viz/ on a port that is not
443, with the configuration docs/deploy.md shows; an IPv6 bind. Chromium
trusts the test's CA through a private NSS database (its own HOME), never
through --ignore-certificate-errors. Run one test:
test_tls.py TlsTest.test_tls_direct.

Like test_browser.py, it re-runs itself under `unshare -n` (root), except
TlsFilesTest, which needs no browser."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from test_browser import (Browser, BrowserTestCase, enter_namespace,  # noqa: E402
                          SERVER, W, H)
from test_broadcast import free_port  # noqa: E402
import vztest  # noqa: E402

DEPLOY_MD = os.path.join(vztest.SOURCE, "docs", "deploy.md")


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_certificates(d, san):
    """A CA and a server certificate it signed for san (e.g.
    "IP:127.0.0.1"), in d: ca.pem, server.pem, server.key."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=vizstream test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=vizstream test server", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n" % san)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "server.ext", cwd=d)
    return [os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")]


def serve(test, *args):
    """vizstream-server with args; returns (process, the URL it prints)."""
    env = dict(os.environ)
    if "--tls-cert" in args and "ASAN_OPTIONS" in env:
        # The ASan + UBSan server (scripts/run-tests.sh): GCC 12's
        # LeakSanitizer crashes at exit ("Tracer caught signal 11") on the
        # thread-local storage that GnuTLS (glib-networking) gives a
        # thread, and use_tls=0 reports GLib's per-thread data as leaks.
        # Memory errors and undefined behaviour are still reported.
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    test.server_log = open(os.path.join(test.tmp.name, "server.log"), "a")
    p = test.procs.start([SERVER] + list(args), stdout=subprocess.PIPE,
                         stderr=test.server_log, text=True, env=env)
    line = p.stdout.readline()
    m = re.search(r"serving (https?://\S+)", line)
    if not m:
        p.wait(5)
        with open(test.server_log.name) as f:
            test.fail("server did not start: %r %s" % (line, f.read()[-2000:]))
    return p, m.group(1)


class TlsFilesTest(vztest.ProcessTestCase):
    """No browser: what --tls-cert and --tls-key accept, and HTTPS."""

    def setUp(self):
        super().setUp()
        if shutil.which("openssl") is None:
            self.skipTest("openssl not installed")
        self.ca, self.cert, self.key = make_certificates(self.tmp.name,
                                                         "IP:127.0.0.1")

    def test_files_checked_and_https_served(self):
        missing = os.path.join(self.tmp.name, "missing.pem")
        for cert, key, says in (
                (missing, self.key, "--tls-cert wants a PEM certificate, not '%s'" % missing),
                (self.key, self.key, "--tls-cert wants a PEM certificate, not '%s'" % self.key),
                (self.cert, self.cert, "--tls-key wants the PEM private key of "
                 "--tls-cert, not '%s'" % self.cert),
                (self.cert, missing, "--tls-key wants the PEM private key of "
                 "--tls-cert, not '%s'" % missing)):
            r = subprocess.run([SERVER, "--pipeline", "videotestsrc", "--port",
                                "0", "--tls-cert", cert, "--tls-key", key],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(says, r.stderr)
        p, url = serve(self, "--pipeline", "videotestsrc is-live=true",
                       "--port", "0", "--quiet", "--tls-cert", self.cert,
                       "--tls-key", self.key)
        self.assertTrue(url.startswith("https://127.0.0.1:"), url)
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            self.assertIn(b"vizstream.js", r.read())
        with urllib.request.urlopen(url + "snapshot.jpg", context=ctx,
                                    timeout=10) as r:
            self.assertEqual(r.read(2), b"\xff\xd8")
        # Plain HTTP to the HTTPS port gets no page.
        with self.assertRaises((OSError, http.client.HTTPException)):
            urllib.request.urlopen(url.replace("https:", "http:"), timeout=10).read()
        self.assertIsNone(p.poll())

    def tearDown(self):
        super().tearDown()
        if getattr(self, "server_log", None):
            self.server_log.close()


class TlsTest(BrowserTestCase):
    def setUp(self):
        super().setUp()
        for tool, package in (("openssl", "openssl"), ("certutil", "libnss3-tools")):
            if shutil.which(tool) is None:
                self.skipTest("%s (%s) not installed" % (tool, package))

    def certificates(self, san):
        """The CA and a certificate for san; a HOME whose NSS database
        (where Chromium on Linux looks) trusts that CA for servers."""
        self.ca, self.cert, self.key = make_certificates(self.tmp.name, san)
        self.home = os.path.join(self.tmp.name, "home")
        db = "sql:" + os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(os.path.join(self.home, ".pki", "nssdb"))
        for args in (["-N", "--empty-password"],
                     ["-A", "-n", "vizstream test CA", "-t", "C,,", "-i", self.ca]):
            subprocess.run(["certutil", "-d", db] + args, check=True,
                           capture_output=True)

    def trusting_browser(self, prefix=()):
        """Replaces the test's browser with one whose HOME trusts the CA."""
        self.browser.quit()
        self.browser = Browser(self.procs, prefix=list(prefix) + [
            "env", "HOME=" + self.home])
        return self.browser

    def wait_ws_frames(self, page):
        self.wait("WebSocket transport", lambda: self.browser.js(
            page, "window.vizstream.transport") == "ws")
        first, second = self.wait_frames(page)
        self.assertGreater(second, first)
        # The canvas shows the frame the server said it sent.
        checks = [self.browser.call("wscheck", page=page, rw=W, rh=H)
                  for _ in range(3)]
        self.assertTrue(all(c["pixels"] == c["tagged"] for c in checks), checks)

    def test_tls_direct(self):
        """The server's own HTTPS and WSS on a veth address; Chromium at the
        other end, in its own namespace, trusts the test's CA. WebRTC and
        the WebSocket/WebCodecs transport (a secure context's) both show
        frames."""
        if shutil.which("nsenter") is None:
            self.skipTest("nsenter (util-linux) not installed")
        here, there = "10.77.5.1", "10.77.5.2"
        self.certificates("IP:" + here)
        browser = self.trusting_browser(prefix=["unshare", "-n", "--"])
        pid = str(browser.proc.pid)

        def run(*cmd):
            subprocess.run(cmd, check=True, capture_output=True)
        try:
            # unshare(1) makes the namespace before it runs node: until
            # then the veth's peer would land in ours.
            mine = os.readlink("/proc/self/ns/net")
            self.wait("the browser's own network namespace", lambda:
                      os.readlink("/proc/%s/ns/net" % pid) != mine, 10, 0.01)
            run("ip", "link", "add", "vzt0", "type", "veth", "peer", "name",
                "vzt1", "netns", pid)
            run("ip", "addr", "add", here + "/24", "dev", "vzt0")
            run("ip", "link", "set", "vzt0", "up")
            for cmd in (["ip", "link", "set", "lo", "up"],
                        ["ip", "addr", "add", there + "/24", "dev", "vzt1"],
                        ["ip", "link", "set", "vzt1", "up"]):
                run("nsenter", "-t", pid, "-n", *cmd)
            self.server, self.url = serve(
                self, "--segment", self.segment, "--bind", here, "--port", "0",
                "--ice-address", here, "--tls-cert", self.cert, "--tls-key",
                self.key)
            self.assertTrue(self.url.startswith("https://%s:" % here), self.url)
            # Chromium notices the new link and re-reads its network a
            # moment later (ERR_NETWORK_CHANGED, or ICE gathered before it):
            # let that pass before the page opens.
            time.sleep(2)
            self.open("a")
            self.assertEqual(self.browser.js(
                "a", "[location.protocol, isSecureContext]"), ["https:", True])
            first, second = self.wait_frames("a")
            self.assertGreater(second, first)
            self.assertEqual(self.browser.js("a", "window.vizstream.transport"),
                             "webrtc")
            self.assertTrue(self.browser.js("a", "window.vizstream.connected"))
            # WebCodecs exists only in a secure context: over plain HTTP
            # from another machine this transport could not work.
            self.open("b", "?transport=ws")
            self.wait_ws_frames("b")
        finally:
            subprocess.run(["ip", "link", "del", "vzt0"], capture_output=True)

    def deploy_nginx(self, marker, replacements):
        """Starts a private nginx with the docs/deploy.md block between the
        "<!-- MARKER: begin -->" markers, each (old, new) replaced (old
        there exactly once), in a configuration of its own under this
        test's directory; returns once it listens on the block's port (the
        first replacement's new "listen 127.0.0.1:PORT")."""
        with open(DEPLOY_MD) as f:
            doc = f.read()
        m = re.search(r"<!-- %s: begin.*?-->\s*```nginx\n(.*?)```\s*"
                      r"<!-- %s: end -->" % (marker, marker), doc, re.S)
        self.assertIsNotNone(m, "docs/deploy.md lost its %s markers" % marker)
        block = m.group(1)
        for old, new in replacements:
            self.assertEqual(block.count(old), 1, "docs/deploy.md: %r" % old)
            block = block.replace(old, new)
        port = int(re.search(r"listen 127\.0\.0\.1:(\d+)", block).group(1))
        d = os.path.join(self.tmp.name, "nginx")
        os.makedirs(os.path.join(d, "tmp"))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
{block}}}
""".format(d=d, block=block))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.procs.start([nginx, "-p", d, "-c", conf, "-e", d + "/error.log"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return True
            except OSError:
                return False
        self.wait("nginx listening", listening, 10, 0.05)
        return d, block

    def test_nginx_proxy_at_sub_path(self):
        """Debian's nginx in front, TLS on a port that is not 443, the page
        at /viz/ with docs/deploy.md's configuration: WebRTC frames, input
        back to the renderer, /viz/mjpeg and /viz/snapshot.jpg."""
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            self.skipTest("nginx not installed")
        self.certificates("IP:127.0.0.1")
        self.start_server()
        server_port = int(self.url.rsplit(":", 1)[1].strip("/"))
        port = free_port()
        d, block = self.deploy_nginx("nginx example", (
            ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % port),
            ("/etc/letsencrypt/live/viz.example.org/fullchain.pem", self.cert),
            ("/etc/letsencrypt/live/viz.example.org/privkey.pem", self.key),
            ("proxy_pass http://127.0.0.1:8080/;",
             "proxy_pass http://127.0.0.1:%d/;" % server_port)))
        self.assertIn("proxy_set_header Host $http_host;", block)
        public = "https://127.0.0.1:%d/viz" % port

        # Without the CA a browser refuses: the trust below is the CA's.
        with self.assertRaisesRegex(RuntimeError, "ERR_CERT_AUTHORITY_INVALID"):
            self.browser.call("open", page="x", url=public + "/")
        self.trusting_browser()
        # /viz (no slash) is redirected to /viz/, where relative URLs work.
        self.browser.call("open", page="a", url=public + "?stats")
        self.assertEqual(self.browser.js("a", "location.href"),
                         public + "/?stats")
        first, second = self.wait_frames("a")
        self.assertGreater(second, first)
        self.wait("role", lambda: self.role("a") == "control")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        self.browser.call("mouse", page="a", action="click", x=0.75, y=0.25)
        ev = self.wait("click at the renderer", lambda: [
            e for e in self.demo_events() if e["event"] == "MouseButtonRelease"], 10)
        self.assertAlmostEqual(ev[0]["x"], 0.75 * W, delta=2)
        self.assertAlmostEqual(ev[0]["y"], 0.25 * H, delta=2)

        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(public + "/snapshot.jpg", context=ctx,
                                    timeout=10) as r:
            self.assertEqual(r.headers["Content-Type"], "image/jpeg")
            self.assertEqual(r.read(2), b"\xff\xd8")
        with urllib.request.urlopen(public + "/mjpeg", context=ctx,
                                    timeout=10) as r:
            self.assertTrue(r.headers["Content-Type"].startswith(
                "multipart/x-mixed-replace"), r.headers["Content-Type"])
            got = b""
            while got.count(b"\xff\xd8") < 2 and len(got) < 4 << 20:
                got += r.read1(65536)
            self.assertGreaterEqual(got.count(b"\xff\xd8"), 2)
        # The page's WebSocket went through nginx, accepted (nginx logs
        # it when it closes).
        self.browser.call("close", page="a")

        def ws_logged():
            with open(os.path.join(d, "access.log")) as f:
                return re.findall(r'"GET /viz/ws HTTP/1.1" (\d+)', f.read())
        self.assertEqual(self.wait("the WebSocket in nginx's log", ws_logged,
                                   10), ["101"])

    def test_ipv6_loopback(self):
        """--bind ::1: the page at http://[::1]:PORT/ is served and its
        WebSocket (Origin http://[::1]:PORT) accepted; frames arrive."""
        self.server, self.url = serve(
            self, "--segment", self.segment, "--bind", "::1", "--port", "0",
            "--ice-address", "::1")
        self.assertRegex(self.url, r"^http://\[::1\]:\d+/$")
        self.open("a")
        self.assertEqual(self.browser.js("a", "location.host"),
                         self.url[len("http://"):-1])
        first, second = self.wait_frames("a")
        self.assertGreater(second, first)
        self.wait("role", lambda: self.role("a") == "control")


if __name__ == "__main__":
    if not any(a.startswith("TlsFilesTest") for a in sys.argv[1:]):
        enter_namespace()
    unittest.main()
