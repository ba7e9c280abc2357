#!/usr/bin/env python3
"""A plain numpy animation streamed with vizstream: moving colour waves,
and a dot that follows the viewer's pointer (click to drop it, 'c' clears).

    PYTHONPATH=python /usr/bin/python3 examples/python/numpy_animation.py --segment viz
    GST_PLUGIN_PATH=build gst-launch-1.0 shmframesrc segment=viz ! videoconvert ! autovideosink

or, in a browser: add --serve and open the address it prints.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import time

import numpy as np

import vizstream


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segment", default="vizstream-numpy")
    ap.add_argument("--size", default="640x360", help="WxH")
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--frames", type=int, default=0, help="0 = forever")
    ap.add_argument("--serve", action="store_true", help="start vizstream-server too")
    ap.add_argument("--port", type=int, default=0, help="its port (0: a free one)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pointer, dots = (w / 2, h / 2), []

    with vizstream.Publisher(args.segment, w, h, format="RGBA") as pub:
        print("publishing %dx%d on segment %r" % (w, h, pub.name), flush=True)
        if args.serve:
            print("open %s" % pub.serve(port=args.port).url, flush=True)
        t0, n = time.monotonic(), 0
        while args.frames == 0 or n < args.frames:
            t = time.monotonic() - t0
            for ev in pub.poll_events():
                if ev.type == "MouseMove":          # or "pointer-move"
                    pointer = (ev.x, ev.y)
                elif ev.type == "MouseButtonPress":
                    dots.append((ev.x, ev.y))
                elif ev.type == "KeyPress" and ev.key == "c":
                    dots.clear()
            # Render straight into shared memory: no copy.
            with pub.frame() as img:
                img[:, :, 0] = (127 + 127 * np.sin(xx / 40 + t * 2)).astype(np.uint8)
                img[:, :, 1] = (127 + 127 * np.sin(yy / 30 - t * 1.5)).astype(np.uint8)
                img[:, :, 2] = (127 + 127 * np.sin((xx + yy) / 60 + t)).astype(np.uint8)
                img[:, :, 3] = 255
                for (px, py), colour in [(pointer, (255, 255, 255))] + [(d, (0, 0, 0)) for d in dots]:
                    x0, y0 = int(px), int(py)
                    img[max(0, y0 - 4):y0 + 5, max(0, x0 - 4):x0 + 5, :3] = colour
            n += 1
            time.sleep(max(0.0, n / args.fps - (time.monotonic() - t0)))


if __name__ == "__main__":
    main()
