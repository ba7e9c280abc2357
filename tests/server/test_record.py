"""vizstream-server --record (issue 16 item 5), without a browser:

- the file plays: every frame decodes and carries the demo's frame number,
  as many frames as the demo published while it recorded;
- the controller's input, recorded beside it, replays through
  `filesrc ! interactsink timing=recorded` into a second demo, which prints
  the same events in the same order with their timing;
- the server killed with SIGKILL mid-recording leaves a file that plays;
- --record-max-seconds gives several files, each playable, each with its
  input, frames and events neither lost nor doubled between them;
- a bad directory: exit 2 with the reason; a full disk: a log line and
  /status say so, the viewers go on."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import vztest  # noqa: E402
from test_security import WebSocket  # noqa: E402

SERVER = vztest.SERVER
W, H, FPS = 640, 360, 30
SCALE = float(os.environ.get("VZ_TEST_TIME_SCALE", "1"))


def slack(seconds):
    return seconds * SCALE


class Rgb:
    """An rgb24 picture as vztest.decode_tag reads it (rgb[y, x, :3])."""

    def __init__(self, data):
        self.data = data

    def __getitem__(self, index):
        y, x, _ = index
        o = (y * W + x) * 3
        return self.data[o:o + 3]


def frame_numbers(path):
    """The demo's frame number of every frame of a recording, and what
    ffmpeg said on stderr while decoding it (nothing when it is whole)."""
    # Each frame as it is (no frame rate conversion), timed to the ms.
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode",
                        "passthrough", "-enc_time_base", "1/1000", "-f",
                        "rawvideo", "-pix_fmt", "rgb24", "-"],
                       capture_output=True, timeout=120)
    size = W * H * 3
    frames = [p.stdout[i:i + size] for i in range(0, len(p.stdout), size)]
    return ([vztest.decode_tag(Rgb(f), W, H) for f in frames],
            p.stderr.decode(errors="replace"))


def probe(path):
    p = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames",
         "-of", "json", path], capture_output=True, text=True, timeout=60)
    return json.loads(p.stdout)["streams"][0]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def untimed(events):
    return [{k: v for k, v in e.items() if k != "time"} for e in events]


class RecordTest(vztest.ProcessTestCase):
    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.tmp.name, "rec")
        os.mkdir(self.dir)

    def start_demo(self, tag):
        """A demo printing the events it gets; (segment, lines with the
        time each was read)."""
        segment = vztest.unique_segment(tag)
        p = self.procs.start([vztest.DEMO, "--segment", segment, "--size",
                              "%dx%d" % (W, H), "--fps", str(FPS), "--tags",
                              "--quiet", "--print-events"],
                             stdout=subprocess.PIPE, text=True)
        lines = []

        def read():
            for line in p.stdout:
                if line.startswith("{"):
                    lines.append((time.monotonic(), json.loads(line)))
        threading.Thread(target=read, daemon=True).start()
        return segment, lines

    def start_server(self, *args, wrap=()):
        self.log = os.path.join(self.tmp.name, "server.log")
        log = open(self.log, "a")
        self.addCleanup(log.close)
        self.server = self.procs.start(
            list(wrap) + [SERVER, "--segment", self.segment, "--port", "0",
                          "--record", self.dir] + list(args),
            stdout=subprocess.PIPE, stderr=log, text=True)
        m = re.search(r"serving http://([\d.]+):(\d+)/",
                      self.server.stdout.readline())
        self.assertTrue(m, "the server did not start")
        self.host, self.port = m.group(1), int(m.group(2))

    def status(self):
        with urllib.request.urlopen("http://%s:%d/status" % (self.host,
                                                              self.port),
                                    timeout=5) as r:
            return json.load(r)

    def wait(self, what, cond, timeout=15):
        end = time.monotonic() + slack(timeout)
        last = None
        while time.monotonic() < end:
            last = cond()
            if last:
                return last
            time.sleep(0.1)
        self.fail("%s: not within %s s (last: %r)" % (what, timeout, last))

    def join(self, transport="mjpeg"):
        """A viewer over the WebSocket; the first controls."""
        ws = WebSocket(self.host, self.port)
        self.assertEqual(ws.status, 101)
        self.addCleanup(ws.close)
        ws.send(json.dumps({"type": "hello", "transport": transport}))
        return ws

    def send_events(self, ws, n, gap):
        """n pointer events gap seconds apart (normalized, as pages send
        them), then a key the renderer prints once all went through."""
        for i in range(n):
            ws.send(json.dumps({"type": "input", "data": json.dumps(
                {"event": "MouseMove", "x": (i + 1) / (n + 2), "y": 0.5,
                 "modifier_state": ""})}))
            time.sleep(gap)
        ws.send(json.dumps({"type": "input", "data": json.dumps(
            {"event": "KeyPress", "key": "F12"})}))

    def record(self, *args, events=20, gap=0.1):
        """Demo, server recording, a controller sending events; returns the
        events as the demo printed them."""
        self.segment, self.printed = self.start_demo("rec")
        self.start_server(*args)
        self.wait("recording", lambda: self.status()["record"]["state"] ==
                  "recording")
        ws = self.join()
        time.sleep(0.3)
        self.send_events(ws, events, gap)
        self.wait("the events reach the renderer", lambda: any(
            e["event"] == "KeyPress" for _, e in self.printed))
        return [e for _, e in self.printed]

    def files(self):
        videos = sorted(glob.glob(os.path.join(self.dir, "*.mkv")))
        for v in videos:
            self.assertTrue(os.path.exists(v[:-4] + ".jsonl"), v)
        self.assertEqual(len(glob.glob(os.path.join(self.dir, "*.jsonl"))),
                         len(videos))
        return videos

    def check_plays(self, path):
        """Every frame decodes and is a newer demo frame; the numbers."""
        info = probe(path)
        self.assertEqual((info["codec_name"], info["width"], info["height"]),
                         ("h264", W, H))
        numbers, errors = frame_numbers(path)
        self.assertEqual(errors, "", "%s decodes without error" % path)
        self.assertEqual(len(numbers), int(info["nb_read_frames"]))
        self.assertGreater(len(numbers), 0)
        self.assertNotIn(None, numbers, "every frame carries its number")
        self.assertEqual(numbers, sorted(set(numbers)), "in order, none twice")
        return numbers

    def test_file_plays_every_frame_published(self):
        printed = self.record(events=20)
        time.sleep(1)
        st = self.status()["record"]
        self.assertEqual(st["files"], 1)
        self.assertGreater(st["frames"], FPS)
        self.assertGreater(st["events"], 20)
        self.assertEqual(self.procs.stop(self.server), 0)
        with open(self.log) as f:
            log = f.read()
        self.assertRegex(log, r"record: writing \S+\.mkv")
        self.assertRegex(log, r"record: closed \S+\.mkv: \d+ frames")
        [video] = self.files()
        numbers = self.check_plays(video)
        # The frames the demo published while recording: all in the file
        # (the encode may skip one when the timing jitters).
        published = numbers[-1] - numbers[0] + 1
        self.assertGreater(published, 3 * FPS)
        self.assertGreaterEqual(len(numbers), 0.95 * published)
        # Beside it, the events the renderer got (in its pixels), timed
        # within the video.
        recorded = read_jsonl(video[:-4] + ".jsonl")
        self.assertEqual(untimed(recorded), printed)
        times = [e["time"] for e in recorded]
        self.assertEqual(times, sorted(times))
        self.assertGreater(times[0], 0)
        self.assertLess(times[-1], len(numbers) / FPS + 0.5)

    def test_input_replays_through_interactsink(self):
        printed = self.record(events=15, gap=0.15)
        self.assertEqual(self.procs.stop(self.server), 0)
        [video] = self.files()
        recorded = read_jsonl(video[:-4] + ".jsonl")
        self.assertEqual(untimed(recorded), printed)
        # A second renderer gets the session again, paced by "time".
        segment, replayed = self.start_demo("replay")
        time.sleep(0.5)
        p = subprocess.run(vztest.gst_launch() + [
            "filesrc", "location=" + video[:-4] + ".jsonl", "!",
            "interactsink", "segment=" + segment, "timing=recorded"],
            capture_output=True, text=True, timeout=slack(60))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait("the replay reaches the renderer",
                  lambda: len(replayed) >= len(recorded))
        time.sleep(0.3)
        self.assertEqual([e for _, e in replayed], printed)
        # With the recorded timing: the gaps as they were (the demo reads
        # events once a frame).
        t_rec = [e["time"] for e in recorded]
        t_rep = [t for t, _ in replayed]
        span_rec, span_rep = t_rec[-1] - t_rec[0], t_rep[-1] - t_rep[0]
        self.assertGreater(span_rec, 14 * 0.15 - 0.1)
        self.assertLess(abs(span_rep - span_rec), slack(0.25))
        for i in range(1, len(t_rec)):
            self.assertLess(abs((t_rep[i] - t_rep[i - 1]) -
                                (t_rec[i] - t_rec[i - 1])), slack(0.15), i)

    def test_sigkill_leaves_a_playable_file(self):
        self.record(events=10)
        time.sleep(2)
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()
        [video] = self.files()
        numbers = self.check_plays(video)
        self.assertGreater(len(numbers), 2 * FPS)
        # The input written so far: whole lines.
        recorded = read_jsonl(video[:-4] + ".jsonl")
        self.assertEqual([e["event"] for e in recorded],
                         ["MouseMove"] * 10 + ["KeyPress"])

    def test_rotation_by_time(self):
        printed = self.record("--record-max-seconds", "2", events=50)
        time.sleep(1)
        self.assertEqual(self.procs.stop(self.server), 0)
        videos = self.files()
        self.assertGreaterEqual(len(videos), 3)
        previous, events = None, []
        for v in videos:
            numbers = self.check_plays(v)
            # 2 s, and the key frame asked for then: a frame or two more.
            self.assertLessEqual(len(numbers), 2.5 * FPS, v)
            if previous is not None:
                self.assertGreaterEqual(numbers[0] - previous, 1)
                self.assertLessEqual(numbers[0] - previous, 3,
                                     "no frame lost between files")
            previous = numbers[-1]
            recorded = read_jsonl(v[:-4] + ".jsonl")
            for e in recorded:
                self.assertLessEqual(e["time"], len(numbers) / FPS + 0.2, v)
            events += untimed(recorded)
        self.assertEqual(events, printed, "each event in one file, in order")

    def test_new_size_new_file(self):
        """Matroska keeps one frame size a file: the renderer's new size
        starts a new file."""
        self.segment, self.printed = self.start_demo("size")
        self.start_server("--allow-resize")
        self.wait("recording", lambda: self.status()["record"]["state"] ==
                  "recording")
        ws = self.join()
        time.sleep(1)
        ws.send(json.dumps({"type": "input", "data": json.dumps(
            {"event": "ResizeRequest", "width": 320, "height": 180})}))
        self.wait("a second file", lambda: self.status()["record"]["files"]
                  == 2)
        time.sleep(1)
        self.assertEqual(self.procs.stop(self.server), 0)
        first, second = self.files()
        self.check_plays(first)
        info = probe(second)
        self.assertEqual((info["width"], info["height"]), (320, 180))
        p = subprocess.run(["ffmpeg", "-v", "error", "-i", second, "-f", "null",
                            "-"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.stderr, "")
        self.assertGreater(int(info["nb_read_frames"]), 10)
        self.assertEqual(read_jsonl(first[:-4] + ".jsonl")[0]["event"],
                         "ResizeRequest")

    def test_bad_directory_exits_2(self):
        missing = os.path.join(self.tmp.name, "missing")
        plain = os.path.join(self.tmp.name, "plain")
        open(plain, "w").close()
        for args, says in [
                (["--record", missing], "'%s' does not exist" % missing),
                (["--record", plain], "'%s' is not a directory" % plain),
                (["--record", self.dir, "--record-max-size", "12x"],
                 "--record-max-size wants"),
                (["--record", self.dir, "--record-max-seconds", "0"],
                 "--record-max-seconds wants"),
                (["--record-max-seconds", "5"], "go with --record")]:
            p = subprocess.run([SERVER, "--segment", "x", "--port", "0"] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(says, p.stderr)
        self.assertEqual(os.listdir(self.dir), [])

    def test_full_disk_stops_the_recording_only(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a small tmpfs in its own mount "
                          "namespace")
        if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
            self.skipTest("unshare -m does not work here")
        self.segment, _ = self.start_demo("full")
        # The server in its own mount namespace, with a 400 kB disk.
        self.start_server(wrap=[
            "unshare", "-m", "sh", "-c",
            'mount -t tmpfs -o size=400k tmpfs "$0" && exec "$@"', self.dir])
        viewer = self.join("ws")
        self.assertGreater(viewer.pump(1)[1], 10)
        st = self.wait("the recording fails", lambda: (
            self.status()["record"]["state"] == "failed" and self.status()),
            timeout=20)["record"]
        self.assertIn("No space left", st["last_error"])
        with open(self.log) as f:
            self.assertRegex(f.read(), r"record: stopped: cannot write \S+: "
                             r"No space left")
        # The stream goes on.
        self.assertGreater(viewer.pump(2)[1], 30)
        self.assertIsNone(self.server.poll())
        self.assertEqual(self.procs.stop(self.server), 0)


if __name__ == "__main__":
    unittest.main()
