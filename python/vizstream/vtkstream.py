"""Stream a VTK render window with vizstream, and drive it remotely.

    import vtk
    from vizstream.vtkstream import VtkStream

    rw = vtk.vtkRenderWindow(); rw.SetOffScreenRendering(1)
    iren = vtk.vtkRenderWindowInteractor(); iren.SetRenderWindow(rw)
    iren.SetInteractorStyle(vtk.vtkInteractorStyleTrackballCamera())
    stream = VtkStream(rw, "viz", interactor=iren)
    while True:
        stream.process_events()   # viewers' mouse and keys -> the interactor
        rw.Render()               # every render is published

Every render is published (an observer on the window's EndEvent). Pixels
are read with GetRGBACharPixelData straight into the shared slot when VTK
writes into the array it is given (checked on every frame; otherwise one
copy) as RGBx (VTK's alpha is 0 on the background, which video must not
see as transparency); VTK's rows are bottom-up and go out flagged as such, so shmframesrc
flips them in its copy: no numpy flip here.

Events map onto the interactor the way a local mouse would: left drag
rotates (trackball style), right drag zooms, middle drag or shift+left
pans, the wheel zooms, keys go to the interactor as key and char events; a
resize request resizes the window (up to the stream's maximum).
"""
import ctypes

import numpy as np
import vtk
from vtk.util import numpy_support

from . import Publisher

_BUTTONS = {
    1: ("LeftButtonPressEvent", "LeftButtonReleaseEvent"),
    2: ("MiddleButtonPressEvent", "MiddleButtonReleaseEvent"),
    3: ("RightButtonPressEvent", "RightButtonReleaseEvent"),
}


class VtkStream:
    """Publish every render of render_window into segment; apply viewers'
    events to interactor (if given). max_width/max_height bound later
    resizes (default: twice the first size)."""

    def __init__(self, render_window, segment, interactor=None, max_width=None,
                 max_height=None):
        self.window = render_window
        self.interactor = interactor
        w, h = render_window.GetSize()
        self.publisher = Publisher(segment, w, h, format="RGBx",
                                   max_width=max_width or 2 * w, max_height=max_height or 2 * h)
        self.zero_copy_frames = 0
        self.copied_frames = 0
        self._fallback = vtk.vtkUnsignedCharArray()
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

    # -- frames
    def _on_render(self, obj, event):
        w, h = self.window.GetSize()
        if w < 1 or h < 1:
            return
        if (w, h) != (self.publisher.width, self.publisher.height):
            self.publisher.resize(w, h)
        with self.publisher.frame(bottom_up=True) as view:
            target = numpy_support.numpy_to_vtk(view.reshape(-1, 4), deep=0,
                                                array_type=vtk.VTK_UNSIGNED_CHAR)
            # Back buffer (0): the frame just rendered, before any swap.
            self.window.GetRGBACharPixelData(0, 0, w - 1, h - 1, 0, target, 0)
            address = int(target.GetPointer(0).split("_")[1], 16) \
                if isinstance(target.GetPointer(0), str) else None
            if address == view.ctypes.data:
                self.zero_copy_frames += 1
            else:
                # VTK reallocated: copy what it read.
                view.reshape(-1, 4)[:] = numpy_support.vtk_to_numpy(target).reshape(-1, 4)
                self.copied_frames += 1

    # -- events
    def process_events(self):
        """Apply every queued event; returns how many. Call it from the
        render loop (VTK is not thread-safe)."""
        events = self.publisher.poll_events()
        for ev in events:
            self.apply(ev)
        return len(events)

    def apply(self, ev):
        iren = self.interactor
        if ev.type == "resize-request":
            self.window.SetSize(int(ev.width), int(ev.height))
            return
        if iren is None:
            return
        h = self.window.GetSize()[1]
        ctrl = 1 if "control" in ev.modifiers else 0
        shift = 1 if "shift" in ev.modifiers else 0
        if ev.type in ("pointer-move", "button-press", "button-release", "wheel",
                       "touch-down", "touch-motion", "touch-up"):
            # Viewers count rows from the top, VTK from the bottom.
            iren.SetEventInformation(int(ev.x), int(h - 1 - ev.y), ctrl, shift)
        if ev.type in ("pointer-move", "touch-motion"):
            iren.MouseMoveEvent()
        elif ev.type in ("button-press", "button-release") and ev.button in _BUTTONS:
            getattr(iren, _BUTTONS[ev.button][0 if ev.type == "button-press" else 1])()
        elif ev.type == "touch-down":
            iren.LeftButtonPressEvent()
        elif ev.type == "touch-up":
            iren.LeftButtonReleaseEvent()
        elif ev.type == "wheel":
            if ev.delta_y < 0:
                iren.MouseWheelForwardEvent()
            elif ev.delta_y > 0:
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
