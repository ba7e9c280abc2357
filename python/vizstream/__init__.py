"""vizstream: stream a Python renderer's frames to GStreamer and take the
viewers' events back.

    import numpy as np
    import vizstream

    with vizstream.Publisher("viz", 1280, 720, format="RGBA") as pub:
        while True:
            pub.publish(render_rgba())          # any C-contiguous HxWx4 uint8
            for ev in pub.poll_events():        # mouse, keys... from viewers
                print(ev.type, ev.x, ev.y)

Then any pipeline reads it: ``gst-launch-1.0 shmframesrc segment=viz !
videoconvert ! autovideosink``.

Browsers watch and drive it through ``vizstream-server``, started from
here: ``pub.serve()`` (or ``vizstream.serve("viz")``) returns a Server with
its ``.url``. asyncio renderers use ``async for ev in pub.aevents()`` and
``await pub.arun(render)``; VTK windows ``vizstream.VtkStream``;
docs/python.md describes it all.

A thin ctypes layer over libvizstream (the C library; docs/protocol.md is
the segment's specification). Import it from a source tree after ``make``
(``PYTHONPATH=python``: the library is found in ``build/``), or install it
with the project (``meson install``: the library is found where the dynamic
linker looks, else where it was installed) or with pip (``pip install
./python``: the library is found where the dynamic linker looks, else
through ``pkg-config vizstream``); ``VIZSTREAM_LIB`` (or the older
``VIZSTREAM_LIBRARY``) may name the library file explicitly.
``vizstream.library_path`` says which file was loaded.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import contextlib
import ctypes
import json
import os

import numpy as np

__all__ = ["Publisher", "Event", "EventType", "event_type", "VizstreamError",
           "SegmentInUseError", "MessageError", "MESSAGE_MAX", "FORMATS", "serve", "Server", "ServerError",
           "ServerNotFoundError", "PortInUseError", "RendererAbsentError", "VtkStream"]

# ---- the C library ----------------------------------------------------------


def _pkg_config_libraries():
    """libvizstream.so.0 in the directories pkg-config gives for vizstream:
    its -L flags (a build's meson-uninstalled/ .pc names the build's lib
    there), then its libdir."""
    import shlex
    import subprocess
    dirs = []
    for args in (["--libs-only-L"], ["--variable=libdir"]):
        try:
            out = subprocess.run(["pkg-config"] + args + ["vizstream"], capture_output=True,
                                 text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return []
        if out.returncode == 0:
            for word in shlex.split(out.stdout):
                d = word[2:] if word.startswith("-L") else word
                if d and d not in dirs:
                    dirs.append(d)
    return [os.path.join(d, "libvizstream.so.0") for d in dirs]


def _library_candidates():
    """Where libvizstream may be, in order, lazily (pkg-config runs only if
    nothing before it loaded)."""
    for var in ("VIZSTREAM_LIB", "VIZSTREAM_LIBRARY"):
        if os.environ.get(var):
            yield os.environ[var]
    here = os.path.dirname(os.path.abspath(__file__))
    for build in (os.environ.get("VZ_BUILD_ROOT"), os.path.join(here, "..", "..", "build")):
        if build:
            yield os.path.join(build, "lib", "vizstream", "libvizstream.so.0")
    # Installed: where the dynamic linker looks (LD_LIBRARY_PATH, the
    # ld.so cache), then where meson install put it (any prefix), then
    # where pkg-config says it is (a pip-installed package has no _paths).
    yield "libvizstream.so.0"
    try:
        from . import _paths
        yield _paths.LIBRARY
    except ImportError:
        pass
    import ctypes.util
    yield ctypes.util.find_library("vizstream")
    yield from _pkg_config_libraries()


def _load_library():
    for path in _library_candidates():
        if path and (os.path.exists(path) or not os.path.isabs(path)):
            try:
                return ctypes.CDLL(path), path
            except OSError:
                continue
    raise ImportError("vizstream: libvizstream not found. Build the project (`make`), install "
                      "it (`meson install`), or tell this package where the library is: "
                      "VIZSTREAM_LIB=/path/to/libvizstream.so.0, LD_LIBRARY_PATH, or "
                      "PKG_CONFIG_PATH with a vizstream.pc")


def _library_file(lib, name):
    """The file the loader mapped for lib (name may be a bare soname)."""
    if os.path.isabs(name):
        return os.path.normpath(name)
    try:
        addr = ctypes.cast(lib.vz_strerror, ctypes.c_void_p).value
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if lo <= addr < hi and len(parts) > 5:
                    return parts[5]
    except (OSError, ValueError, AttributeError):
        pass
    return name


_lib, _lib_name = _load_library()
# The libvizstream file in use (diagnostics; the tests check it).
library_path = _library_file(_lib, _lib_name)

_u32, _u64, _dbl = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_double


class _Frame(ctypes.Structure):
    _fields_ = [("width", _u32), ("height", _u32), ("stride", _u32), ("format", ctypes.c_int),
                ("flags", _u32), ("slot", _u32), ("frame_number", _u64), ("timestamp_ns", _u64),
                ("publish_ns", _u64), ("publish_unix_ns", _u64), ("data", ctypes.c_void_p),
                ("seq", _u64)]


class _Config(ctypes.Structure):
    _fields_ = [("max_width", _u32), ("max_height", _u32), ("format", ctypes.c_int),
                ("slot_count", _u32), ("event_lanes", _u32), ("lane_capacity", _u32)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("modifiers", _u32), ("timestamp_ns", _u64),
                ("x", _dbl), ("y", _dbl), ("delta_x", _dbl), ("delta_y", _dbl),
                ("pressure", _dbl), ("button", _u32), ("viewer_id", _u32), ("touch_id", _u32),
                ("width", _u32), ("height", _u32), ("text", ctypes.c_char * 160)]


class _EventStats(ctypes.Structure):
    _fields_ = [("received", _u64), ("dropped_motion", _u64), ("dropped_other", _u64),
                ("rejected", _u64), ("producers", _u32)]


# The layouts above must match vizstream.h (checked here, once).
assert ctypes.sizeof(_Frame) == 72 and ctypes.sizeof(_Event) == 240
assert ctypes.sizeof(_Config) == 24 and ctypes.sizeof(_EventStats) == 40

_W = ctypes.c_void_p


def _sig(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype, fn.argtypes = restype, list(argtypes)
    return fn


_strerror = _sig("vz_strerror", ctypes.c_char_p, ctypes.c_int)
_last_error = _sig("vz_last_error", ctypes.c_char_p)
_format_bpp = _sig("vz_format_bytes_per_pixel", ctypes.c_uint, ctypes.c_int)
_format_from_name = _sig("vz_format_from_name", ctypes.c_int, ctypes.c_char_p)
_writer_create = _sig("vz_writer_create", ctypes.c_int, ctypes.c_char_p,
                      ctypes.POINTER(_Config), ctypes.POINTER(_W))
_writer_set_format = _sig("vz_writer_set_frame_format", ctypes.c_int, _W, _u32, _u32,
                          ctypes.c_int, _u32)
_writer_acquire = _sig("vz_writer_acquire", ctypes.c_int, _W, ctypes.POINTER(_Frame))
_writer_publish = _sig("vz_writer_publish", ctypes.c_int, _W, ctypes.POINTER(_Frame), _u64, _u32)
_writer_cancel = _sig("vz_writer_cancel", ctypes.c_int, _W, ctypes.POINTER(_Frame))
_writer_publish_copy = _sig("vz_writer_publish_copy", ctypes.c_int, _W, ctypes.c_void_p,
                            ctypes.c_size_t, _u64, _u32, ctypes.POINTER(_u64))
_writer_frames = _sig("vz_writer_frames_published", _u64, _W)
_writer_send_message = _sig("vz_writer_send_message", ctypes.c_int, _W, ctypes.c_char_p,
                            ctypes.c_size_t)
_writer_messages_sent = _sig("vz_writer_messages_sent", _u64, _W)
_writer_name = _sig("vz_writer_name", ctypes.c_char_p, _W)
_writer_close = _sig("vz_writer_close", None, _W)
_writer_poll = _sig("vz_writer_poll_events", ctypes.c_int, _W, ctypes.POINTER(_Event),
                    ctypes.c_size_t)
_writer_wait = _sig("vz_writer_wait_events", ctypes.c_int, _W, ctypes.c_int64)
_writer_interrupt = _sig("vz_writer_interrupt_events", None, _W)
_writer_clear_interrupt = _sig("vz_writer_clear_interrupt_events", None, _W)
_writer_stats = _sig("vz_writer_event_stats", None, _W, ctypes.POINTER(_EventStats))
_event_to_json = _sig("vz_event_to_json", ctypes.c_int, ctypes.POINTER(_Event),
                      ctypes.c_char_p, ctypes.c_size_t)

_VZ_OK, _VZ_ERR_BUSY, _VZ_ERR_TIMEOUT, _VZ_ERR_INTERRUPTED = 0, -8, -11, -12
_BOTTOM_UP = 0x1

FORMATS = ("RGBA", "BGRA", "RGBx", "BGRx", "ARGB", "ABGR", "xRGB", "xBGR", "RGB", "BGR",
           "GRAY8", "GRAY16_LE")
EVENT_TYPES = (None, "pointer-move", "button-press", "button-release", "wheel", "key-press",
               "key-release", "touch-down", "touch-motion", "touch-up", "resize-request",
               "custom")
# The names of docs/events.md ("event" in JSON), in VzEventType order.
JSON_EVENT_NAMES = (None, "MouseMove", "MouseButtonPress", "MouseButtonRelease", "MouseScroll",
                    "KeyPress", "KeyRelease", "TouchDown", "TouchMotion", "TouchUp",
                    "ResizeRequest", "Custom")
MODIFIERS = {"shift": 0x1, "control": 0x2, "alt": 0x4, "meta": 0x8, "button1": 0x100,
             "button2": 0x200, "button3": 0x400, "button4": 0x800, "button5": 0x1000}


class VizstreamError(RuntimeError):
    """A libvizstream call failed; .code is its VzResult."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class SegmentInUseError(VizstreamError):
    """The segment name belongs to a live renderer."""


