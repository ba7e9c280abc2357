#!/usr/bin/env python3
"""pip install ./python, as a user would, into a virtual environment (with
Debian's numpy and setuptools from the system's site-packages: no network):
the installed package, alone, finds libvizstream through VIZSTREAM_LIB (or
the older VIZSTREAM_LIBRARY), or through pkg-config (this build's
meson-uninstalled .pc), and publishes a frame; without any, its error says
what to set."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vzpy  # noqa: E402,F401  (puts tests/integration on sys.path)
import vztest  # noqa: E402

SOURCE = os.path.abspath(vztest.SOURCE)
BUILD = os.path.abspath(vztest.BUILD)
LIB = os.path.join(BUILD, "lib", "vizstream", "libvizstream.so.0")

# Run in the venv's python: which library it loaded, and a frame published.
PROBE = r"""
import numpy as np, os, sys
import vizstream
print("module", os.path.dirname(vizstream.__file__))
print("library", vizstream.library_path)
with vizstream.Publisher(sys.argv[1], 64, 32, format="RGBA") as pub:
    pub.publish(np.full((32, 64, 4), 200, np.uint8))
    print("frames", pub.frames_published)
"""


class PipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        # A copy of python/: pip builds in the tree it is given (build/,
        # *.egg-info), and the source tree stays clean.
        cls.src = os.path.join(cls.tmp.name, "python")
        shutil.copytree(os.path.join(SOURCE, "python"), cls.src,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        venv = os.path.join(cls.tmp.name, "venv")
        t0 = time.monotonic()
        r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise unittest.SkipTest("no venv (python3-venv: scripts/install-deps.sh): %s"
                                    % r.stderr.strip()[-300:])
        cls.python = os.path.join(venv, "bin", "python3")
        r = subprocess.run([cls.python, "-m", "pip", "install", "--no-build-isolation",
                            "--no-index", "--disable-pip-version-check", cls.src],
                           capture_output=True, text=True, timeout=120,
                           cwd=cls.tmp.name)
        print("pip install: %.1f s" % (time.monotonic() - t0))
        if r.returncode != 0:
            raise AssertionError("pip install ./python failed:\n%s%s" % (r.stdout, r.stderr))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def probe(self, **env_set):
        env = {k: v for k, v in os.environ.items()
               if k not in ("VZ_BUILD_ROOT", "VIZSTREAM_LIB", "VIZSTREAM_LIBRARY",
                            "LD_LIBRARY_PATH", "PKG_CONFIG_PATH", "PYTHONPATH")}
        env.update(env_set)
        return subprocess.run([self.python, "-c", PROBE, vztest.unique_segment("pip")],
                              capture_output=True, text=True, env=env, cwd=self.tmp.name,
                              timeout=60)

    def loaded(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        got = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        # The venv's copy, not the source tree's.
        self.assertTrue(got["module"].startswith(self.tmp.name), got["module"])
        self.assertEqual(got["frames"], "1")
        return os.path.realpath(got["library"])

    def system_library(self):
        """A libvizstream the dynamic linker finds by itself (installed on
        this machine): it comes before pkg-config."""
        r = subprocess.run(["/usr/bin/python3", "-c",
                            "import ctypes; ctypes.CDLL('libvizstream.so.0')"],
                           capture_output=True, env={"PATH": os.environ.get("PATH", "")})
        return r.returncode == 0

    def test_installed_files(self):
        site = subprocess.run([self.python, "-c", "import vizstream, os; "
                               "print(os.path.dirname(vizstream.__file__))"],
                              capture_output=True, text=True,
                              env=dict(os.environ, VIZSTREAM_LIB=LIB)).stdout.strip()
        want = sorted(f for f in os.listdir(os.path.join(SOURCE, "python", "vizstream"))
                      if f.endswith(".py"))
        self.assertEqual(sorted(f for f in os.listdir(site) if f.endswith(".py")), want,
                         "every module, and no _paths.py (meson install's only)")

    def test_vizstream_lib(self):
        self.assertEqual(self.loaded(self.probe(VIZSTREAM_LIB=LIB)), os.path.realpath(LIB))

    def test_old_variable_still_works(self):
        self.assertEqual(self.loaded(self.probe(VIZSTREAM_LIBRARY=LIB)), os.path.realpath(LIB))

    def test_pkg_config(self):
        if self.system_library():
            self.skipTest("a libvizstream is installed on this machine: the loader finds it "
                          "before pkg-config")
        r = self.probe(PKG_CONFIG_PATH=os.path.join(BUILD, "meson-uninstalled"))
        self.assertEqual(self.loaded(r), os.path.realpath(LIB))

    def test_not_found_says_what_to_do(self):
        if self.system_library():
            self.skipTest("a libvizstream is installed on this machine")
        r = self.probe(PKG_CONFIG_PATH=self.tmp.name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("libvizstream not found", r.stderr)
        self.assertIn("VIZSTREAM_LIB=", r.stderr)

    def test_version_is_the_projects(self):
        with open(os.path.join(SOURCE, "meson.build")) as f:
            meson = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
        with open(os.path.join(SOURCE, "python", "pyproject.toml")) as f:
            pip = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M).group(1)
        self.assertEqual(pip, meson)


if __name__ == "__main__":
    unittest.main()
