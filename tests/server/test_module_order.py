"""server/'s modules are ordered (docs/architecture.md): a module includes
(and so calls: implicit declarations are errors in this project) only
headers of modules listed before it in server/meson.build's
vs_server_sources. vs-embed.h, the public header, is open to all."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import re
import sys
import unittest

SOURCE = os.environ.get("VZ_SOURCE_ROOT",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER = os.path.join(SOURCE, "server")


def module_order():
    with open(os.path.join(SERVER, "meson.build")) as f:
        text = f.read()
    block = re.search(r"vs_server_sources = files\((.*?)\)", text, re.S).group(1)
    return [name[:-2] for name in re.findall(r"'(vs-[a-z]+\.c)'", block)]


class ModuleOrderTest(unittest.TestCase):
    def test_no_module_reaches_above_itself(self):
        order = module_order()
        self.assertGreater(len(order), 10)
        rank = {m: i for i, m in enumerate(order)}
        problems = []
        for name in sorted(os.listdir(SERVER)):
            stem, ext = os.path.splitext(name)
            if ext not in (".c", ".h") or stem in ("main", "vs-embed"):
                continue
            self.assertIn(stem, rank, "%s is not in vs_server_sources" % name)
            with open(os.path.join(SERVER, name)) as f:
                for inc in re.findall(r'#include "(vs-[a-z]+)\.h"', f.read()):
                    if inc == "vs-embed":
                        continue
                    if rank[inc] > rank[stem]:
                        problems.append("%s includes %s.h, a module above it"
                                        % (name, inc))
        self.assertEqual(problems, [])

    def test_main_uses_only_the_public_header(self):
        with open(os.path.join(SERVER, "main.c")) as f:
            self.assertEqual(re.findall(r'#include "(vs-[a-z]+\.h)"', f.read()),
                             ["vs-embed.h"])


if __name__ == "__main__":
    unittest.main()
