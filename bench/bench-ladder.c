/* What the server's ladder (server/vs-adapt.c, vs_adapt_ladder) picks for
 * a bitrate: bench/bench_ladder.py asks it, so that the bench measures the
 * server's own choice, not a copy of its rules.
 *
 *   bench-ladder WxH FPS h264|vp8 KBPS...
 *
 * prints one line per KBPS: "KBPS SCALE FPS".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs-adapt.h"

int
main (int argc, char **argv)
{
  VsLadder ladder = {.max_scale = 1.0 };
  guint w, h;

  if (argc < 5 || sscanf (argv[1], "%ux%u", &w, &h) != 2
      || (strcmp (argv[3], "h264") && strcmp (argv[3], "vp8"))) {
    fprintf (stderr, "usage: bench-ladder WxH FPS h264|vp8 KBPS...\n");
    return 2;
  }
  ladder.src_width = w;
  ladder.src_height = h;
  ladder.max_fps = (guint) atoi (argv[2]);
  ladder.bits_per_pixel = strcmp (argv[3], "vp8") ? VS_LADDER_BPP_H264 :
      VS_LADDER_BPP_VP8;
  for (int i = 4; i < argc; i++) {
    guint kbps = (guint) atoi (argv[i]), fps;
    gdouble scale;
    vs_adapt_ladder (&ladder, kbps, &scale, &fps);
    printf ("%u %.3f %u\n", kbps, scale, fps);
  }
  return 0;
}
