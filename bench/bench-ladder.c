/* What the server's ladder (server/vs-adapt.c, vs_adapt_ladder) picks for
 * a bitrate: bench/bench_ladder.py asks it, so that the bench measures the
 * server's own choice, not a copy of its rules.
 *
 *   bench-ladder WxH FPS h264|vp8 [--motion SHARE] KBPS...
 *
 * prints one line per KBPS: "KBPS SCALE FPS" (SHARE: how much of the
 * picture changes, as the server measures it; default 1: moving).
 *
 *   bench-ladder --measure FILE WxH
 *
 * prints the share of the picture that changes from frame to frame in an
 * I420 file, as vs_motion_frame measures it on the server's frames (the
 * mean of its frames' shares).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs-adapt.h"

static int
measure (const char *path, guint w, guint h)
{
  gsize frame = (gsize) w * h + 2 * (gsize) ((w + 1) / 2) * ((h + 1) / 2);
  guint8 *buf = g_malloc (frame);
  FILE *f = fopen (path, "rb");
  VsMotion m = { 0 };
  gdouble sum = 0;
  guint n = 0;

  if (!f) {
    perror (path);
    return 1;
  }
  while (fread (buf, 1, frame, f) == frame) {
    vs_motion_frame (&m, buf, w, h, w, 1);
    if (m.primed && n++ > 0)
      sum += m.last;
  }
  fclose (f);
  printf ("%.5f\n", n > 1 ? sum / (n - 1) : 0.0);
  vs_motion_clear (&m);
  g_free (buf);
  return 0;
}

int
main (int argc, char **argv)
{
  VsLadder ladder = {.max_scale = 1.0,.motion = 1.0 };
  guint w, h;
  int first = 4;

  if (argc == 4 && !strcmp (argv[1], "--measure")
      && sscanf (argv[3], "%ux%u", &w, &h) == 2)
    return measure (argv[2], w, h);
  if (argc > 5 && !strcmp (argv[4], "--motion")) {
    ladder.motion = atof (argv[5]);
    first = 6;
  }
  if (argc <= first || sscanf (argv[1], "%ux%u", &w, &h) != 2
      || (strcmp (argv[3], "h264") && strcmp (argv[3], "vp8"))) {
    fprintf (stderr, "usage: bench-ladder WxH FPS h264|vp8 [--motion SHARE] "
        "KBPS...\n       bench-ladder --measure FILE.i420 WxH\n");
    return 2;
  }
  ladder.src_width = w;
  ladder.src_height = h;
  ladder.max_fps = (guint) atoi (argv[2]);
  ladder.bits_per_pixel = strcmp (argv[3], "vp8") ? VS_LADDER_BPP_H264 :
      VS_LADDER_BPP_VP8;
  for (int i = first; i < argc; i++) {
    guint kbps = (guint) atoi (argv[i]), fps;
    gdouble scale;
    vs_adapt_ladder (&ladder, kbps, &scale, &fps);
    printf ("%u %.3f %u\n", kbps, scale, fps);
  }
  return 0;
}
