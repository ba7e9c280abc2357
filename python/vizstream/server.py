"""vizstream-server started from Python: browsers watch and drive a segment.

    server = vizstream.serve("viz")            # or pub.serve()
    print(server.url)                          # http://127.0.0.1:PORT/
    server.stop()

    with vizstream.serve("viz", port=8080, max_fps=15, allow_resize=True) as server:
        ...

The program is found, in order: $VIZSTREAM_SERVER; the build tree
($VZ_BUILD_ROOT, else build/ next to python/ in a source tree); the prefix
this package is installed in (its bin/); PATH. Options become the
program's command-line options (max_fps=15 -> --max-fps 15,
allow_resize=True -> --allow-resize, a list repeats the option); token=
travels in the environment (VIZSTREAM_TOKEN), never on the command line,
where ps would show it.

In a Jupyter notebook a Server (a Publisher or VtkStream that serves, too)
shows the live page inline: make it a cell's last expression, or call
.show(). Behind a proxy (jupyter-server-proxy, JupyterHub) give the
address the notebook's browser uses: serve(..., public_url=
"https://hub.example.org/user/me/proxy/{port}/"); {port} becomes the
server's port.

A server lives until stop(), the with-block's end, or the end of the Python
process: an atexit handler stops what is left, and the kernel ends the
server if Python dies without running it (PR_SET_PDEATHSIG).
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import atexit
import collections
import ctypes
import json
import logging
import os
import queue
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html import escape as _html_escape

from . import VizstreamError

__all__ = ["serve", "Server", "ServerError", "ServerNotFoundError", "PortInUseError",
           "RendererAbsentError", "find_server"]

log = logging.getLogger("vizstream.server")

PROGRAM = "vizstream-server"


class ServerError(VizstreamError):
    """vizstream-server could not be started, or stopped answering. .output
    holds the last lines it printed."""

    def __init__(self, message, output=()):
        super().__init__(None, message)
        self.output = list(output)


class ServerNotFoundError(ServerError, FileNotFoundError):
    """No vizstream-server program where serve() looks."""


class PortInUseError(ServerError):
    """The port is taken (the server said "cannot listen on ...")."""


class RendererAbsentError(ServerError):
    """wait_renderer=True and no renderer published the segment in time."""


# ---- finding the program ----------------------------------------------------


def _candidates():
    """(where, path) in the order find_server() tries them."""
    out = []
    env = os.environ.get("VIZSTREAM_SERVER")
    if env:
        out.append(("$VIZSTREAM_SERVER", env))
        return out
    here = os.path.dirname(os.path.abspath(__file__))
    builds = [os.environ.get("VZ_BUILD_ROOT"), os.path.join(here, "..", "..", "build")]
    for build in builds:
        if build:
            out.append(("the build tree", os.path.join(build, "server", PROGRAM)))
    # Installed: PREFIX/lib/python3/dist-packages/vizstream -> PREFIX/bin.
    d = here
    for _ in range(5):
        d = os.path.dirname(d)
        out.append(("the installed prefix", os.path.join(d, "bin", PROGRAM)))
    out.append(("the installed prefix", os.path.join(sys.prefix, "bin", PROGRAM)))
    return out


def _runnable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_server():
    """The path of the vizstream-server program, or ServerNotFoundError
    saying where it looked and what to do."""
    tried = []
    for where, path in _candidates():
        path = os.path.normpath(path)
        if _runnable(path):
            return path
        if where == "$VIZSTREAM_SERVER":
            raise ServerNotFoundError(
                "%s is %r, which is not an executable file: point it at the "
                "vizstream-server program, or unset it to use the one built or "
                "installed with this package" % (where, path))
        if path not in tried:
            tried.append(path)
    on_path = shutil.which(PROGRAM)
    if on_path:
        return on_path
    raise ServerNotFoundError(
        "%s not found: build it (make, in the source tree), install it (meson install), "
        "or set VIZSTREAM_SERVER to the program. Looked at: %s, and PATH"
        % (PROGRAM, ", ".join(tried)))


def _add_build_plugins(program, env):
    """A server from a build tree finds that tree's plugins (shmframesrc,
    interactsink) without the user setting GST_PLUGIN_PATH."""
    server_dir = os.path.dirname(os.path.abspath(program))
    if os.path.basename(server_dir) != "server":
        return
    build = os.path.dirname(server_dir)
    dirs = [d for d in (os.path.join(build, "gst"), os.path.join(build, "ext", "gl"))
            if os.path.isdir(d)]
    if not dirs or not os.path.isfile(os.path.join(build, "build.ninja")):
        return
    key = "GST_PLUGIN_PATH_1_0" if env.get("GST_PLUGIN_PATH_1_0") else "GST_PLUGIN_PATH"
    have = [p for p in env.get(key, "").split(os.pathsep) if p]
    env[key] = os.pathsep.join([d for d in dirs if d not in have] + have)


# ---- command line -----------------------------------------------------------


def _arguments(options):
    """max_fps=15 -> ["--max-fps", "15"]; flags; lists repeat."""
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is None or v is False:
                continue
            if v is True:
                args.append(flag)
            else:
                args += [flag, str(v)]
    return args


# ---- processes that end with us ---------------------------------------------

_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):        # not Linux
    _prctl = None


def _child_setup(parent):
    """In the child, before exec: die with the parent (the thread that
    forked it, hence the spawner thread below), and not after it already
    died."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


