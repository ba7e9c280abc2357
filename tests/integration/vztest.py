"""Helpers shared by the integration tests: paths, processes we start and
stop by pid, frame checks, and the demo's frame-number tag."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import signal
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("VZ_BUILD_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("VZ_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(BUILD, "examples", "demo", "vizstream-demo")
# The server under test: VZ_SERVER_BUILD names another build of it (the
# ASan + UBSan one, scripts/run-tests.sh) run against this build's plugins.
SERVER = os.path.join(os.environ.get("VZ_SERVER_BUILD", BUILD), "server",
                      "vizstream-server")
TEST_PUBLISHER = os.path.join(BUILD, "tests", "tools", "vz-test-publisher")
SPECPUB = os.path.join(SOURCE, "tests", "integration", "specpub.py")
PYTHON = "/usr/bin/python3"
PATTERN_K = 0x9E3779B1


def unique_segment(tag):
    return "vz-it-%s-%d-%d" % (tag, os.getpid(), int(time.monotonic_ns() % 1000000007))


class Processes:
    """Processes a test starts; all are ended (by pid) when it finishes."""

    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)
            for f in (p.stdout, p.stderr, p.stdin):
                if f:
                    f.close()


class ProcessTestCase(unittest.TestCase):
    def setUp(self):
        self.procs = Processes()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.procs.stop_all()
        self.tmp.cleanup()

    def wait_for_file(self, path, timeout=10):
        end = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > end:
                self.fail("%s did not appear within %s s" % (path, timeout))
            time.sleep(0.01)


def read_exact(stream, n):
    """n bytes from a pipe, or fewer at its end."""
    chunks, got = [], 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def check_pattern_frame(buf, width, height):
    """The frame number of a vz-test-publisher frame, or raise AssertionError
    if any word is not what that frame should hold."""
    import numpy as np
    words = np.frombuffer(buf, dtype=np.uint32, count=width * height)
    k = int(words[0])
    if words[1] != width or words[2] != height:
        raise AssertionError("frame %d says %dx%d, caps say %dx%d" % (k, words[1], words[2], width, height))
    expect = (np.arange(3, width * height, dtype=np.uint64) + k * PATTERN_K) & 0xFFFFFFFF
    bad = np.nonzero(words[3:] != expect.astype(np.uint32))[0]
    if len(bad):
        raise AssertionError("frame %d torn: %d wrong words, first at %d" % (k, len(bad), bad[0] + 3))
    return k


def tag_cell_size(width, height):
    return min(16, width // 40, height // 4)


def tag_check(n):
    return (((n & 0xFF) + ((n >> 8) & 0xFF) + ((n >> 16) & 0xFF)) ^ 0xA5) & 0xFF


def decode_tag(rgb, width, height):
    """The frame number drawn by vizstream-demo into an RGB (HxWx3 uint8)
    picture, or None if the tag does not read back consistently."""
    cell = tag_cell_size(width, height)
    if cell < 4:
        return None
    y = cell + cell // 2
    word = 0
    for b in range(32):
        x = cell * (b + 1) + cell // 2
        r, g, bl = (int(v) for v in rgb[y, x, :3])
        if (r + g + bl) / 3 > 128:
            word |= 1 << b
    n = word & 0xFFFFFF
    return n if (word >> 24) == tag_check(n) else None


def gst_launch():
    return ["gst-launch-1.0", "-q"]