class MessageError(VizstreamError, ValueError):
    """Publisher.send() refused a message: too large, or not a JSON object."""


# The largest message, in bytes of JSON text (VZ_MESSAGE_MAX).
MESSAGE_MAX = 4096


def _check(rc, what):
    if rc >= 0:
        return rc
    detail = _last_error().decode(errors="replace") or _strerror(rc).decode()
    cls = SegmentInUseError if rc == _VZ_ERR_BUSY else VizstreamError
    raise cls(rc, "%s: %s" % (what, detail))


# ---- events -----------------------------------------------------------------


def _dashed(name):
    """MouseButtonPress -> mouse-button-press (interactsink's allowed-events)."""
    return "".join("-" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


# Every accepted spelling -> the Python name.
_EVENT_ALIASES = {}
for _py, _js in zip(EVENT_TYPES[1:], JSON_EVENT_NAMES[1:]):
    _EVENT_ALIASES.update({_py: _py, _js: _py, _dashed(_js): _py})
del _py, _js


class EventType(str):
    """An event's type: its Python name ("button-press"), equal as well to
    the JSON name of docs/events.md ("MouseButtonPress") and to
    interactsink's dashed form ("mouse-button-press"), so that
    ``ev.type == "MouseButtonPress"``, ``ev.type in ("MouseButtonPress",
    "KeyPress")`` and ``match ev.type: case "MouseButtonPress":`` work.
    Hashing is the Python name's: as a dict or set key, use the Python name
    or ``event_type(name)``."""

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, str):
            other = str(other)
            return str.__eq__(str(self), _EVENT_ALIASES.get(other, other))
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = str.__hash__

    @property
    def json_name(self):
        """The name in docs/events.md: MouseButtonPress, KeyPress..."""
        i = EVENT_TYPES.index(str(self)) if str(self) in EVENT_TYPES else 0
        return JSON_EVENT_NAMES[i] if i else str(self)


