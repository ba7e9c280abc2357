#!/usr/bin/env python3
"""A matplotlib figure updated live and streamed with vizstream: a noisy
signal scrolling by. Click in the picture to mark the signal's level there
(the marker follows the viewer's clicks); 'c' clears the marks.

    PYTHONPATH=python /usr/bin/python3 examples/python/matplotlib_live.py --segment viz
    GST_PLUGIN_PATH=build gst-launch-1.0 shmframesrc segment=viz ! videoconvert ! autovideosink

or, in a browser: add --serve and open the address it prints.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import vizstream  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segment", default="vizstream-matplotlib")
    ap.add_argument("--fps", type=float, default=10)
    ap.add_argument("--frames", type=int, default=0, help="0 = forever")
    ap.add_argument("--serve", action="store_true", help="start vizstream-server too")
    ap.add_argument("--port", type=int, default=0, help="its port (0: a free one)")
    args = ap.parse_args()

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)      # 800x450 pixels
    x = np.linspace(0, 10, 500)
    line, = ax.plot(x, np.sin(x))
    marks, = ax.plot([], [], "o", color="tab:red")
    ax.set_ylim(-2, 2)
    ax.set_title("vizstream: a live matplotlib figure")
    fig.canvas.draw()
    w, h = fig.canvas.get_width_height()
    picked = []
    with vizstream.Publisher(args.segment, w, h, format="RGBA") as pub:
        print("publishing %dx%d on segment %r" % (w, h, pub.name), flush=True)
        if args.serve:
            print("open %s" % pub.serve(port=args.port).url, flush=True)
        t0, n = time.monotonic(), 0
        while args.frames == 0 or n < args.frames:
            t = time.monotonic() - t0
            for ev in pub.poll_events():
                if ev.type == "button-press":
                    # Frame pixels (top-left origin) -> data coordinates.
                    xd, yd = ax.transData.inverted().transform((ev.x, h - ev.y))
                    picked.append((xd, yd))
                elif ev.type == "key-press" and ev.key == "c":
                    picked.clear()
            line.set_ydata(np.sin(x + t) + 0.2 * np.random.randn(x.size))
            marks.set_data([p[0] for p in picked], [p[1] for p in picked])
            # Agg draws, its own buffer goes into the shared slot: one copy.
            pub.publish_figure(fig)
            n += 1
            time.sleep(max(0.0, n / args.fps - (time.monotonic() - t0)))


if __name__ == "__main__":
    main()
