"""meson install into a staging directory, then only what it installed: the
README's C renderer compiled against it (and against the build tree), the
plugins, vizstream-server serving that renderer, the Python package and the
systemd unit; and where each lands for the prefixes people use."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import vztest  # noqa: E402

BUILD = os.path.abspath(vztest.BUILD)
SOURCE = os.path.abspath(vztest.SOURCE)
MESON = shutil.which("meson")
WIDTH, HEIGHT = 1280, 720           # the README renderer's frame


def slack(seconds):
    return seconds * float(os.environ.get("VZ_TEST_TIME_SCALE", "1"))


def readme_renderer():
    """The README's C renderer, as it stands there, and the command line its
    first comment gives."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- renderer\.c:[^>]*-->\s*```c\n(.*?)```", text, re.S)
    if m is None:
        raise AssertionError("README.md has no C block after <!-- renderer.c: -->")
    code = m.group(1)
    cmd = re.match(r"/\* renderer\.c: (cc .*?) \*/", code)
    if cmd is None:
        raise AssertionError("the README renderer does not start with its cc line")
    return code, cmd.group(1)


def jpeg_size(data):
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise AssertionError("not a JPEG marker at %d" % i)
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xC3:
            return (int.from_bytes(data[i + 7:i + 9], "big"),
                    int.from_bytes(data[i + 5:i + 7], "big"))
        i += 2 + length
    raise AssertionError("no start of frame in the JPEG")


def mapped_files(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}