def event_type(name):
    """The EventType of any accepted spelling: "button-press",
    "MouseButtonPress" or "mouse-button-press". ValueError for others."""
    try:
        return EventType(_EVENT_ALIASES[str(name)])
    except KeyError:
        raise ValueError("unknown event type %r; one of %s (or the docs/events.md names: %s)"
                         % (name, ", ".join(EVENT_TYPES[1:]),
                            ", ".join(JSON_EVENT_NAMES[1:]))) from None


class Event:
    """An event from a viewer, with the fields of the C API's VzEvent.

    type is an EventType: pointer-move, button-press, button-release,
    wheel, key-press, key-release, touch-down, touch-motion, touch-up,
    resize-request, custom; it also compares equal to the JSON names of
    docs/events.md (MouseMove, MouseButtonPress, MouseButtonRelease,
    MouseScroll, KeyPress, KeyRelease, TouchDown, TouchMotion, TouchUp,
    ResizeRequest, Custom), which json_name gives. key is the X keysym name
    of key events, text the payload of custom ones; modifiers is a set of
    names (shift, control, alt, meta, button1..button5).
    """

    __slots__ = ("type", "x", "y", "delta_x", "delta_y", "pressure", "button", "viewer_id",
                 "touch_id", "width", "height", "text", "modifiers", "timestamp_ns", "_raw")

    def __init__(self, raw):
        self._raw = raw
        self.type = EventType(EVENT_TYPES[raw.type] if 0 < raw.type < len(EVENT_TYPES)
                              else str(raw.type))
        for f in ("x", "y", "delta_x", "delta_y", "pressure", "button", "viewer_id", "touch_id",
                  "width", "height", "timestamp_ns"):
            setattr(self, f, getattr(raw, f))
        self.text = raw.text.decode("utf-8", errors="replace")
        self.modifiers = frozenset(n for n, bit in MODIFIERS.items() if raw.modifiers & bit)

    @property
    def json_name(self):
        """The event's name in docs/events.md (MouseButtonPress...)."""
        return self.type.json_name

    @property
    def key(self):
        return self.text if self.type in ("key-press", "key-release") else None

    def to_json(self):
        """The event in the JSON format of docs/events.md."""
        buf = ctypes.create_string_buffer(512)
        _check(_event_to_json(ctypes.byref(self._raw), buf, 512), "event to JSON")
        return buf.value.decode()

    def __repr__(self):
        return "Event(%s)" % self.to_json()


