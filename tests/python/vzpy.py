"""Helpers shared by the Python binding's tests: the package and the
integration helpers on sys.path, the server under test, time bounds."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import vztest  # noqa: E402

# The server under test: VZ_SERVER_BUILD names another build of it (the
# sanitizer runs); otherwise serve() finds this build's by itself.
if os.environ.get("VZ_SERVER_BUILD"):
    os.environ["VIZSTREAM_SERVER"] = vztest.SERVER


def slack(seconds):
    """A time bound, stretched by VZ_TEST_TIME_SCALE (valgrind, ASan)."""
    return seconds * float(os.environ.get("VZ_TEST_TIME_SCALE", "1") or 1)


def process_alive(pid):
    """True while pid runs (a zombie does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