# The parent-death signal follows the thread that forked, not the process:
# a server forked from a thread that then ends would be killed. Forks from
# other threads go through one daemon thread that lives as long as Python.
_spawn_queue = None
_spawn_lock = threading.Lock()


def _spawner():
    while True:
        args, kw, box, done = _spawn_queue.get()
        try:
            box.append(subprocess.Popen(args, **kw))
        except BaseException as e:
            box.append(e)
        done.set()


def _popen(args, **kw):
    global _spawn_queue
    kw["preexec_fn"] = lambda parent=os.getpid(): _child_setup(parent)
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(args, **kw)
    with _spawn_lock:
        if _spawn_queue is None:
            _spawn_queue = queue.Queue()
            threading.Thread(target=_spawner, name="vizstream-spawner", daemon=True).start()
    box, done = [], threading.Event()
    _spawn_queue.put((args, kw, box, done))
    done.wait()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


_live = set()          # servers not stopped yet: kept alive, stopped at exit
_live_lock = threading.Lock()


@atexit.register
def _stop_all():
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop(timeout=3)


# ---- the server -------------------------------------------------------------


class Server:
    """A running vizstream-server; see serve(). Attributes: url (the page),
    control_url (with the token, for whoever should control), public_url
    (the page where browsers reach it, through a proxy), segment, token,
    pid, program, args, output (its last lines)."""

    def __init__(self, segment, port=0, token=None, program=None, timeout=10,
                 wait_renderer=False, env=None, public_url=None, **options):
        self.segment = str(segment)
        self.program = program or find_server()
        self.url = None
        self._public_url = public_url
        self._proc = None
        self._output = collections.deque(maxlen=200)
        self._served = threading.Event()
        self._stopped = False
        child_env = dict(os.environ if env is None else env)
        if token is True:
            token = secrets.token_urlsafe(24)
        if token:
            child_env["VIZSTREAM_TOKEN"] = str(token)
        self.token = str(token) if token else (child_env.get("VIZSTREAM_TOKEN") or None)
        _add_build_plugins(self.program, child_env)
        self.args = [self.program, "--segment", self.segment, "--port", str(int(port))]
        self.args += _arguments(options)
        self._tls = bool(options.get("tls_cert"))
        try:
            self._proc = _popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=child_env, close_fds=True,
                                start_new_session=True)
        except OSError as e:
            raise ServerNotFoundError("cannot run %s: %s" % (self.program, e.strerror
                                                              or e)) from e
        self.pid = self._proc.pid
        with _live_lock:
            _live.add(self)
        self._drains = [threading.Thread(target=self._drain, args=(stream, name), daemon=True,
                                         name="vizstream-server-" + name)
                        for stream, name in ((self._proc.stdout, "stdout"),
                                             (self._proc.stderr, "stderr"))]
        for t in self._drains:
            t.start()
        try:
            self._wait_ready(timeout)
            if wait_renderer:
                self.wait_renderer(timeout)
        except BaseException:
            self.stop()
            raise

    # -- output
    def _drain(self, stream, name):
        """Keep reading what the server prints (a full pipe would stall
        it), remember the last lines, find the URL."""
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self._output.append(line)
            if name == "stdout" and self.url is None:
                m = re.search(r"serving (https?://\S+)", line)
                if m:
                    url = m.group(1)
                    if self._tls and url.startswith("http://"):
                        url = "https://" + url[len("http://"):]
                    self.url = url
                    self._served.set()
            log.info("%s", line)
        stream.close()
        if name == "stdout":
            self._served.set()      # ended: whoever waits looks at why

    @property
    def output(self):
        """The server's last lines (stdout and stderr), oldest first."""
        return list(self._output)

    def _tail(self, n=12):
        lines = [line for line in self._output if line.strip()][-n:]
        return ("\n  " + "\n  ".join(lines)) if lines else " (it printed nothing)"

    # -- start
    def _exited_error(self, rc):
        for t in self._drains:      # its last words, up to its exit
            t.join(1)
        text = "\n".join(self._output)
        m = re.search(r"cannot listen on (\S+?):(\d+): ?(.*)", text)
        if m:
            detail = m.group(3)
            hint = ("another program (another server?) uses it: pick another port, or "
                    "port=0 for a free one" if "in use" in detail.lower() else
                    "ports below 1024 need privileges: use one from 1024 up, or port=0"
                    if "permission" in detail.lower() else
                    "check bind= and port=")
            return PortInUseError("%s cannot listen on %s:%s: %s (%s)"
                                  % (PROGRAM, m.group(1), m.group(2), hint, detail.strip()),
                                  self._output)
        if rc == 2:
            return ServerError("%s refused its command line (%s): see `%s --help`.%s"
                               % (PROGRAM, " ".join(self.args[1:]), PROGRAM, self._tail()),
                               self._output)
        return ServerError("%s exited at startup with status %s.%s"
                           % (PROGRAM, rc, self._tail()), self._output)

    def _wait_ready(self, timeout):
        end = time.monotonic() + timeout
        self._served.wait(timeout)
        if self.url is None:
            rc = self._proc.poll()
            if rc is None:
                try:
                    rc = self._proc.wait(max(0.0, min(1.0, end - time.monotonic())))
                except subprocess.TimeoutExpired:
                    raise ServerError("%s printed no address within %.0f s.%s"
                                      % (PROGRAM, timeout, self._tail()), self._output)
            raise self._exited_error(rc)
        # Printed: it listens. One request that succeeds, to be sure.
        last = None
        while time.monotonic() < end:
            if self._proc.poll() is not None:
                raise self._exited_error(self._proc.returncode)
            try:
                with self._open(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError) as e:
                last = e
            time.sleep(0.05)
        raise ServerError("%s at %s does not answer (%s).%s"
                          % (PROGRAM, self.url, last, self._tail()), self._output)

    def _open(self, url, timeout=5, headers=None):
        req = urllib.request.Request(url, headers=headers or {})
        ctx = None
        if url.startswith("https://"):
            # Our own child on this machine, maybe with a self-signed cert.
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        # No proxies: the server is local, and a proxy variable must not
        # send its address elsewhere.
        handlers = [urllib.request.ProxyHandler({})]
        if ctx:
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        return urllib.request.build_opener(*handlers).open(req, timeout=timeout)

    # -- state
    def status(self):
        """The server's /status as a dict (renderer, viewers, encoder...);
        sends the token when there is one (the server wants it then)."""
        headers = {"Authorization": "Bearer " + self.token} if self.token else {}
        with self._open(urllib.parse.urljoin(self.url, "status"), headers=headers) as r:
            return json.loads(r.read().decode())

    def wait_renderer(self, timeout=10):
        """Wait until the server has attached to the renderer's segment
        (/status renderer "connected"); RendererAbsentError after timeout
        seconds. Returns the status."""
        end = time.monotonic() + timeout
        state = None
        while True:
            if self._proc.poll() is not None:
                raise self._exited_error(self._proc.returncode)
            st = self.status()
            state = st.get("renderer")
            if state == "connected":
                return st
            if time.monotonic() >= end:
                break
            time.sleep(0.05)
        raise RendererAbsentError(
            "%s runs at %s, but no renderer publishes segment %r (its state is %r after %.0f "
            "s): start the renderer (vizstream.Publisher(%r, width, height)) as the same user, "
            "or check the name; serve(..., wait_renderer=False) does not wait for it"
            % (PROGRAM, self.url, self.segment, state, timeout, self.segment), self._output)

    @property
    def control_url(self):
        """url with #token=...: the page takes the token from there (and
        removes it from the address bar). url itself when no token."""
        if not self.token or not self.url:
            return self.url
        return self.url + "#token=" + urllib.parse.quote(self.token, safe="")

    @property
    def port(self):
        """The port the server listens on (the one port=0 picked)."""
        return urllib.parse.urlsplit(self.url).port if self.url else None

    @property
    def public_url(self):
        """The page's address for browsers: public_url= as given to serve()
        ({port} replaced, a missing final / added), else url."""
        if not self._public_url or not self.url:
            return self.url
        url = str(self._public_url).replace("{port}", str(self.port))
        return url if url.endswith("/") else url + "/"

    # -- Jupyter
    def html(self, width=None, height=None, control=True):
        """An <iframe> showing the live page (public_url; with the token
        when control and there is one: the notebook's user controls).
        width/height: CSS lengths or pixels (default: the cell's width,
        16:9, at most 80% of the window's height)."""
        url = self.public_url
        if control and self.token:
            url += "#token=" + urllib.parse.quote(self.token, safe="")
        def css(v):
            return "%dpx" % v if isinstance(v, (int, float)) else str(v)
        style = "width:%s;" % css(width if width is not None else "100%")
        style += ("height:%s;" % css(height) if height is not None else
                  "aspect-ratio:16/9;max-height:80vh;")
        return ('<iframe src="%s" style="%sborder:0" allow="autoplay; fullscreen" '
                'allowfullscreen title="vizstream %s"></iframe>'
                % (_html_escape(url), style, _html_escape(self.segment)))

    def _repr_html_(self):
        # Jupyter shows this for a cell ending in a Server; a stopped one
        # is only text.
        return self.html() if self.running and self.url else None

    def show(self, width=None, height=None, control=True):
        """Show the live page in the notebook cell (IPython's display());
        outside a notebook, print the address."""
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            get_ipython = None
        if get_ipython is None or get_ipython() is None:
            print("vizstream: streaming at %s" % (self.control_url if control else self.url))
            return
        display(HTML(self.html(width, height, control)))

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self):
        return None if self._proc is None else self._proc.poll()

    # -- stop
    def wait(self, timeout=None):
        """Wait for the server to exit by itself (timeout seconds at most,
        None: forever); its exit status, or None if it still runs."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit
        status. Does nothing the second time."""
        proc = self._proc
        with _live_lock:
            _live.discard(self)
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM for %s s: killed", PROGRAM,
                            proc.pid, timeout)
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        return proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop(timeout=2)
        except Exception:
            pass

    def __repr__(self):
        state = "running" if self.running else "stopped (%s)" % self.returncode
        return "<vizstream.Server %s segment %r, pid %s, %s>" % (self.url, self.segment,
                                                                 self.pid, state)


def serve(segment, port=0, **options):
    """Start vizstream-server for segment; returns a Server once it answers
    (its page loads). port=0 picks a free port (server.url says which).

    token="..." (or token=True: a new random one, server.token): only
    viewers with it control, /status wants it; passed in the environment.
    wait_renderer=True: also wait until the server has attached to the
    renderer's segment (RendererAbsentError otherwise); without it the
    server starts anyway and waits for the renderer itself. timeout:
    seconds for each wait (default 10). program: the executable (default:
    found as the module says). env: the server's environment (default
    ours). public_url: where browsers reach the page when not at url (a
    proxy; "{port}" in it becomes the port): the notebook display uses
    it. Any other keyword is a vizstream-server option: bind="0.0.0.0",
    max_fps=15, codec="vp8", allow_resize=True, turn=[...], token_file=...

    Errors: ServerNotFoundError (no program), PortInUseError, ServerError
    (it exited or does not answer: its last lines in the message),
    RendererAbsentError."""
    return Server(segment, port=port, **options)