# ---- the publisher ----------------------------------------------------------


def _format_code(fmt):
    code = _format_from_name(fmt.encode()) if isinstance(fmt, str) else 0
    if code == 0:
        raise ValueError("unknown pixel format %r; one of %s" % (fmt, ", ".join(FORMATS)))
    return code


class Publisher:
    """A renderer's stream: a named shared segment that shmframesrc reads.

    Publisher(segment, width, height, format="RGBA", max_width=None,
    max_height=None, slots=3): frames up to max_width x max_height (default:
    the first size) may be published; the segment is mode 0600 and is
    removed by close() (or the with-block's end). A segment left by a
    renderer that died is replaced; one whose renderer lives raises
    SegmentInUseError.

    Frames: publish() (one copy from a numpy array or any buffer), frame()
    (zero copy: render into the slot), publish_figure() (matplotlib).
    Events: poll_events(), events(), wait_events(); asyncio: aevents(),
    arun(). Browsers: serve().
    """

    def __init__(self, segment, width, height, format="RGBA", max_width=None, max_height=None,
                 slots=3):
        self._w = None
        self._waiter = None
        self._servers = []
        code = _format_code(format)
        if int(width) < 1 or int(height) < 1:
            raise ValueError("size must be at least 1x1, not %sx%s" % (width, height))
        cfg = _Config(max_width=int(max_width or width), max_height=int(max_height or height),
                      format=code, slot_count=int(slots))
        w = _W()
        _check(_writer_create(str(segment).encode(), ctypes.byref(cfg), ctypes.byref(w)),
               "cannot create segment %r" % segment)
        self._w = w
        self._max = (cfg.max_width, cfg.max_height)
        self._events = (_Event * 64)()
        self.width, self.height, self.format = cfg.max_width, cfg.max_height, format
        self._bpp = _format_bpp(code)
        if (int(width), int(height)) != self._max:
            self.resize(width, height)

    # -- lifetime
    def close(self):
        """Close the segment: readers see the renderer go; the name is freed.
        Servers started with serve() stop, and a task in aevents() or arun()
        ends (its loop ends quietly)."""
        servers, self._servers = getattr(self, "_servers", []), []
        for server in servers:
            server.stop()
        waiter, self._waiter = getattr(self, "_waiter", None), None
        if waiter is not None and not waiter.stop():
            # No thread may sleep on the writer we free: leave it mapped
            # (a renderer starting later replaces the segment).
            self._w = None
            return
        if getattr(self, "_w", None) is not None:
            _writer_close(self._w)
            self._w = None

    @property
    def closed(self):
        return self._w is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:           # interpreter shutdown: modules half gone
            pass

    def _writer(self):
        if self._w is None:
            raise VizstreamError(-20, "the publisher is closed")
        return self._w

    @property
    def name(self):
        return _writer_name(self._writer()).decode()

    @property
    def max_width(self):
        """The largest frame width the segment holds (resize up to it)."""
        return self._max[0]

    @property
    def max_height(self):
        return self._max[1]

    @property
    def frames_published(self):
        return _writer_frames(self._writer())

    # -- messages
    def send(self, message):
        """Send a message to every viewer's page: a dict (sent as JSON), or
        the text of one JSON object (str or bytes), at most MESSAGE_MAX
        bytes of UTF-8. The page shows {"progress": 0..100, "status":
        "text"} in its overlay and hands every message to page script
        (window.vizstream.on("message", fn)); docs/python.md "Messages".

        Never blocks (the message goes into the segment's ring), so it is
        fine from asyncio code and from any thread. A viewer that joins
        later gets the newest message. Raises MessageError (a ValueError)
        with the library's reason when the message is too large or not a
        JSON object; TypeError when obj cannot be written as JSON."""
        if isinstance(message, (bytes, bytearray, memoryview)):
            data = bytes(message)
        elif isinstance(message, str):
            data = message.encode("utf-8", errors="surrogatepass")
        else:
            data = json.dumps(message, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode("utf-8", errors="surrogatepass")
        rc = _writer_send_message(self._writer(), data, len(data))
        if rc < 0:
            detail = _last_error().decode(errors="replace") or _strerror(rc).decode()
            raise MessageError(rc, "cannot send the message: " + detail)

    @property
    def messages_sent(self):
        """Messages sent so far."""
        return _writer_messages_sent(self._writer())

    # -- frames
    def resize(self, width, height, format=None):
        """Frames from now on are width x height (at most the maximum)."""
        fmt = format or self.format
        code = _format_code(fmt)
        _check(_writer_set_format(self._writer(), int(width), int(height), code, 0),
               "cannot resize to %sx%s %s" % (width, height, fmt))
        self.width, self.height, self.format = int(width), int(height), fmt
        self._bpp = _format_bpp(code)

    def _dtype(self):
        return np.dtype(np.uint16 if self.format == "GRAY16_LE" else np.uint8)

    def _as_array(self, frame):
        """A numpy view of frame (an array, or any buffer: memoryview,
        bytes, matplotlib's buffer_rgba()); never a copy."""
        if isinstance(frame, np.ndarray):
            return frame
        try:
            mv = memoryview(frame)
        except TypeError:
            if hasattr(frame, "__array_interface__"):
                return np.asarray(frame)
            raise TypeError("publish() wants a numpy array or a buffer (memoryview, bytes, "
                            "matplotlib's buffer_rgba()), not %s"
                            % type(frame).__name__) from None
        array = np.asarray(mv)
        if array.ndim == 1 and array.dtype == np.uint8:
            # A flat buffer: the current frame size, if its length says so.
            dtype = self._dtype()
            channels = self._bpp // dtype.itemsize
            if array.nbytes != self.width * self.height * self._bpp:
                raise ValueError("a flat buffer of %d bytes is no %dx%d %s frame (%d bytes)"
                                 % (array.nbytes, self.width, self.height, self.format,
                                    self.width * self.height * self._bpp))
            array = array.view(dtype)
            shape = (self.height, self.width) + ((channels,) if channels > 1 else ())
            array = array.reshape(shape)
        return array

    def _check_array(self, array):
        """(width, height, address of the top row in memory, row stride,
        rows stored bottom first) of a frame the segment can take."""
        want = self._dtype()
        if array.dtype != want:
            raise TypeError("a %s frame must be %s, not %s" % (self.format, want.name,
                                                                array.dtype))
        channels = self._bpp // array.itemsize
        if array.ndim == 2 and channels == 1:
            h, w = array.shape
            pixel_ok = w < 2 or array.strides[1] == array.itemsize
        elif array.ndim == 3 and array.shape[2] == channels:
            h, w = array.shape[:2]
            pixel_ok = ((channels < 2 or array.strides[2] == array.itemsize)
                        and (w < 2 or array.strides[1] == self._bpp))
        else:
            shape = "(height, width)" if channels == 1 else "(height, width, %d)" % channels
            raise ValueError("a %s frame must have shape %s, not %s"
                             % (self.format, shape, array.shape))
        if w > self._max[0] or h > self._max[1]:
            raise ValueError("a %dx%d frame is bigger than the segment (at most %dx%d)"
                             % (w, h, self._max[0], self._max[1]))
        row, step = w * self._bpp, array.strides[0] if h > 1 else w * self._bpp
        if pixel_ok and step >= row:
            return w, h, array.ctypes.data, step, False
        if pixel_ok and -step >= row:
            # Rows upside down in memory (frame[::-1]): sent as they lie,
            # flagged bottom-up; shmframesrc flips them back in its copy.
            return w, h, array.ctypes.data + (h - 1) * step, -step, True
        raise ValueError("the frame must be C-contiguous, or at least each row "
                         "(np.ascontiguousarray(frame))")

    def publish(self, frame, timestamp_ns=0, bottom_up=False):
        """Publish a copy of frame and return its frame number.

        frame: a numpy array, (height, width, channels) uint8 ((height,
        width) for GRAY8, (height, width) uint16 for GRAY16_LE), or any
        buffer of that layout (a memoryview such as matplotlib's
        buffer_rgba(); a flat buffer is read at the current size). Its rows
        may be padded or upside down (frame[:, :w], frame[::-1]): the one
        copy into the slot goes straight from its memory. A new size
        resizes the stream; bottom_up marks rows stored bottom first
        (OpenGL readbacks): shmframesrc flips them while copying, at no
        extra cost."""
        array = self._as_array(frame)
        w, h, address, stride, flipped = self._check_array(array)
        if (w, h) != (self.width, self.height):
            self.resize(w, h)
        flags = _BOTTOM_UP if bool(bottom_up) != flipped else 0
        number = _u64()
        _check(_writer_publish_copy(self._writer(), address, stride, int(timestamp_ns), flags,
                                    ctypes.byref(number)), "publish")
        return number.value

    def publish_figure(self, figure, timestamp_ns=0):
        """Draw a matplotlib figure and publish it: Agg's own RGBA buffer
        goes into the slot in one copy (no numpy array in between). The
        stream takes the figure's size in pixels (at most the maximum).
        The figure must be drawn by Agg (matplotlib.use("Agg"), or any *Agg
        backend, Jupyter's inline one included); the publisher's format
        RGBA (or RGBx). Returns the frame number."""
        if self.format not in ("RGBA", "RGBx"):
            raise ValueError("a matplotlib figure is RGBA: make the Publisher with "
                             "format='RGBA', not %r" % self.format)
        canvas = getattr(figure, "canvas", None)
        if canvas is None or not hasattr(canvas, "buffer_rgba"):
            raise TypeError("publish_figure() wants a matplotlib figure drawn by Agg "
                            "(matplotlib.use('Agg')), not %s" % type(canvas).__name__)
        canvas.draw()
        return self.publish(canvas.buffer_rgba(), timestamp_ns)

    @contextlib.contextmanager
    def frame(self, timestamp_ns=0, bottom_up=False):
        """Zero copy: a writable numpy view of the next slot in shared
        memory, published when the block ends (given back if it raises).
        The view must not be used after the block. Its shape and dtype are
        what publish() takes: (height, width, channels) uint8, (height,
        width) for GRAY8, (height, width) uint16 for GRAY16_LE.

            with pub.frame() as img:     # shape (height, width, channels)
                img[...] = 0
        """
        f = _Frame()
        w = self._writer()
        _check(_writer_acquire(w, ctypes.byref(f)), "acquire a slot")
        try:
            buf = (ctypes.c_uint8 * (f.stride * f.height)).from_address(f.data)
            if self.format == "GRAY16_LE":
                flat = np.frombuffer(buf, dtype=np.uint16)  # strides are 4-byte aligned
                view = np.lib.stride_tricks.as_strided(
                    flat, shape=(f.height, f.width), strides=(f.stride, 2), writeable=True)
            else:
                flat = np.frombuffer(buf, dtype=np.uint8)
                channels = self._bpp
                view = np.lib.stride_tricks.as_strided(
                    flat, shape=(f.height, f.width, channels), strides=(f.stride, channels, 1),
                    writeable=True)
                if self.format == "GRAY8":
                    view = view[:, :, 0]
            yield view
        except BaseException:
            _writer_cancel(w, ctypes.byref(f))
            raise
        _check(_writer_publish(w, ctypes.byref(f), int(timestamp_ns),
                               _BOTTOM_UP if bottom_up else 0), "publish")

    # -- events
    def poll_events(self, max_events=64):
        """The events queued now (possibly none); never waits."""
        out = []
        while len(out) < max_events:
            n = _check(_writer_poll(self._writer(), self._events,
                                    min(64, max_events - len(out))), "poll events")
            out += [Event(_Event.from_buffer_copy(self._events[i])) for i in range(n)]
            if n == 0:
                break
        return out

    def wait_events(self, timeout=None):
        """Sleep until an event is queued or timeout seconds pass (None:
        forever). True if there are events (or may be: poll and see)."""
        ns = -1 if timeout is None else max(0, int(timeout * 1e9))
        rc = _writer_wait(self._writer(), ns)
        if rc == _VZ_ERR_TIMEOUT:
            return False
        if rc == _VZ_ERR_INTERRUPTED:
            return True
        _check(rc, "wait for events")
        return True

    def events(self, timeout=None):
        """Iterate over events as they come; stops after timeout seconds
        without one (None: never stops)."""
        while True:
            batch = self.poll_events()
            if not batch:
                if not self.wait_events(timeout):
                    return
                continue
            yield from batch

    def event_stats(self):
        """received, dropped_motion, dropped_other, rejected, producers."""
        st = _EventStats()
        _writer_stats(self._writer(), ctypes.byref(st))
        return {f: getattr(st, f) for f, _ in _EventStats._fields_}

    # -- asyncio (vizstream/aio.py)
    def aevents(self, timeout=None):
        """``async for ev in pub.aevents():`` events as they come, without
        polling: a thread sleeps on the event queue's futex and wakes the
        event loop. Stops after timeout seconds without an event (None:
        never), or when the publisher is closed. One consumer at a time."""
        from . import aio
        return aio.aevents(self, timeout)

    def arun(self, render, fps=None, frames=None):
        """``await pub.arun(render, fps=30)``: the render loop of an asyncio
        renderer. render(events) gets the events since its last call and
        returns a frame to publish (or None, having published itself); it
        may be a coroutine function. fps=None renders once, then whenever
        events come (idle costs nothing); fps=N renders N times a second.
        Ends after frames renders (None: when cancelled or closed); returns
        how many renders were made."""
        from . import aio
        return aio.arun(self, render, fps=fps, frames=frames)

    # -- browsers (vizstream/server.py)
    def serve(self, port=0, wait_renderer=True, **options):
        """Start vizstream-server for this publisher's segment: viewers
        open .url in a browser. The Server stops when this publisher is
        closed. Options as vizstream.serve(); here wait_renderer defaults
        to True (the server has attached to this segment on return)."""
        from .server import serve
        server = serve(self.name, port=port, wait_renderer=wait_renderer, **options)
        self._servers.append(server)
        return server

    @property
    def server(self):
        """The Server last started with serve() (None before)."""
        return self._servers[-1] if self._servers else None

    def _repr_html_(self):
        # Jupyter: a publisher that serves shows its live page.
        server = self.server
        return server._repr_html_() if server is not None else None

    def show(self, width=None, height=None, control=True):
        """Show the live page of serve()'s server in the notebook cell
        (Server.show())."""
        if self.server is None:
            raise VizstreamError(None, "nothing to show: start a server first "
                                 "(pub.serve())")
        self.server.show(width, height, control)


from .server import (serve, Server, ServerError, ServerNotFoundError,  # noqa: E402
                     PortInUseError, RendererAbsentError)


def __getattr__(name):
    # VtkStream imports vtk (heavy, optional): only when asked for.
    if name == "VtkStream":
        from .vtkstream import VtkStream
        return VtkStream
    raise AttributeError("module 'vizstream' has no attribute %r" % name)
