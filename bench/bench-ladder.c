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
  /* I420 as encbench writes it (rawvideoparse): tight rows, which it is
   * for an even height and a width that is a multiple of 8 */
  gsize frame = (gsize) w * h * 3 / 2;
  guint8 *buf;
  FILE *f = fopen (path, "rb");
  VsMotion m = { 0 };
  gdouble sum = 0;
  guint n = 0;
  gsize got;

  if (w % 8 || h % 2) {
    fprintf (stderr, "--measure: %ux%u: the width must be a multiple of 8 "
        "and the height even\n", w, h);
    return 2;
  }
  if (!f) {
    perror (path);
    return 1;
  }
  buf = g_malloc (frame);
  while ((got = fread (buf, 1, frame, f)) == frame) {
    vs_motion_frame (&m, buf, w, h, w, 1, 1.0 / 30);
    if (n++ > 0)
      sum += m.last;
  }
  fclose (f);
  g_free (buf);
  if (got || n < 2) {
    fprintf (stderr, "--measure: %s is not a whole number (at least 2) of "
        "%ux%u I420 frames\n", path, w, h);
    return 1;
  }
  printf ("%.5f\n", sum / (n - 1));
  vs_motion_clear (&m);
  return 0;
}

int
main (int argc, char **argv)
{
  VsLadder ladder = {.max_scale = 1.0 };
  guint w, h;
  int first = 4;

  if (argc == 4 && !strcmp (argv[1], "--measure")
      && sscanf (argv[3], "%ux%u", &w, &h) == 2)
    return measure (argv[2], w, h);
  if (argc > 5 && !strcmp (argv[4], "--motion")) {
    /* a clip's steady share (no smoothing, no hysteresis to go through) */
    ladder.still = atof (argv[5]) < VS_LADDER_STILL;
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
