"""Browser tests: vizstream-demo -> vizstream-server -> headless Chromium
(Debian's, driven by playwright-core through driver.mjs), all inside a
network namespace with only loopback up, so every packet stays on
127.0.0.1. Run one test: test_browser.py BrowserTest.test_frames_h264.

The test re-runs itself under `unshare -n` (root); where that is not
possible it is skipped (exit 77)."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import vztest  # noqa: E402

SERVER = vztest.SERVER
DRIVER = os.path.join(HERE, "driver.mjs")
W, H = 1280, 720


def enter_namespace():
    """Re-exec inside a fresh network namespace with loopback up."""
    if os.environ.get("VZ_NETNS") == "1":
        return
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        print("SKIP: unshare/ip (util-linux, iproute2) not installed")
        sys.exit(77)
    if not os.path.exists(os.path.join(HERE, "node_modules", "playwright-core")):
        print("SKIP: playwright-core not installed (scripts/install-deps.sh)")
        sys.exit(77)
    env = dict(os.environ, VZ_NETNS="1")
    args = ["unshare", "-n", "--", sys.executable] + sys.argv
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: cannot create a network namespace (needs root): %s"
              % probe.stderr.decode().strip())
        sys.exit(77)
    os.execvpe("unshare", args, env)


class Browser:
    def __init__(self, procs, prefix=()):
        self.proc = procs.start(list(prefix) + ["node", DRIVER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, cwd=HERE)
        self.n = 0

    def call(self, cmd, **kw):
        self.n += 1
        kw.update(id=self.n, cmd=cmd)
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the browser driver died")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError("%s: %s" % (cmd, answer["error"]))
        return answer["value"]

    def js(self, page, expr):
        return self.call("eval", page=page, expr=expr)

    def quit(self):
        try:
            self.call("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass


# profile_idc of H.264 Main and (constrained) Baseline
MAIN, BASELINE = 77, 66

# Before the page's script: every received H.264 frame passes through an
# insertable stream that reads the profile_idc of its SPS (Annex B, NAL
# type 7) and notes each change in window.__vzSps.
SPS_PROBE = r"""
(() => {
  const Base = window.RTCPeerConnection;
  window.__vzSps = [];
  window.RTCPeerConnection = function (config) {
    const pc = new Base(Object.assign({}, config, { encodedInsertableStreams: true }));
    pc.addEventListener('track', (e) => {
      const s = e.receiver.createEncodedStreams();
      s.readable.pipeThrough(new TransformStream({ transform(frame, out) {
        const b = new Uint8Array(frame.data);
        for (let i = 0; i + 4 < b.length; i++) {
          if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1 && (b[i + 3] & 0x1f) === 7) {
            const idc = b[i + 4], seen = window.__vzSps;
            if (seen[seen.length - 1] !== idc) seen.push(idc);
            break;
          }
        }
        out.enqueue(frame);
      } })).pipeTo(s.writable);
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Base.prototype;
})();
"""


class BrowserTestCase(vztest.ProcessTestCase):
    # vizstream-demo publishing into a segment that start_server serves
    start_demo = True

    def setUp(self):
        super().setUp()
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        self.segment = vztest.unique_segment("br")
        self.events = os.path.join(self.tmp.name, "events.jsonl")
        self.events_file = open(self.events, "w")
        if self.start_demo:
            self.demo = self.procs.start(
                [vztest.DEMO, "--segment", self.segment, "--size",
                 "%dx%d" % (W, H), "--fps", "30", "--tags", "--quiet", "--print-events"],
                stdout=self.events_file, stderr=subprocess.DEVNULL)
        self.browser = Browser(self.procs)
        self.server = None
        self.url = None

    def tearDown(self):
        self.browser.quit()
        self.events_file.close()
        if getattr(self, "server_log", None):
            self.server_log.close()
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"],
                       capture_output=True)
        super().tearDown()

    def start_server(self, *args, port=0):
        self.server_log = open(os.path.join(self.tmp.name, "server.log"), "a")
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", str(port),
             "--ice-address", "127.0.0.1"] + list(args),
            stdout=subprocess.PIPE, stderr=self.server_log, text=True)
        line = self.server.stdout.readline()
        m = re.search(r"serving (http://\S+)", line)
        if not m:
            self.server.wait(5)
            with open(self.server_log.name) as f:
                self.fail("server did not start: %r %s" % (line, f.read()[-2000:]))
        self.url = m.group(1)
        return self.server

    def status(self):
        with urllib.request.urlopen(self.url + "status", timeout=5) as r:
            return json.load(r)

    def open(self, page, query="", **kw):
        self.browser.call("open", page=page, url=self.url + query, **kw)

    def wait(self, what, cond, timeout=20, step=0.2):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = cond()
            if last:
                return last
            time.sleep(step)
        self.fail("%s: not within %s s (last: %r)" % (what, timeout, last))

    def frame(self, page):
        return self.browser.call("frame", page=page, rw=W, rh=H)["number"]

    def wait_frames(self, page, timeout=20):
        """Waits for the page to show demo frames; returns two frame
        numbers read 1 s apart (the picture is moving)."""
        first = self.wait("frames on page %s" % page,
                          lambda: self.frame(page), timeout)
        time.sleep(1.0)
        second = self.wait("more frames on page %s" % page,
                           lambda: (self.frame(page) or 0) > first and
                           self.frame(page), 10)
        return first, second

    def demo_events(self):
        with open(self.events) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def role(self, page):
        return self.browser.js(page, "window.vizstream.role")


class BrowserTest(BrowserTestCase):
    def check_codec(self, codec, mime):
        self.start_server("--codec", codec)
        self.open("a")
        first, second = self.wait_frames("a")
        # A new viewer sees a picture quickly (a key frame at once).
        first_ms = self.browser.js("a", "window.vizstream.firstFrameMs")
        print("first frame %.0f ms after the page opened" % first_ms)
        self.assertLess(first_ms, 3000)
        # ~30 frames a second: one second later, roughly 30 frames on.
        self.assertGreater(second - first, 10)
        self.assertLess(second - first, 120)
        # The picture is the renderer's frame: the number read from the
        # pixels equals the frame number the server tagged that frame with.
        self.browser.js("a", "window.vizstream.timing.clear(), true")
        self.browser.js("a", "document.getElementById('stats-toggle').click()")
        checks = []
        for _ in range(10):
            m = self.wait("frame timing", lambda: self.browser.call(
                "framecheck", page="a", rw=W, rh=H), 15)
            checks.append((m["pixels"], m["tagged"]))
        print("pixels/tagged:", checks)
        # The canvas copy may already hold a newer decoded frame now and then
        # (the decoder runs ahead of the compositor on a busy machine).
        self.assertGreaterEqual(sum(p == t for p, t in checks), 3, checks)
        self.assertTrue(all(0 <= p - t <= 4 for p, t in checks), checks)
        stats = self.wait("page stats", lambda: self.browser.js(
            "a", "window.vizstream.stats.codec && window.vizstream.stats"))
        self.assertEqual(stats["codec"], mime)
        self.assertEqual((stats["width"], stats["height"]), (W, H))
        st = self.status()
        self.assertEqual(len(st["viewers"]), 1)
        self.assertTrue(st["viewers"][0]["connected"])
        latency = self.wait("latency figure", lambda: self.browser.js(
            "a", "window.vizstream.lastLatency"))
        self.assertGreater(latency, 0)
        self.assertLess(latency, 2000)
        return st

    def test_frames_h264(self):
        st = self.check_codec("h264", "video/H264")
        # Chromium decodes Main: offered and sent (docs/server.md)
        sdp = self.browser.js("a", "window.vizstream.remoteSdp || ''")
        self.assertIn("profile-level-id=4d001f", sdp)
        self.assertIn("packetization-mode=1", sdp)
        self.assertEqual(st["variants"][0]["profile"], "main")
        self.assertEqual(st["viewers"][0]["h264_profile_level_id"], "4d001f")

    def test_h264_profile_follows_viewers(self):
        """Main while every viewer decodes it; constrained baseline while one
        does not (?baseline reports what Firefox does), and that viewer
        never gets a Main frame; Main again once it left. The profile is
        read from the SPS of every frame the pages receive (insertable
        streams), not from what the server says."""
        self.start_server()
        self.open("a", init=SPS_PROBE)
        self.wait_frames("a")
        st = self.status()
        self.assertEqual(st["variants"][0]["profile"], "main")
        self.assertEqual(self.sps("a"), [MAIN])
        self.open("b", "?baseline", init=SPS_PROBE)
        self.wait_frames("b")
        sdp = self.browser.js("b", "window.vizstream.remoteSdp || ''")
        self.assertIn("profile-level-id=42e01f", sdp)
        st = self.status()
        self.assertEqual(st["variants"][0]["profile"], "constrained-baseline")
        self.assertEqual(sorted(v["h264_profile_level_id"]
                                for v in st["viewers"]), ["42e01f", "4d001f"])
        self.wait_frames("a")
        self.assertEqual(self.sps("a"), [MAIN, BASELINE])
        self.assertEqual(self.sps("b"), [BASELINE])
        self.browser.call("close", page="b")
        self.wait("Main again", lambda: self.status()["variants"][0]["profile"]
                  == "main", 20)
        self.wait_frames("a")
        self.wait("page a sees Main again",
                  lambda: self.sps("a") == [MAIN, BASELINE, MAIN], 10)
        self.assertEqual(self.status()["variants"][0]["profile_switches"], 2)

    def test_still_picture_keeps_its_size(self):
        """The ladder's "still" (docs/server.md): at 1.2 Mbit/s the moving
        demo is sent at 960x540 and 30 fps (0.077 bits per pixel; the full
        size would get 0.043); stopped (layout paused, spin off: only its
        frame-number cells change), the whole 1280x720 at 15 fps, which a
        still picture's lines need; moving again, 960x540 at 30 fps. The
        pictures keep coming throughout."""
        self.start_server("--bitrate", "1200")
        self.open("a")
        self.wait_frames("a")
        seen = []

        def encode(width, fps):
            st = self.status()
            v = st["variants"][0]
            seen.append((v["width"], v["max_fps"], v["target_kbps"],
                         st["motion"], st["still"]))
            return v["width"] == width and v["max_fps"] == fps and v

        def wait(what, width, fps):
            end = time.monotonic() + 30
            while not encode(width, fps):
                if time.monotonic() > end:
                    self.fail("%s: not within 30 s; (width, max_fps, target, "
                              "motion, still) last seen: %r" % (what, seen[-10:]))
                time.sleep(0.2)

        wait("moving: 960x540 at 30 fps", 960, 30)
        self.assertGreater(self.status()["motion"], 0.01)
        self.assertFalse(self.status()["still"])
        self.browser.call("key", page="a", key="s")
        self.browser.call("key", page="a", key="Space")
        wait("still: 1280x720 at 15 fps", 1280, 15)
        self.assertTrue(self.status()["still"])
        self.wait_frames("a")
        self.browser.call("key", page="a", key="Space")
        self.browser.call("key", page="a", key="s")
        wait("moving again: 960x540 at 30 fps", 960, 30)
        self.wait_frames("a")

    def sps(self, page):
        """The profile_idc of each run of SPSs the page received."""
        return self.browser.js(page, "window.__vzSps || []")

    def test_frames_vp8(self):
        self.check_codec("vp8", "video/VP8")
        # the playout delay (0, 0) offered and taken by the browser (its
        # effect, the jitter buffer's delay, is bench_browser's to measure)
        uri = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
        for which in ("remoteSdp", "localSdp"):
            sdp = self.browser.js("a", "window.vizstream.%s || ''" % which)
            self.assertIn(uri, sdp, which)

    def test_vp8_key_frames_on_request(self):
        """vp8enc places no key frames of its own (keyframe-mode disabled,
        as webrtcsink): none in 9 quiet seconds (the settings before gave
        one every 4 s), yet a viewer that joins gets one at once, asked
        for by the server (the first viewer decodes it too: one encode)."""
        def keys(page):
            k = [r["keyFramesDecoded"] for r in self.browser.call(
                "rtcstats", page=page) if r.get("type") == "inbound-rtp"
                and r.get("kind") == "video"]
            self.assertEqual(len(k), 1)
            return k[0]

        self.start_server("--codec", "vp8")
        self.open("a")
        self.wait_frames("a")
        time.sleep(2)
        k0 = keys("a")
        time.sleep(9)
        k1 = keys("a")
        print("key frames decoded by the first viewer: %d, 9 s later %d"
              % (k0, k1))
        self.assertGreaterEqual(k0, 1)
        self.assertLessEqual(k1 - k0, 1)  # a picture loss request at most
        self.open("b")
        self.wait_frames("b")
        first_ms = self.browser.js("b", "window.vizstream.firstFrameMs")
        k2 = keys("a")
        print("second viewer: first frame %.0f ms after its page opened; "
              "the first viewer's key frames now %d" % (first_ms, k2))
        self.assertLess(first_ms, 3000)
        self.assertGreater(k2, k1)

    def test_low_profile(self):
        self.start_server("--profile", "low")
        self.open("a", "?stats")
        self.wait_frames("a")
        size = self.browser.js("a", "[document.getElementById('video').videoWidth,"
                               "document.getElementById('video').videoHeight]")
        self.assertEqual(size, [640, 360])
        time.sleep(3)
        st = self.status()["variants"][0]
        print("low profile:", json.dumps(st))
        self.assertLessEqual(st["target_kbps"], 300)
        self.assertLessEqual(st["fps"], 16.5)
        self.assertLess(st["kbps"], 450)
        # Still a usable picture: the frame numbers read back.
        self.wait_frames("a")

    def test_click_and_drag_reach_renderer(self):
        self.start_server()
        self.open("a")
        self.wait_frames("a")
        self.wait("role", lambda: self.role("a") == "control")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        self.browser.call("mouse", page="a", action="click", x=0.25, y=0.5)
        self.browser.call("mouse", page="a", action="down", x=0.5, y=0.5)
        self.browser.call("mouse", page="a", action="move", x=0.6, y=0.7, steps=8)
        self.browser.call("mouse", page="a", action="up", x=0.6, y=0.7)
        self.browser.call("mouse", page="a", action="wheel", x=0.5, y=0.5, dy=-100)
        self.browser.call("key", page="a", key="r")

        def complete():
            ev = self.demo_events()
            return ev if any(e["event"] == "KeyRelease" for e in ev) else None
        ev = self.wait("events at the renderer", complete, 10)
        names = [e["event"] for e in ev]
        press = [e for e in ev if e["event"] == "MouseButtonPress"]
        release = [e for e in ev if e["event"] == "MouseButtonRelease"]
        self.assertEqual(len(press), 2, names)
        self.assertEqual(len(release), 2, names)
        # Page coordinates land on the renderer's pixels (+-1 for rounding).
        self.assertAlmostEqual(press[0]["x"], 0.25 * W, delta=2)
        self.assertAlmostEqual(press[0]["y"], 0.5 * H, delta=2)
        self.assertAlmostEqual(release[1]["x"], 0.6 * W, delta=2)
        self.assertAlmostEqual(release[1]["y"], 0.7 * H, delta=2)
        drag = [e for e in ev if e["event"] == "MouseMove"
                and "button1-mask" in e["modifier_state"]]
        self.assertGreaterEqual(len(drag), 2, names)
        scroll = [e for e in ev if e["event"] == "MouseScroll"]
        self.assertEqual(len(scroll), 1)
        # dy=-100: the wheel rolled away from the user; delta_y > 0 as in
        # GStreamer's navigation events (docs/events.md, "The wheel's sign")
        self.assertGreater(scroll[0]["delta_y"], 0)
        self.assertIn("KeyPress", names)
        self.assertTrue(all(e.get("viewer_id") for e in ev))

    def test_touch_and_resize(self):
        self.start_server("--allow-resize")
        self.open("a", "?resize", width=800, height=600, touch=True)
        # The page asks for its own size; the demo obeys; the stream follows.
        self.wait("renderer resized", lambda: self.browser.js(
            "a", "[document.getElementById('video').videoWidth,"
            "document.getElementById('video').videoHeight]") == [800, 600], 20)
        self.assertTrue(any(e["event"] == "ResizeRequest" and e["width"] == 800
                            and e["height"] == 600 for e in self.demo_events()))
        self.browser.call("tap", page="a", x=0.5, y=0.25)
        ev = self.wait("touch at the renderer", lambda: [
            e for e in self.demo_events() if e["event"].startswith("Touch")]
            if any(e["event"] == "TouchUp" for e in self.demo_events()) else None, 10)
        self.assertEqual([e["event"] for e in ev][0], "TouchDown")
        self.assertEqual([e["event"] for e in ev][-1], "TouchUp")
        self.assertAlmostEqual(ev[0]["x"], 400, delta=2)
        self.assertAlmostEqual(ev[0]["y"], 150, delta=2)

    def test_resize_refused_without_option(self):
        self.start_server()
        self.open("a", "?resize", width=800, height=600)
        self.wait_frames("a")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        self.browser.js("a", "window.vizstream.forceSend({event:'ResizeRequest',"
                        "width:640,height:480})")
        self.browser.call("mouse", page="a", action="click", x=0.5, y=0.5)
        self.wait("click arrives", lambda: any(
            e["event"] == "MouseButtonRelease" for e in self.demo_events()), 10)
        self.assertFalse(any(e["event"] == "ResizeRequest" for e in self.demo_events()))
        self.assertEqual(self.browser.js(
            "a", "document.getElementById('video').videoWidth"), W)

    def test_error_in_one_viewer_bin(self):
        """An error from inside one WebRTC viewer's bin (its payloader, a
        test hook) closes that viewer only: the other page keeps decoding,
        the server keeps running and gets every element back."""
        os.environ["VIZSTREAM_TEST_HOOKS"] = "1"
        try:
            self.start_server()
        finally:
            del os.environ["VIZSTREAM_TEST_HOOKS"]
        self.open("a")
        self.wait_frames("a")
        base = self.status()["elements"]
        self.open("b")
        self.wait_frames("b")
        self.assertEqual(self.status()["elements"], base + 1)
        self.browser.js("a", "window.vizstream.sendSignal({type: 'test_error'})")
        st = self.wait("the server closes a", lambda: (
            len(self.status()["viewers"]) == 1 and self.status()))
        self.assertEqual(st["elements"], base)
        self.assertEqual(st["tee_pads"], 1)
        self.assertIsNone(self.server.poll())
        first, second = self.wait_frames("b")
        self.assertGreater(second, first)
        self.wait("b controls", lambda: self.role("b") == "control")
        with open(self.server_log.name) as f:
            self.assertIn("test hook: an error inside a viewer's bin", f.read())

    def test_two_pages_one_leaves(self):
        self.start_server()
        self.open("a")
        self.wait_frames("a")
        self.open("b")
        self.wait_frames("b")
        self.assertEqual(self.role("a"), "control")
        self.assertEqual(self.role("b"), "view")
        st = self.status()
        self.assertEqual(len(st["viewers"]), 2)
        self.assertEqual(st["variants"][0]["viewers"], 2)  # one encode
        self.browser.call("close", page="a")
        self.wait("server sees a leave", lambda: len(self.status()["viewers"]) == 1)
        self.wait_frames("b")
        # Control passes to the remaining viewer.
        self.wait("b controls", lambda: self.role("b") == "control")

    def test_viewers_leave_nothing_behind(self):
        """Pages that close, crash, or never finish negotiating give back
        every element and tee pad they held; the limit on viewers holds."""
        self.start_server("--negotiation-timeout", "3", "--max-viewers", "3")
        self.open("a")
        self.wait_frames("a")
        base = self.status()
        self.assertEqual(base["tee_pads"], 1)
        for round_ in range(2):
            self.open("b")
            self.open("c")
            self.wait_frames("b")
            self.wait_frames("c")
            self.assertGreater(self.status()["elements"], base["elements"])
            # A fourth is refused while three are in.
            c = http.client.HTTPConnection(self.url.split("//")[1].strip("/"), timeout=5)
            c.request("GET", "/ws", headers={
                "Connection": "Upgrade", "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            self.assertEqual(c.getresponse().status, 503)
            c.close()
            self.browser.call("close", page="b")
            self.browser.call("crash", page="c")
            self.browser.call("close", page="c")
            self.wait("viewers gone", lambda: len(self.status()["viewers"]) == 1, 20)
        # One that says hello and never answers the offer.
        self.browser.js("a", """new Promise((resolve) => {
            const ws = new WebSocket('ws://' + location.host + '/ws');
            ws.onopen = () => ws.send(JSON.stringify({type: 'hello'}));
            ws.onclose = () => resolve(true);
          })""")
        self.wait("back to one viewer", lambda: len(self.status()["viewers"]) == 1)
        st = self.status()
        self.assertEqual(st["elements"], base["elements"])
        self.assertEqual(st["tee_pads"], base["tee_pads"])
        self.wait_frames("a")

    def test_view_only_events_dropped(self):
        self.start_server()
        self.open("a")
        self.wait_frames("a")
        self.open("v", "?view")
        self.wait_frames("v")
        self.assertEqual(self.role("v"), "view")
        # Even a page that sends anyway (a hostile one) gets nowhere.
        self.wait("input channel", lambda: self.browser.js(
            "v", "window.vizstream.inputOpen"))
        self.browser.js("v", "window.vizstream.forceSend({event:'MouseButtonPress',"
                        "button:1,x:0.5,y:0.5})")
        self.browser.call("mouse", page="v", action="click", x=0.5, y=0.5)
        self.wait("dropped count", lambda: self.status()["view_only_dropped"] >= 1)
        time.sleep(0.5)
        self.assertEqual(self.demo_events(), [])

    def test_event_flood_rate_limited(self):
        """A controlling page that floods events is cut to --max-input-rate;
        the renderer gets a bounded number and another viewer keeps going."""
        self.start_server("--max-input-rate", "100")
        self.open("a")
        self.wait_frames("a")
        self.open("b", "?view")
        self.wait_frames("b")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        t0 = time.monotonic()
        sent = self.browser.js("a", """(() => { let n = 0;
            for (let i = 0; i < 3000; i++)
              n += window.vizstream.forceSend({event: 'MouseMove',
                x: (i % 100) / 100, y: 0.5, modifier_state: ''}) ? 1 : 0;
            return n; })()""")
        self.assertEqual(sent, 3000)
        self.wait("flood processed", lambda: self.status()["viewers"][0]
                  ["events_rate_limited"] + self.status()["viewers"][0]["events"]
                  >= 3000, 20)
        elapsed = time.monotonic() - t0
        st = self.status()["viewers"][0]
        print("flood: %d passed, %d rate-limited in %.1f s" % (
            st["events"], st["events_rate_limited"], elapsed))
        self.assertGreater(st["events_rate_limited"], 1000)
        self.assertLessEqual(st["events"], 100 + 100 * elapsed + 10)
        time.sleep(0.5)
        moves = [e for e in self.demo_events() if e["event"] == "MouseMove"]
        self.assertLessEqual(len(moves), st["events"])
        self.assertGreater(len(moves), 50)
        # The other viewer never noticed.
        self.wait_frames("b")

    def test_token_gives_control(self):
        token = os.path.join(self.tmp.name, "token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        os.chmod(token, 0o600)
        self.start_server("--token-file", token)
        self.open("a")
        self.wait_frames("a")
        # Alone without the token: view only (issue 15).
        self.wait("a viewer without the token watches",
                  lambda: self.role("a") == "view")
        self.open("t", "?stats&token=s3cret")
        self.wait_frames("t")
        self.wait("token holder controls", lambda: self.role("t") == "control")
        # The page took the token out of its address bar, nothing else.
        href = self.browser.js("t", "location.href")
        self.assertNotIn("s3cret", href)
        self.assertIn("?stats", href)
        self.open("x", "?token=wrong")
        self.wait_frames("x")
        self.assertEqual(self.role("x"), "view")
        self.assertIn("token is not valid",
                      str(self.browser.js("x", "window.vizstream.lastError")))
        # In the fragment: never sent to a server or a proxy's log.
        self.browser.call("close", page="t")
        self.open("f", "#token=s3cret")
        self.wait_frames("f")
        self.wait("a fragment token controls", lambda: self.role("f") == "control")
        self.assertNotIn("s3cret", self.browser.js("f", "location.href"))
        self.assertEqual(self.role("a"), "view")

    def test_server_restart_page_reconnects(self):
        self.start_server()
        port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self.open("a")
        self.wait_frames("a")
        self.procs.stop(self.server)
        self.wait("page notices", lambda: not self.browser.js(
            "a", "window.vizstream.connected"), 10)
        self.start_server(port=port)
        self.wait("page reconnected", lambda: self.browser.js(
            "a", "window.vizstream.connected"), 20)
        self.assertGreater(self.browser.js("a", "window.vizstream.reconnects"), 0)
        self.wait_frames("a")

    def test_bad_signalling_touches_nobody_else(self):
        self.start_server("--negotiation-timeout", "3")
        self.open("a")
        self.wait_frames("a")
        # A second client speaking nonsense, then one that never answers.
        errors = self.browser.js("a", """new Promise((resolve) => {
            const ws = new WebSocket('ws://' + location.host + '/ws');
            const got = [];
            ws.onopen = () => {
              ws.send('{not json'); ws.send('[1,2]');
              ws.send(JSON.stringify({type: 'answer', sdp: 'x'}));
              ws.send(JSON.stringify({type: 'hello'}));
              ws.send(JSON.stringify({type: 'answer', sdp: 'v=0 garbage'}));
              ws.send(JSON.stringify({type: 'ice', candidate: 5}));
              ws.send(JSON.stringify({type: 'what'}));
            };
            ws.onmessage = (e) => { const m = JSON.parse(e.data);
              if (m.type === 'error') got.push(m.message); };
            ws.onclose = () => resolve(got);
            setTimeout(() => resolve(got), 8000);
          })""")
        self.assertGreaterEqual(len(errors), 5, errors)
        self.assertTrue(any("malformed JSON" in e for e in errors), errors)
        self.assertTrue(any("hello first" in e for e in errors), errors)
        # The never-negotiating client was dropped after 3 s...
        self.assertTrue(any("negotiation" in e for e in errors), errors)
        self.wait("only a remains", lambda: len(self.status()["viewers"]) == 1)
        # ...and the page went on.
        self.wait_frames("a")
        self.assertTrue(self.browser.js("a", "window.vizstream.connected"))

    def test_origin_checked(self):
        self.start_server()
        host = self.url.split("//")[1].strip("/")
        for origin, want in (("http://evil.example", 403),
                             ("http://" + host, 101)):
            c = http.client.HTTPConnection(host, timeout=5)
            c.request("GET", "/ws", headers={
                "Origin": origin, "Connection": "Upgrade",
                "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            r = c.getresponse()
            self.assertEqual(r.status, want, origin)
            c.close()

    def test_congested_link_lowers_bitrate(self):
        cap_kbit = 1000
        self.start_server("--bitrate", "3000")
        self.open("a")
        self.wait_frames("a")
        # Loss (where the kernel has netem) and a bandwidth cap on loopback.
        netem = subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root",
                                "handle", "1:", "netem", "loss", "2%",
                                "delay", "10ms"], capture_output=True)
        parent = ["parent", "1:"] if netem.returncode == 0 else ["root"]
        print("netem %s; tbf %d kbit/s" % (
            "on" if netem.returncode == 0 else "not in this kernel", cap_kbit))
        subprocess.run(["tc", "qdisc", "add", "dev", "lo"] + parent +
                       ["handle", "2:", "tbf", "rate", "%dkbit" % cap_kbit,
                        "burst", "16kb", "latency", "60ms"], check=True)
        self.wait("target bitrate under the cap",
                  lambda: self.status()["variants"][0]["target_kbps"] < cap_kbit * 0.9,
                  40, 1.0)
        # The picture keeps moving under the cap.
        first, second = self.wait_frames("a", 20)
        self.assertGreater(second, first)
        st = self.status()
        print("under the cap:", json.dumps(st["variants"][0]))
        # Lift the cap: the bitrate comes back up.
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=True)
        self.wait("bitrate recovers", lambda: self.status()["variants"][0]
                  ["target_kbps"] > st["variants"][0]["target_kbps"] * 1.5, 60, 1.0)


    def check_http_transport(self, query, transport):
        self.start_server()
        self.open("a", query)
        first, second = self.wait_frames("a")
        self.assertGreater(second, first)
        self.assertEqual(self.browser.js("a", "window.vizstream.transport"), transport)
        st = self.status()["viewers"][0]
        self.assertEqual(st["transport"], transport)
        self.wait("role", lambda: self.role("a") == "control")
        self.browser.call("mouse", page="a", action="click", x=0.75, y=0.25)
        ev = self.wait("click at the renderer", lambda: [
            e for e in self.demo_events() if e["event"] == "MouseButtonRelease"], 10)
        self.assertAlmostEqual(ev[0]["x"], 0.75 * W, delta=2)
        self.assertAlmostEqual(ev[0]["y"], 0.25 * H, delta=2)
        return st

    def test_websocket_transport(self):
        """Encoded video over the WebSocket, decoded by WebCodecs."""
        self.check_http_transport("?transport=ws", "ws")
        # The canvas shows the frame the server said it sent.
        checks = [self.browser.call("wscheck", page="a", rw=W, rh=H)
                  for _ in range(5)]
        self.assertTrue(all(c["pixels"] == c["tagged"] for c in checks), checks)
        st = self.status()["viewers"][0]
        self.assertGreater(st["ws_frames"], 30)
        latency = self.wait("latency", lambda: self.browser.js(
            "a", "window.vizstream.lastLatency"))
        self.assertLess(latency, 2000)

    def test_websocket_client_that_never_acks(self):
        """A WebSocket viewer that takes frames but never acknowledges gets
        a bounded number of them; the rest are dropped, nothing piles up."""
        self.start_server()
        self.open("a")
        self.wait_frames("a")
        got = self.browser.js("a", """new Promise((resolve) => {
            const ws = new WebSocket('ws://' + location.host + '/ws');
            ws.binaryType = 'arraybuffer';
            let frames = 0;
            ws.onopen = () => ws.send(JSON.stringify({type: 'hello', transport: 'ws'}));
            ws.onmessage = (e) => { if (e.data instanceof ArrayBuffer) frames++; };
            setTimeout(() => { window._stuck = ws; resolve(frames); }, 4000);
          })""")
        self.assertGreater(got, 0)
        self.assertLessEqual(got, 6)
        ws = [v for v in self.status()["viewers"] if v.get("transport") == "ws"][0]
        self.assertEqual(ws["ws_frames"], got)
        # (most never get that far: delta frames stop at its queue while it
        # waits for a key frame, which is only sent when it has room)
        self.assertGreaterEqual(ws["ws_dropped"], 1)
        # The WebRTC page did not notice.
        self.wait_frames("a")

    def test_mjpeg_transport(self):
        self.check_http_transport("?transport=mjpeg", "mjpeg")

    def test_falls_back_when_ice_fails(self):
        """No ICE candidates in this namespace without --ice-address: the
        page gives up on WebRTC and takes the WebSocket path."""
        self.server = self.procs.start(
            [SERVER, "--segment", self.segment, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = re.search(r"serving (http://\S+)",
                             self.server.stdout.readline()).group(1)
        self.open("a", "?ice_timeout=3000")
        self.wait("fell back", lambda: self.browser.js(
            "a", "window.vizstream.transport") == "ws", 30)
        self.wait_frames("a")
        self.assertEqual(self.browser.js("a", "window.vizstream.fallbacks"), 1)

    def test_rtmp_restart_does_not_disturb_viewers(self):
        """nginx-rtmp killed and restarted mid-stream: the push comes back
        by itself and the WebRTC page never stops moving."""
        sys.path.insert(0, os.path.join(HERE, "..", "server"))
        from test_broadcast import free_port
        rtmp_port, http_port = free_port(), free_port()
        nginx_cmd = [os.path.join(vztest.SOURCE, "scripts", "nginx-rtmp.sh"),
                     os.path.join(self.tmp.name, "nginx"), str(rtmp_port),
                     str(http_port)]
        nginx = self.procs.start(nginx_cmd, stdout=subprocess.DEVNULL)
        time.sleep(1)
        self.start_server("--rtmp", "rtmp://127.0.0.1:%d/live/x" % rtmp_port)
        self.open("a")
        self.wait_frames("a")
        self.wait("rtmp live", lambda: self.status()["rtmp"][0]["state"] == "live", 20)
        samples = []

        def sample(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                n = self.frame("a")
                if n:
                    samples.append((time.monotonic(), n))
                time.sleep(0.2)
        sample(1)
        self.procs.stop(nginx)
        sample(3)
        self.assertIn("reconnecting", self.status()["rtmp"][0]["state"])
        self.procs.start(nginx_cmd, stdout=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while self.status()["rtmp"][0]["state"] != "live":
            self.assertLess(time.monotonic(), end, "rtmp did not come back")
            sample(0.5)
        sample(1)
        # The page's picture moved all along: never 1 s without a new frame.
        last_t, last_n = samples[0]
        for t, n in samples[1:]:
            if n > last_n:
                last_t, last_n = t, n
            self.assertLess(t - last_t, 1.0, samples)
        self.assertGreater(samples[-1][1] - samples[0][1], 60)

    def test_slow_viewer_gets_the_low_encode(self):
        """A viewer behind a slow link (its own namespace, a veth pair and a
        tbf cap) moves to the lower encode; the controlling viewer on
        loopback keeps the main one."""
        if shutil.which("nsenter") is None:
            self.skipTest("nsenter (util-linux) not installed")
        self.start_server("--bind", "0.0.0.0", "--ice-address", "10.77.0.1",
                          "--bitrate", "2500")
        port = self.url.rsplit(":", 1)[1].strip("/")
        self.open("a")
        self.wait_frames("a")
        slow = Browser(self.procs, prefix=["unshare", "-n", "--"])
        pid = str(slow.proc.pid)
        try:
            def run(*cmd):
                subprocess.run(cmd, check=True, capture_output=True)
            # unshare(1) makes the namespace before it runs node: until
            # then the veth's peer would land in ours.
            mine = os.readlink("/proc/self/ns/net")
            self.wait("the browser's own network namespace", lambda:
                      os.readlink("/proc/%s/ns/net" % pid) != mine, 10, 0.01)
            run("ip", "link", "add", "vz0", "type", "veth", "peer", "name",
                "vz1", "netns", pid)
            run("ip", "addr", "add", "10.77.0.1/24", "dev", "vz0")
            run("ip", "link", "set", "vz0", "up")
            for cmd in (["ip", "link", "set", "lo", "up"],
                        ["ip", "addr", "add", "10.77.0.2/24", "dev", "vz1"],
                        ["ip", "link", "set", "vz1", "up"]):
                run("nsenter", "-t", pid, "-n", *cmd)
            run("tc", "qdisc", "add", "dev", "vz0", "root", "tbf", "rate",
                "500kbit", "burst", "16kb", "latency", "60ms")
            slow.call("open", page="s", url="http://10.77.0.1:%s/" % port)

            def viewer(role):
                vs = [v for v in self.status()["viewers"] if v["role"] == role]
                return vs[0] if vs else None
            self.wait("slow viewer on the low encode",
                      lambda: (viewer("view") or {}).get("variant") == "low", 40, 1.0)
            st = self.status()
            print(json.dumps(st["variants"]))
            self.assertEqual(len(st["variants"]), 2)
            self.assertEqual(viewer("control")["variant"], "main")
            main, low = st["variants"]
            self.assertLess(low["width"], main["width"])
            # Both pictures keep moving.
            self.wait_frames("a")
            first = self.wait("slow page frames", lambda: slow.call(
                "frame", page="s", rw=W, rh=H)["number"], 20)
            self.wait("slow page moving", lambda: (slow.call(
                "frame", page="s", rw=W, rh=H)["number"] or 0) > first, 20)
            # The main encode did not follow the slow viewer down.
            self.assertGreater(self.status()["variants"][0]["target_kbps"], 1000)
        finally:
            slow.quit()
            subprocess.run(["ip", "link", "del", "vz0"], capture_output=True)


GLDEMO = os.path.join(vztest.BUILD, "examples", "gl", "vizstream-gldemo")
GW, GH = 640, 360


class FullHdBrowserTest(BrowserTestCase):
    """1920x1080 over WebRTC (H.264): the page decodes the stream at its
    frame rate, not only its key frames. Read from the page's own
    RTCPeerConnection.getStats() (inbound-rtp), which the page keeps
    private: an init script keeps a reference to each peer connection
    the page makes."""
    start_demo = False
    HW, HH = 1920, 1080
    KEEP_PCS = """(() => { const Native = window.RTCPeerConnection;
      window.__vzPcs = [];
      window.RTCPeerConnection = function (...a) {
        const pc = new Native(...a); window.__vzPcs.push(pc); return pc; };
      window.RTCPeerConnection.prototype = Native.prototype; })();"""
    INBOUND = """(async () => {
      const pc = (window.__vzPcs || []).slice(-1)[0];
      if (!pc) return null;
      let v = null;
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') v = r; });
      return v && { t: performance.now() / 1000, decoded: v.framesDecoded || 0,
        dropped: v.framesDropped || 0, keys: v.keyFramesDecoded || 0,
        plis: v.pliCount || 0, lost: v.packetsLost || 0,
        width: v.frameWidth, height: v.frameHeight,
        decoder: v.decoderImplementation || 'not given' }; })()"""

    def inbound(self, page):
        return self.browser.js(page, self.INBOUND)

    def test_1080p_decodes_every_frame(self):
        self.demo = self.procs.start(
            [vztest.DEMO, "--segment", self.segment, "--size",
             "%dx%d" % (self.HW, self.HH), "--fps", "30", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # 4 Mbit/s: enough that the ladder keeps the full size
        # (docs/server.md), so the page gets 1920x1080 itself.
        self.start_server("--bitrate", "4000")
        self.browser.call("open", page="a", url=self.url, width=self.HW,
                          height=self.HH, init=self.KEEP_PCS)
        self.wait("1920x1080 frames decoded in the page", lambda: (
            (self.inbound("a") or {}).get("width") == self.HW
            and self.inbound("a")["decoded"] > 0), 30)
        time.sleep(2)                   # past the first key frames
        a = self.inbound("a")
        time.sleep(4)
        b = self.inbound("a")
        dt = b["t"] - a["t"]
        decoded, plis = b["decoded"] - a["decoded"], b["plis"] - a["plis"]
        print("1920x1080 in the page: %.1f fps decoded, %d dropped, %d key "
              "frames, %d PLIs in %.1f s (%s)" % (
                  decoded / dt, b["dropped"] - a["dropped"], b["keys"] - a["keys"],
                  plis, dt, b["decoder"]))
        self.assertEqual((b["width"], b["height"]), (self.HW, self.HH))
        self.assertEqual(self.status()["variants"][0]["width"], self.HW)
        # The demo sends 30 fps; a page that decodes only key frames
        # (one per 200 ms at most, what the server gives PLIs) shows 5.
        self.assertGreaterEqual(decoded / dt, 15, (a, b))
        # The page does not ask for a key frame after every frame it gets.
        self.assertLessEqual(plis, max(2, decoded // 10), (a, b))
        self.assertLessEqual(b["dropped"] - a["dropped"], decoded // 10, (a, b))


class GlDemoBrowserTest(BrowserTestCase):
    """vizstream-gldemo: an OpenGL program (EGL, llvmpipe) whose FBO
    glreadbacksrc streams through the embedded server; the page's events
    come back to its camera. It draws the demo's tags: the frame number in
    cell row 1, the number of events it has applied in row 6."""
    start_demo = False

    def start_gldemo(self):
        self.server_log = open(os.path.join(self.tmp.name, "gldemo.log"), "a")
        env = dict(os.environ, GST_GL_WINDOW="egl-device")
        # stdout: the "serving" line, then the events applied, as JSON lines
        self.server = self.procs.start(
            [GLDEMO, "--size", "%dx%d" % (GW, GH), "--fps", "30", "--cubes",
             "4", "--print-events", "--port", "0", "--ice-address",
             "127.0.0.1", "--quiet"],
            stdout=self.events_file, stderr=self.server_log, env=env)

        def serving():
            with open(self.events) as f:
                m = re.search(r"serving (http://\S+)", f.read())
            if self.server.poll() is not None:
                with open(self.server_log.name) as f:
                    self.fail("vizstream-gldemo exited: %s" % f.read()[-2000:])
            return m and m.group(1)
        self.url = self.wait("vizstream-gldemo serving", serving, 20)

    def gl_frame(self, page):
        return self.browser.call("frame", page=page, rw=GW, rh=GH)

    def test_gl_scene_to_browser_camera_follows(self):
        self.start_gldemo()
        self.open("a")
        first = self.wait("GL frames on the page",
                          lambda: self.gl_frame("a")["number"], 30)
        time.sleep(1.0)
        second = self.wait("the GL scene moving", lambda: (
            self.gl_frame("a")["number"] or 0) > first and
            self.gl_frame("a")["number"], 10)
        print("GL frames %d -> %d in ~1 s" % (first, second))
        self.assertGreater(second - first, 5)
        st = self.status()
        self.assertEqual(st["renderer"], "application")
        self.assertEqual((st["source_width"], st["source_height"]), (GW, GH))
        self.assertTrue(st["viewers"][0]["connected"])
        size = self.browser.js("a", "[document.getElementById('video')"
                               ".videoWidth, document.getElementById('video')"
                               ".videoHeight]")
        self.assertEqual(size, [GW, GH])

        # The viewer drags: the events reach the program, which applies
        # them to its camera and counts them in the picture's row 6.
        self.wait("role", lambda: self.role("a") == "control")
        self.wait("input channel", lambda: self.browser.js(
            "a", "window.vizstream.inputOpen"))
        # nothing applied yet: the counter reads 0
        self.assertEqual(self.gl_frame("a")["events"], 0)
        self.browser.call("mouse", page="a", action="down", x=0.5, y=0.5)
        self.browser.call("mouse", page="a", action="move", x=0.7, y=0.6,
                          steps=8)
        self.browser.call("mouse", page="a", action="up", x=0.7, y=0.6)
        self.browser.call("key", page="a", key="r")

        def applied():
            ev = [json.loads(line) for line in open(self.events)
                  if line.startswith("{")]
            return ev if any(e["event"] == "KeyPress" for e in ev) else None
        try:
            ev = self.wait("events at the GL program", applied, 10)
        except AssertionError:
            with open(self.events) as f, open(self.server_log.name) as g:
                print("status:", json.dumps(self.status()["viewers"]))
                print("gldemo stdout:", f.read()[-3000:], "log:",
                      g.read()[-3000:])
            raise
        names = [e["event"] for e in ev]
        press = [e for e in ev if e["event"] == "MouseButtonPress"]
        release = [e for e in ev if e["event"] == "MouseButtonRelease"]
        self.assertEqual(len(press), 1, names)
        self.assertEqual(len(release), 1, names)
        # normalized page coordinates -> the program's pixels
        self.assertAlmostEqual(press[0]["x"], 0.5 * GW, delta=2)
        self.assertAlmostEqual(press[0]["y"], 0.5 * GH, delta=2)
        self.assertAlmostEqual(release[0]["x"], 0.7 * GW, delta=2)
        self.assertAlmostEqual(release[0]["y"], 0.6 * GH, delta=2)
        drag = [e for e in ev if e["event"] == "MouseMove"
                and "button1-mask" in e["modifier_state"]]
        self.assertGreaterEqual(len(drag), 2, names)
        # the picture says so too: the events counter it draws has moved
        # to at least the events seen (a later frame may count more)
        self.wait("events counted in the picture", lambda: (
            self.gl_frame("a")["events"] or 0) >= len(ev), 10)
        # an interaction round trip: an event sent, until a frame shown
        # whose events counter moved
        rtt = self.browser.call("rtt", page="a", rw=GW, rh=GH)
        print("GL program interaction round trip: %s ms" % rtt)
        self.assertIsNotNone(rtt)
        self.server.terminate()
        self.assertEqual(self.server.wait(10), 0)


if __name__ == "__main__":
    enter_namespace()
    unittest.main()
