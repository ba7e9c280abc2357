"""Stream a VTK render window with vizstream, and drive it remotely.

An existing window, to browsers, in one line after the scene is built:

    import vizstream
    vizstream.VtkStream(render_window).serve().run()

or, in steps:

    stream = VtkStream(rw, "viz")             # interactor: rw's own, or a trackball one
    server = stream.publisher.serve()         # vizstream-server; server.url
    stream.run(fps=30)                        # events -> interactor, paced renders

Every render is published (an observer on the window's EndEvent). Pixels
are read with GetRGBACharPixelData straight into the shared slot when VTK
writes into the array it is given (checked on every frame; otherwise one
copy) as RGBx (VTK's alpha is 0 on the background, which video must not
see as transparency); VTK's rows are bottom-up and go out flagged as such, so shmframesrc
flips them in its copy: no numpy flip here.

Events map onto the interactor the way a local mouse would: left drag
rotates (trackball style), right drag zooms, middle drag or shift+left
pans, the wheel zooms (rolled away from the user, delta_y > 0 as in
GStreamer's navigation events: MouseWheelForward, closer, as desktop VTK
and ParaView do), keys go to the interactor as key and char events; a
resize request resizes the window, clamped to the stream's maximum. On a
touch screen one finger rotates (a left drag) and two fingers pinch:
spreading them zooms in, closing them zooms out (VTK's pinch events, which
vtkInteractorStyleMultiTouchCamera handles; for a style that ignores them,
such as the trackball, the same dolly is done here).

An exception in the render observer, in applying an event or in run()'s
on_frame callback never stops the stream: the first is logged with its
traceback (logger "vizstream.vtk"), every one is counted in .errors, the
latest kept in .last_error.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import itertools
import logging
import math
import os
import time

import vtk
from vtk.util import numpy_support

from . import Publisher, _writer_clear_interrupt, _writer_interrupt

log = logging.getLogger("vizstream.vtk")

_BUTTONS = {
    1: ("LeftButtonPressEvent", "LeftButtonReleaseEvent"),
    2: ("MiddleButtonPressEvent", "MiddleButtonReleaseEvent"),
    3: ("RightButtonPressEvent", "RightButtonReleaseEvent"),
}
_names = itertools.count(1)
# While idle, run() sleeps on the event queue in slices this long, so that
# Ctrl-C is noticed whichever thread the signal lands on.
_IDLE_SLICE_S = 0.5


class VtkStream:
    """Publish every render of render_window into segment (default: a name
    of its own, "vizstream-vtk-PID-N"); apply viewers' events to interactor
    (default: the window's own, else a new one with the trackball camera
    style; False: events other than resize requests are ignored).
    max_width/max_height bound later resizes (default: twice the first
    size)."""

    def __init__(self, render_window, segment=None, interactor=None, max_width=None,
                 max_height=None):
        self.window = render_window
        if interactor is None:
            interactor = render_window.GetInteractor()
            if interactor is None:
                interactor = vtk.vtkRenderWindowInteractor()
                interactor.SetRenderWindow(render_window)
                interactor.SetInteractorStyle(vtk.vtkInteractorStyleTrackballCamera())
        self.interactor = interactor or None
        if segment is None:
            segment = "vizstream-vtk-%d-%d" % (os.getpid(), next(_names))
        w, h = render_window.GetSize()
        w, h = max(1, w), max(1, h)
        self.publisher = Publisher(segment, w, h, format="RGBx",
                                   max_width=max_width or 2 * w, max_height=max_height or 2 * h)
        self.zero_copy_frames = 0
        self.copied_frames = 0
        self.errors = 0
        self.last_error = None
        self.clamped_resizes = 0
        self._warned_crop = False
        self._stop = False
        self._dirty = False
        self._fallback = vtk.vtkUnsignedCharArray()
        # touches: identifier -> (x, y) in frame pixels; _touch_mode is None,
        # ("drag", id), ("pinch", id, id, start distance) or ("done",) once
        # a pinch ended, until every finger is up
        self._touches = {}
        self._touch_mode = None
        self._observer = render_window.AddObserver("EndEvent", self._on_render)

    def close(self):
        if self._observer is not None:
            self.window.RemoveObserver(self._observer)
            self._observer = None
        self.publisher.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def segment(self):
        return self.publisher.name

    # -- errors: counted, the first logged, never silent, never fatal
    def _failed(self, what):
        import sys
        self.errors += 1
        self.last_error = sys.exc_info()[1]
        if self.errors == 1:
            log.error("vizstream: %s failed; the stream goes on (later errors are counted in "
                      "VtkStream.errors, logged at debug level)", what, exc_info=True)
        else:
            log.debug("vizstream: %s failed (error %d): %r", what, self.errors,
                      self.last_error)

    # -- frames
    def _on_render(self, obj, event):
        try:
            self._publish_render()
        except Exception:
            self._failed("publishing a render")

    def _publish_render(self):
        w, h = self.window.GetSize()
        if w < 1 or h < 1:
            return
        pub = self.publisher
        # A window made bigger than the stream (locally, or by code): its
        # top-left part, rather than an exception on every render.
        cw, ch = min(w, pub.max_width), min(h, pub.max_height)
        if (cw, ch) != (w, h) and not self._warned_crop:
            self._warned_crop = True
            log.warning("vizstream: the window (%dx%d) is bigger than the stream's maximum "
                        "(%dx%d): streaming its top-left part (give VtkStream max_width and "
                        "max_height)", w, h, pub.max_width, pub.max_height)
        if (cw, ch) != (pub.width, pub.height):
            pub.resize(cw, ch)
        with pub.frame(bottom_up=True) as view:
            target = numpy_support.numpy_to_vtk(view.reshape(-1, 4), deep=0,
                                                array_type=vtk.VTK_UNSIGNED_CHAR)
            # Back buffer (0): the frame just rendered, before any swap.
            # VTK counts rows from the bottom: the top ch rows.
            self.window.GetRGBACharPixelData(0, h - ch, cw - 1, h - 1, 0, target, 0)
            address = int(target.GetPointer(0).split("_")[1], 16) \
                if isinstance(target.GetPointer(0), str) else None
            if address == view.ctypes.data:
                self.zero_copy_frames += 1
            else:
                # VTK reallocated: copy what it read.
                view.reshape(-1, 4)[:] = numpy_support.vtk_to_numpy(target).reshape(-1, 4)
                self.copied_frames += 1

    def render(self):
        """Render the window (and so publish a frame)."""
        self._dirty = False
        self.window.Render()

    def request_render(self):
        """Ask run() for a render on its next tick (after changing the scene
        from elsewhere, when run() has no on_frame)."""
        self._dirty = True
        self._wake()

    # -- events
    def process_events(self, render=True):
        """Apply every queued event; returns how many. Call it from the
        render loop (VTK is not thread-safe). render=False keeps the
        interactor from rendering while it handles them (run() renders
        once after)."""
        return self._apply_events(self.publisher.poll_events(), render)

    def _apply_events(self, events, render):
        iren = self.interactor
        enabled = iren.GetEnableRender() if (iren is not None and not render) else None
        if enabled:
            iren.EnableRenderOff()
        try:
            for ev in events:
                try:
                    self.apply(ev)
                except Exception:
                    self._failed("applying a %s event" % ev.type)
        finally:
            if enabled:
                iren.EnableRenderOn()
        return len(events)

    def apply(self, ev):
        iren = self.interactor
        if ev.type == "resize-request":
            # Within what the segment holds: VTK would render a bigger
            # window, the stream could not carry it.
            pub = self.publisher
            w = max(1, min(int(ev.width), pub.max_width))
            h = max(1, min(int(ev.height), pub.max_height))
            if (w, h) != (int(ev.width), int(ev.height)):
                self.clamped_resizes += 1
                log.debug("vizstream: resize to %dx%d clamped to %dx%d", ev.width, ev.height,
                          w, h)
            self.window.SetSize(w, h)
            return
        if iren is None:
            return
        h = self.window.GetSize()[1]
        ctrl = 1 if "control" in ev.modifiers else 0
        shift = 1 if "shift" in ev.modifiers else 0
        if ev.type in ("touch-down", "touch-motion", "touch-up"):
            self._touch(ev, h, ctrl, shift)
            return
        if ev.type in ("pointer-move", "button-press", "button-release", "wheel"):
            # Viewers count rows from the top, VTK from the bottom.
            iren.SetEventInformation(int(ev.x), int(h - 1 - ev.y), ctrl, shift)
        if ev.type == "pointer-move":
            iren.MouseMoveEvent()
        elif ev.type in ("button-press", "button-release") and ev.button in _BUTTONS:
            getattr(iren, _BUTTONS[ev.button][0 if ev.type == "button-press" else 1])()
        elif ev.type == "wheel":
            # delta_y > 0: the wheel rolled away from the user (docs/events.md),
            # X11's button 4, which desktop VTK makes MouseWheelForward.
            if ev.delta_y > 0:
                iren.MouseWheelForwardEvent()
            elif ev.delta_y < 0:
                iren.MouseWheelBackwardEvent()
        elif ev.type in ("key-press", "key-release"):
            key = ev.key or ""
            code = key if len(key) == 1 else "\0"
            iren.SetEventInformation(iren.GetEventPosition()[0], iren.GetEventPosition()[1],
                                     ctrl, shift, code, 0, key)
            if ev.type == "key-press":
                iren.KeyPressEvent()
                iren.CharEvent()
            else:
                iren.KeyReleaseEvent()

    def _touch(self, ev, h, ctrl, shift):
        """One finger: a left drag. A second finger ends that drag and
        starts a pinch between the two; when one of them lifts the pinch
        ends, and the fingers left do nothing until all are up (no jump)."""
        iren = self.interactor
        tid, touches = ev.touch_id, self._touches
        mode = self._touch_mode or (None,)
        if ev.type == "touch-down":
            touches[tid] = (ev.x, ev.y)
        elif tid not in touches:
            return
        else:
            touches[tid] = (ev.x, ev.y)

        def at(x, y):
            iren.SetEventInformation(int(x), int(h - 1 - y), ctrl, shift)

        def spread(a, b):
            (ax, ay), (bx, by) = touches[a], touches[b]
            return math.hypot(ax - bx, ay - by), (ax + bx) / 2, (ay + by) / 2

        if ev.type == "touch-down":
            if mode[0] is None and len(touches) == 1:
                self._touch_mode = ("drag", tid)
                at(ev.x, ev.y)
                iren.LeftButtonPressEvent()
            elif mode[0] == "drag" and len(touches) == 2:
                first = mode[1]
                at(*touches[first])
                iren.LeftButtonReleaseEvent()
                d, mx, my = spread(first, tid)
                self._touch_mode = ("pinch", first, tid, d)
                at(mx, my)
                iren.SetScale(1.0)
                iren.SetScale(1.0)
                iren.StartPinchEvent()
        elif ev.type == "touch-motion":
            if mode[0] == "drag" and tid == mode[1]:
                at(ev.x, ev.y)
                iren.MouseMoveEvent()
            elif mode[0] == "pinch" and tid in mode[1:3]:
                d, mx, my = spread(mode[1], mode[2])
                if mode[3] > 0 and d > 0:
                    at(mx, my)
                    self._pinch(d / mode[3], mx, h - 1 - my)
        else:
            del touches[tid]
            if mode[0] == "drag" and tid == mode[1]:
                at(ev.x, ev.y)
                iren.LeftButtonReleaseEvent()
                self._touch_mode = ("done",)
            elif mode[0] == "pinch" and tid in mode[1:3]:
                iren.EndPinchEvent()
                self._touch_mode = ("done",)
            if not touches:
                self._touch_mode = None

    def _pinch(self, scale, x, y):
        """VTK's pinch event at scale (the fingers' distance over their
        distance at the start); where the style leaves the camera alone
        (the trackball and most others handle no gestures), the dolly
        vtkInteractorStyleMultiTouchCamera::OnPinch would make."""
        iren = self.interactor
        ren = iren.FindPokedRenderer(int(x), int(y))
        cam = ren.GetActiveCamera() if ren is not None else None
        before = (cam.GetDistance(), cam.GetParallelScale()) if cam is not None else None
        last = iren.GetScale()
        iren.SetScale(scale)
        iren.PinchEvent()
        if cam is None or (cam.GetDistance(), cam.GetParallelScale()) != before:
            return
        factor = scale / last if last > 0 else 1.0
        if factor == 1.0:
            return
        if cam.GetParallelProjection():
            cam.SetParallelScale(cam.GetParallelScale() / factor)
        else:
            cam.Dolly(factor)
            ren.ResetCameraClippingRange()
        iren.Render()

    # -- the loop
    def run(self, fps=30, frames=None, duration=None, on_frame=None):
        """Stream until stop(), frames renders, duration seconds or Ctrl-C
        (which ends run() quietly); returns how many renders were made.

        At most fps times a second: apply the viewers' events, call
        on_frame(stream) if given (animate there), and render when
        something may have changed (events, on_frame, request_render(),
        the first frame). Without on_frame, an idle stream sleeps on the
        event queue: no CPU until a viewer acts."""
        if fps is None or fps <= 0:
            raise ValueError("run() wants fps > 0, not %r" % (fps,))
        period = 1.0 / fps
        self._stop = False
        _writer_clear_interrupt(self.publisher._writer())
        start = time.monotonic()
        end = None if duration is None else start + duration
        next_time, rendered = start, 0
        try:
            while not self._stop:
                now = time.monotonic()
                if (end is not None and now >= end) or (frames is not None
                                                        and rendered >= frames):
                    break
                if next_time > now:
                    time.sleep(next_time - now if end is None else min(next_time, end) - now)
                    continue
                changed = self.process_events(render=False) > 0
                if on_frame is not None:
                    changed = True
                    try:
                        on_frame(self)
                    except Exception:
                        self._failed("on_frame")
                if changed or rendered == 0 or self._dirty:
                    self.render()
                    rendered += 1
                next_time = max(next_time + period, time.monotonic())
                while on_frame is None and not self._dirty and not self._stop:
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    woken = self.publisher.wait_events(_IDLE_SLICE_S if left is None
                                                       else min(_IDLE_SLICE_S, left))
                    # After the wait, never before (see vizstream/aio.py).
                    _writer_clear_interrupt(self.publisher._writer())
                    if woken:
                        break
        except KeyboardInterrupt:
            # Ctrl-C (or a notebook's interrupt) ends the stream, quietly:
            # what follows run() still runs, servers stop at exit.
            pass
        finally:
            _writer_clear_interrupt(self.publisher._writer())
        return rendered

    def stop(self):
        """End run() (from on_frame, or from another thread)."""
        self._stop = True
        self._wake()

    def _wake(self):
        # run() may be asleep on the event queue: make that sleep end.
        if not self.publisher.closed:
            _writer_interrupt(self.publisher._writer())

    # -- browsers
    def serve(self, port=0, announce=True, **options):
        """Start vizstream-server for this stream (Publisher.serve(), same
        options: port, token, allow_resize=True...); prints the address
        unless announce=False. Returns the stream, for
        VtkStream(rw).serve().run()."""
        server = self.publisher.serve(port=port, **options)
        if announce:
            print("vizstream: streaming at %s" % server.control_url, flush=True)
        return self

    @property
    def server(self):
        return self.publisher.server

    @property
    def url(self):
        server = self.publisher.server
        return server.url if server else None

    # -- notebooks
    def _repr_html_(self):
        # Jupyter: a stream that serves shows its live page.
        return self.publisher._repr_html_()

    def show(self, width=None, height=None, control=True):
        """Show the live page in the notebook cell (Server.show())."""
        self.publisher.show(width, height, control)

    def arun(self, fps=None, frames=None):
        """run() for asyncio, on the event loop's thread (VTK's): in a
        notebook, asyncio.ensure_future(stream.arun()) streams in the
        background while cells run (the kernel's loop runs the task between
        them); a cell that changes the scene calls stream.render(). fps=None
        renders on viewers' events only (no polling); fps=N paces renders
        as run() does. Returns how many renders were made."""
        def render(events):
            self._apply_events(events, render=False)   # one render after them all
            self.render()

        return self.publisher.arun(render, fps=fps, frames=frames)