class InstallTest(vztest.ProcessTestCase):
    def setUp(self):
        super().setUp()
        if MESON is None:
            self.skipTest("meson not on PATH")
        opts = self.introspect(BUILD, "--buildoptions")
        if opts.get("b_sanitize", "none") != "none":
            self.skipTest("a sanitizer build: its library needs the sanitizer runtime "
                          "in every program linked with it")
        self.stage = os.path.join(self.tmp.name, "stage")

    # ---- helpers ----

    def introspect(self, build, what):
        r = subprocess.run([MESON, "introspect", build, what], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        if what == "--buildoptions":
            return {o["name"]: o["value"] for o in out}
        return out

    def install(self):
        """meson install of the build as it is, into self.stage; returns the
        installed files by name: (final path, staged path)."""
        r = subprocess.run([MESON, "install", "-C", BUILD, "--no-rebuild", "--quiet",
                            "--destdir", self.stage], capture_output=True, text=True,
                           timeout=slack(120))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = {}
        for dst in self.introspect(BUILD, "--installed").values():
            files[os.path.basename(dst)] = (dst, self.stage + dst)
            self.assertTrue(os.path.lexists(self.stage + dst), dst)
        for name in ("libvizstream.so.0", "libgstvizstream.so", "vizstream-server",
                     "vizstream.pc", "vizstream.h", "__init__.py", "_paths.py"):
            self.assertIn(name, files)
        return files

    def staged_env(self, files, system_plugins=True):
        """The environment of a user of the staged install: nothing from the
        build tree, its plugins alone or with the system's, a registry of its
        own."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GST_PLUGIN_PATH", "VZ_", "VIZSTREAM_", "PYTHONPATH",
                                    "LD_LIBRARY_PATH", "PKG_CONFIG"))}
        env["GST_PLUGIN_PATH_1_0"] = os.path.dirname(files["libgstvizstream.so"][1])
        env["GST_PLUGIN_SYSTEM_PATH_1_0"] = (self.pkgconfig("--variable=pluginsdir",
                                                            "gstreamer-1.0")
                                             if system_plugins else "")
        env["GST_REGISTRY_1_0"] = os.path.join(
            self.tmp.name, "registry-%s.bin" % ("system" if system_plugins else "ours"))
        # The prefix is not the real one: the dynamic linker is told where
        # the staged library is, as it would be for any prefix outside its
        # search path.
        env["LD_LIBRARY_PATH"] = os.path.dirname(files["libvizstream.so.0"][1])
        return env

    def pkgconfig(self, *args, env=None):
        r = subprocess.run(["pkg-config"] + list(args), capture_output=True, text=True,
                           env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def compile_renderer(self, pkg_env):
        """The README renderer, compiled by the README's own command line in
        pkg_env; returns its path and the vizstream.h it included."""
        code, cmd = readme_renderer()
        d = os.path.join(self.tmp.name, "renderer-%d" % len(os.listdir(self.tmp.name)))
        os.mkdir(d)
        with open(os.path.join(d, "renderer.c"), "w") as f:
            f.write(code)
        env = dict(os.environ, **pkg_env)
        r = subprocess.run(["bash", "-c", cmd], cwd=d, env=env, capture_output=True,
                           text=True, timeout=slack(120))
        self.assertEqual(r.returncode, 0, "%s\n%s" % (cmd, r.stderr))
        cflags = self.pkgconfig("--cflags", "vizstream", env=env).split()
        r = subprocess.run(["cc", "-M", "renderer.c"] + cflags, cwd=d, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        header = [w for w in r.stdout.replace("\\\n", " ").split()
                  if w.endswith("/vizstream/vizstream.h")]
        self.assertEqual(len(header), 1, r.stdout)
        return os.path.join(d, "renderer"), os.path.realpath(header[0])

    def start_renderer(self, exe, env):
        seg = vztest.unique_segment("install")
        # Runs after tearDown has stopped the renderer: a renderer killed
        # midway leaves its segment.
        self.addCleanup(lambda: os.path.exists("/dev/shm/" + seg)
                        and os.unlink("/dev/shm/" + seg))
        p = self.procs.start([exe, seg], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + slack(10)
        while not os.path.exists("/dev/shm/" + seg):
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
            self.assertLess(time.monotonic(), end, "the renderer made no segment")
            time.sleep(0.02)
        return p, seg

    def check_frame(self, seg, env):
        """One frame through shmframesrc: the renderer's gradient, whole."""
        import numpy as np
        out = os.path.join(self.tmp.name, seg + ".rgba")
        r = subprocess.run(vztest.gst_launch() + [
            "shmframesrc", "segment=" + seg, "num-buffers=1", "!",
            "video/x-raw,format=RGBA", "!", "filesink", "location=" + out],
            env=env, capture_output=True, text=True, timeout=slack(30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        img = np.fromfile(out, np.uint8)
        self.assertEqual(img.size, WIDTH * HEIGHT * 4)
        img = img.reshape(HEIGHT, WIDTH * 4)
        self.assertTrue((img == img[:, :1]).all(), "a row of the gradient is not one value")
        expect = (int(img[0, 0]) + np.arange(HEIGHT)) & 0xFF
        self.assertTrue((img[:, 0] == expect).all(), "the rows are not the gradient")

    def quit_renderer(self, p, seg, env):
        """A click and 'q' through interactsink: the renderer prints the
        click, closes its segment and ends."""
        events = ('{"event":"MouseButtonPress","x":10,"y":20,"button":1}\n'
                  '{"event":"KeyPress","key":"q"}\n')
        r = subprocess.run(vztest.gst_launch() + ["fdsrc", "!", "interactsink",
                                                  "segment=" + seg],
                           input=events, env=env, capture_output=True, text=True,
                           timeout=slack(30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(p.wait(slack(10)), 0, p.stderr.read())
        self.assertIn("button 1 at 10,20", p.stdout.read())
        self.assertFalse(os.path.exists("/dev/shm/" + seg), "the segment was left behind")

    def example_options(self, files):
        """VIZSTREAM_OPTIONS of the environment file example's secret files
        line, with the files it names made here (0600) and --port 0; and
        the secrets by option."""
        with open(files["vizstream-server.env"][1]) as f:
            m = re.search(r"(?m)^#VIZSTREAM_OPTIONS=(.*--token-file.*)$", f.read())
        self.assertIsNotNone(m, "no --token-file line in the environment file example")
        args, secrets = m.group(1).split(), {}
        for i, a in enumerate(args[:-1]):
            if a == "--port":
                args[i + 1] = "0"
            elif a.endswith("-file"):
                path = os.path.join(self.tmp.name, "secret%d" % i)
                secrets[a] = "s%d-%s" % (i, os.urandom(8).hex())
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(fd, (secrets[a] + "\n").encode())
                os.close(fd)
                args[i + 1] = path
        return args, secrets

    def assert_staged(self, path):
        self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(self.stage) + "/"),
                        "%s is not from the staged install" % path)

    # ---- tests ----

    def test_renderer_and_plugins_from_the_install(self):
        files = self.install()
        pc_dir = os.path.dirname(files["vizstream.pc"][1])
        exe, header = self.compile_renderer({"PKG_CONFIG_PATH": pc_dir,
                                             "PKG_CONFIG_SYSROOT_DIR": self.stage})
        self.assert_staged(header)

        # gst-inspect-1.0 on the staged plugins alone.
        env = self.staged_env(files, system_plugins=False)
        elements = ["shmframesrc", "interactsink"]
        if "libgstvizstreamgl.so" in files:
            elements.append("glreadbacksrc")
        for element in elements:
            r = subprocess.run(["gst-inspect-1.0", element], env=env, capture_output=True,
                               text=True, timeout=slack(60))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            m = re.search(r"^\s*Filename\s+(\S+)", r.stdout, re.M)
            self.assertIsNotNone(m, r.stdout)
            self.assert_staged(m.group(1))

        env = self.staged_env(files)
        p, seg = self.start_renderer(exe, env)
        self.assertIn(os.path.realpath(files["libvizstream.so.0"][1]), mapped_files(p.pid))
        self.check_frame(seg, env)
        self.quit_renderer(p, seg, env)

    def test_renderer_against_the_build_tree(self):
        exe, header = self.compile_renderer({
            "PKG_CONFIG_PATH": os.path.join(BUILD, "meson-uninstalled")})
        self.assertEqual(header, os.path.realpath(
            os.path.join(SOURCE, "lib", "vizstream", "vizstream.h")))
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(BUILD, "lib", "vizstream"))
        p, seg = self.start_renderer(exe, env)
        self.check_frame(seg, env)
        self.quit_renderer(p, seg, env)

    def test_server_from_the_install(self):
        files = self.install()
        server = files["vizstream-server"][1]
        env = self.staged_env(files)
        version = self.introspect(BUILD, "--projectinfo")["version"]
        r = subprocess.run([server, "--version"], env=env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "vizstream-server " + version),
                         r.stderr)

        exe, _ = self.compile_renderer({
            "PKG_CONFIG_PATH": os.path.dirname(files["vizstream.pc"][1]),
            "PKG_CONFIG_SYSROOT_DIR": self.stage})
        renderer, seg = self.start_renderer(exe, env)
        # The server as the unit runs it, with the environment file
        # example's options for secret files: its files made here (0600),
        # port 0 for 8080.
        args, secrets = self.example_options(files)
        p = self.procs.start([server, "--segment", seg] + args + ["--quiet"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        self.assertIsNotNone(m, line + (p.stderr.read() if p.poll() is not None else ""))
        url = m.group(1)
        with urllib.request.urlopen(url, timeout=slack(10)) as resp:
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.headers["Content-Type"].startswith("text/html"))
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "status", timeout=slack(10))
        self.assertEqual(e.exception.code, 401)
        if "--status-token-file" in secrets:
            req = urllib.request.Request(url + "status", headers={
                "Authorization": "Bearer " + secrets["--status-token-file"]})
            with urllib.request.urlopen(req, timeout=slack(10)) as resp:
                self.assertEqual(json.loads(resp.read())["segment"], seg)
        # The renderer's frames, through the staged plugin, out as JPEG.
        end = time.monotonic() + slack(20)
        while True:
            try:
                with urllib.request.urlopen(url + "snapshot.jpg", timeout=slack(10)) as resp:
                    jpeg = resp.read()
                    if resp.status == 200 and jpeg[:2] == b"\xff\xd8":
                        break
            except urllib.error.HTTPError:
                pass
            self.assertLess(time.monotonic(), end, "no snapshot of the renderer")
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
            time.sleep(0.2)
        self.assertEqual(jpeg_size(jpeg), (WIDTH, HEIGHT))
        mapped = mapped_files(p.pid)
        for name in ("libgstvizstream.so", "libvizstream.so.0"):
            self.assertIn(os.path.realpath(files[name][1]), mapped)
        self.assertEqual([f for f in mapped if f.startswith(BUILD + "/")], [])
        self.assertEqual(self.procs.stop(p), 0, p.stderr.read())
        self.quit_renderer(renderer, seg, env)

    def test_python_package_from_the_install(self):
        files = self.install()
        env = self.staged_env(files)
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(files["__init__.py"][1]))
        # Every module of the package is installed, and imports.
        source = os.path.join(vztest.SOURCE, "python", "vizstream")
        modules = sorted(f for f in os.listdir(source) if f.endswith(".py"))
        self.assertEqual([m for m in modules if m not in files], [])
        script = ("import sys, numpy as np, vizstream, vizstream.aio, vizstream.server\n"
                  "with vizstream.Publisher(sys.argv[1], 64, 48) as pub:\n"
                  "    pub.publish(np.zeros((48, 64, 4), np.uint8))\n"
                  "    lib = [l.split()[-1] for l in open('/proc/self/maps')\n"
                  "           if 'libvizstream' in l]\n"
                  "print(vizstream.__file__)\n"
                  "print(lib[0])\n")
        r = subprocess.run(["/usr/bin/python3", "-c", script,
                            vztest.unique_segment("install-py")],
                           cwd=self.tmp.name, env=env, capture_output=True, text=True,
                           timeout=slack(60))
        self.assertEqual(r.returncode, 0, r.stderr)
        module, lib = r.stdout.split()
        self.assertEqual(module, files["__init__.py"][1])
        self.assertEqual(lib, os.path.realpath(files["libvizstream.so.0"][1]))
        # Where no dynamic linker path names it, the package loads the
        # library from where it was installed.
        with open(files["_paths.py"][1]) as f:
            self.assertIn('LIBRARY = "%s"' % files["libvizstream.so.0"][0], f.read())

    def test_systemd_unit(self):
        files = self.install()
        if "vizstream-server@.service" not in files:
            self.skipTest("configured with -Dsystemd_unit_dir=no")
        self.assertIn("vizstream-server.env", files)
        with open(files["vizstream-server@.service"][1]) as f:
            unit = f.read()
        self.assertIn("\nExecStart=%s --segment ${VIZSTREAM_SEGMENT} $VIZSTREAM_OPTIONS\n"
                      % files["vizstream-server"][0], unit)
        self.assertIn("\nUser=%i\n", unit)
        # What would keep the server from the renderer's segment.
        for key in ("PrivateDevices", "RemoveIPC", "DynamicUser", "MemoryDenyWriteExecute"):
            self.assertIsNone(re.search(r"^%s=" % key, unit, re.M), key)
        plugins = os.path.dirname(files["libgstvizstream.so"][0])
        if plugins != self.pkgconfig("--variable=pluginsdir", "gstreamer-1.0"):
            self.assertIn("\nEnvironment=GST_PLUGIN_PATH=%s\n" % plugins, unit)
        with open(files["vizstream-server.env"][1]) as f:
            example = f.read()
        self.assertRegex(example, r"(?m)^VIZSTREAM_SEGMENT=\S+$")
        self.assertRegex(example, r"(?m)^VIZSTREAM_OPTIONS=")
        self.assertNotRegex(example, r"(?m)^[^#]*--token[ =]")

        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze (systemd) not installed")
        # systemd-analyze verify in the staged tree as root, with the
        # machine's own units beside it (the targets the unit names).
        for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
            if os.path.isdir(d) and not os.path.islink(d):
                shutil.copytree(d, self.stage + "/lib/systemd/system", symlinks=True,
                                dirs_exist_ok=True)
                break
        r = subprocess.run([analyze, "verify", "--man=no", "--root=" + self.stage,
                            "vizstream-server@vztest.service"], capture_output=True,
                           text=True, timeout=slack(60))
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_layout_for_each_prefix(self):
        """Configured (not built) for /usr, /usr/local and /opt/vizstream:
        where the plugins, the Python package and the unit go, and what the
        unit and the programs are told about it."""
        py_path = subprocess.run(["/usr/bin/python3", "-c",
                                  "import sys; print('\\n'.join(sys.path))"],
                                 capture_output=True, text=True, cwd="/",
                                 env={"PATH": os.environ["PATH"]}).stdout.split()
        gst_prefix = self.pkgconfig("--variable=prefix", "gstreamer-1.0")
        pluginsdir = self.pkgconfig("--variable=pluginsdir", "gstreamer-1.0")
        for prefix in (gst_prefix, "/usr/local", "/opt/vizstream"):
            build = os.path.join(self.tmp.name, "setup" + prefix.replace("/", "-"))
            r = subprocess.run([MESON, "setup", build, SOURCE, "--prefix=" + prefix,
                                "-Dtests=disabled"], capture_output=True, text=True,
                               timeout=slack(180))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            dst = {os.path.basename(d): d
                   for d in self.introspect(build, "--installed").values()}
            plugins = os.path.dirname(dst["libgstvizstream.so"])
            python = os.path.dirname(os.path.dirname(dst["__init__.py"]))
            with open(os.path.join(build, "data", "vizstream-server@.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=%s/bin/vizstream-server " % prefix, unit)
            if prefix == gst_prefix:
                self.assertEqual(plugins, pluginsdir)
                self.assertNotIn("GST_PLUGIN_PATH", unit)
                self.assertIn("EnvironmentFile=/etc/vizstream-server/%i.env", unit)
            else:
                self.assertTrue(plugins.startswith(prefix + "/"), plugins)
                self.assertIn("\nEnvironment=GST_PLUGIN_PATH=%s\n" % plugins, unit)
                self.assertIn("EnvironmentFile=%s/etc/vizstream-server/%%i.env" % prefix,
                              unit)
            self.assertEqual(os.path.dirname(dst["vizstream-server@.service"]),
                             prefix + "/lib/systemd/system")
            self.assertTrue(python.startswith(prefix + "/"), python)
            if prefix != "/opt/vizstream":
                self.assertIn(python, py_path, prefix)
            # <vizstream/vizstream.h> under any prefix.
            with open(os.path.join(build, "meson-private", "vizstream.pc")) as f:
                self.assertRegex(f.read(), r"(?m)^Cflags: -I\$\{includedir\}$")


if __name__ == "__main__":
    unittest.main()
