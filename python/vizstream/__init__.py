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

A thin ctypes layer over libvizstream (the C library; docs/protocol.md is
the segment's specification). Import it from a source tree after ``make``
(``PYTHONPATH=python``: the library is found in ``build/``), or install it
with the project (``meson install``: the library is found where the dynamic
linker looks, else where it was installed); ``VIZSTREAM_LIBRARY`` may name
the library file explicitly.
"""
import contextlib
import ctypes
import os

import numpy as np

__all__ = ["Publisher", "Event", "VizstreamError", "SegmentInUseError", "FORMATS"]

# ---- the C library ----------------------------------------------------------


def _load_library():
    candidates = []
    if os.environ.get("VIZSTREAM_LIBRARY"):
        candidates.append(os.environ["VIZSTREAM_LIBRARY"])
    here = os.path.dirname(os.path.abspath(__file__))
    for build in (os.environ.get("VZ_BUILD_ROOT"), os.path.join(here, "..", "..", "build")):
        if build:
            candidates.append(os.path.join(build, "lib", "vizstream", "libvizstream.so.0"))
    # Installed: where the dynamic linker looks (LD_LIBRARY_PATH, the
    # ld.so cache), then where meson install put it (any prefix).
    candidates.append("libvizstream.so.0")
    try:
        from . import _paths
        candidates.append(_paths.LIBRARY)
    except ImportError:
        pass
    for path in candidates:
        if path and (os.path.exists(path) or not os.path.isabs(path)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    raise ImportError("vizstream: libvizstream not found (build the project with `make`, "
                      "install it, or set VIZSTREAM_LIBRARY)")


_lib = _load_library()

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
_writer_name = _sig("vz_writer_name", ctypes.c_char_p, _W)
_writer_close = _sig("vz_writer_close", None, _W)
_writer_poll = _sig("vz_writer_poll_events", ctypes.c_int, _W, ctypes.POINTER(_Event),
                    ctypes.c_size_t)
_writer_wait = _sig("vz_writer_wait_events", ctypes.c_int, _W, ctypes.c_int64)
_writer_stats = _sig("vz_writer_event_stats", None, _W, ctypes.POINTER(_EventStats))
_event_to_json = _sig("vz_event_to_json", ctypes.c_int, ctypes.POINTER(_Event),
                      ctypes.c_char_p, ctypes.c_size_t)

_VZ_OK, _VZ_ERR_BUSY, _VZ_ERR_TIMEOUT = 0, -8, -11
_BOTTOM_UP = 0x1

FORMATS = ("RGBA", "BGRA", "RGBx", "BGRx", "ARGB", "ABGR", "xRGB", "xBGR", "RGB", "BGR",
           "GRAY8", "GRAY16_LE")
EVENT_TYPES = (None, "pointer-move", "button-press", "button-release", "wheel", "key-press",
               "key-release", "touch-down", "touch-motion", "touch-up", "resize-request",
               "custom")
MODIFIERS = {"shift": 0x1, "control": 0x2, "alt": 0x4, "meta": 0x8, "button1": 0x100,
             "button2": 0x200, "button3": 0x400, "button4": 0x800, "button5": 0x1000}


class VizstreamError(RuntimeError):
    """A libvizstream call failed; .code is its VzResult."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class SegmentInUseError(VizstreamError):
    """The segment name belongs to a live renderer."""


def _check(rc, what):
    if rc >= 0:
        return rc
    detail = _last_error().decode(errors="replace") or _strerror(rc).decode()
    cls = SegmentInUseError if rc == _VZ_ERR_BUSY else VizstreamError
    raise cls(rc, "%s: %s" % (what, detail))


# ---- events -----------------------------------------------------------------


class Event:
    """An event from a viewer, with the fields of the C API's VzEvent.

    type is a name: pointer-move, button-press, button-release, wheel,
    key-press, key-release, touch-down, touch-motion, touch-up,
    resize-request, custom. key is the X keysym name of key events, text
    the payload of custom ones; modifiers is a set of names (shift, control,
    alt, meta, button1..button5).
    """

    __slots__ = ("type", "x", "y", "delta_x", "delta_y", "pressure", "button", "viewer_id",
                 "touch_id", "width", "height", "text", "modifiers", "timestamp_ns", "_raw")

    def __init__(self, raw):
        self._raw = raw
        self.type = EVENT_TYPES[raw.type] if 0 < raw.type < len(EVENT_TYPES) else str(raw.type)
        for f in ("x", "y", "delta_x", "delta_y", "pressure", "button", "viewer_id", "touch_id",
                  "width", "height", "timestamp_ns"):
            setattr(self, f, getattr(raw, f))
        self.text = raw.text.decode("utf-8", errors="replace")
        self.modifiers = frozenset(n for n, bit in MODIFIERS.items() if raw.modifiers & bit)

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
    """

    def __init__(self, segment, width, height, format="RGBA", max_width=None, max_height=None,
                 slots=3):
        self._w = None
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
        """Close the segment: readers see the renderer go; the name is freed."""
        if self._w is not None:
            _writer_close(self._w)
            self._w = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _writer(self):
        if self._w is None:
            raise VizstreamError(-20, "the publisher is closed")
        return self._w

    @property
    def name(self):
        return _writer_name(self._writer()).decode()

    @property
    def frames_published(self):
        return _writer_frames(self._writer())

    # -- frames
    def resize(self, width, height, format=None):
        """Frames from now on are width x height (at most the maximum)."""
        fmt = format or self.format
        code = _format_code(fmt)
        _check(_writer_set_format(self._writer(), int(width), int(height), code, 0),
               "cannot resize to %sx%s %s" % (width, height, fmt))
        self.width, self.height, self.format = int(width), int(height), fmt
        self._bpp = _format_bpp(code)

    def _check_array(self, array):
        if not isinstance(array, np.ndarray):
            raise TypeError("publish() wants a numpy array, not %s" % type(array).__name__)
        want = np.uint16 if self.format == "GRAY16_LE" else np.uint8
        if array.dtype != want:
            raise TypeError("a %s frame must be %s, not %s" % (self.format, np.dtype(want).name,
                                                                array.dtype))
        channels = self._bpp // array.itemsize
        if array.ndim == 2 and channels == 1:
            h, w = array.shape
        elif array.ndim == 3 and array.shape[2] == channels:
            h, w = array.shape[:2]
        else:
            raise ValueError("a %s frame must have shape (height, width, %d), not %s"
                             % (self.format, channels, array.shape))
        if not array.flags.c_contiguous:
            raise ValueError("the frame must be C-contiguous (np.ascontiguousarray(frame))")
        if w > self._max[0] or h > self._max[1]:
            raise ValueError("a %dx%d frame is bigger than the segment (at most %dx%d)"
                             % (w, h, self._max[0], self._max[1]))
        return w, h

    def publish(self, array, timestamp_ns=0, bottom_up=False):
        """Publish a copy of array (C-contiguous HxWxC uint8; HxW for GRAY8)
        and return its frame number. A new size resizes the stream;
        bottom_up marks rows stored bottom first (OpenGL readbacks):
        shmframesrc flips them while copying, at no extra cost."""
        w, h = self._check_array(array)
        if (w, h) != (self.width, self.height):
            self.resize(w, h)
        number = _u64()
        _check(_writer_publish_copy(self._writer(), array.ctypes.data, w * self._bpp,
                                    int(timestamp_ns), _BOTTOM_UP if bottom_up else 0,
                                    ctypes.byref(number)), "publish")
        return number.value

    @contextlib.contextmanager
    def frame(self, timestamp_ns=0, bottom_up=False):
        """Zero copy: a writable numpy view of the next slot in shared
        memory, published when the block ends (given back if it raises).
        The view must not be used after the block.

            with pub.frame() as img:     # shape (height, width, channels)
                img[...] = 0
        """
        f = _Frame()
        w = self._writer()
        _check(_writer_acquire(w, ctypes.byref(f)), "acquire a slot")
        try:
            buf = (ctypes.c_uint8 * (f.stride * f.height)).from_address(f.data)
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
        forever). True if there are events."""
        ns = -1 if timeout is None else int(timeout * 1e9)
        rc = _writer_wait(self._writer(), ns)
        if rc == _VZ_ERR_TIMEOUT:
            return False
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
