/* vz-test-publisher: publishes frames whose every word can be checked.
 *
 * Frame k, as 32-bit words: w[0] = k, w[1] = width, w[2] = height, and
 * w[i] = k * 0x9E3779B1 + i for every other word of every row (RGBA, so a
 * row is width words; the stride is width * 4). A reader that mixes two
 * frames, or reads one half written, fails the check (checkframes.py).
 *
 *   vz-test-publisher --segment NAME --size WxH [--frames N] [--fps N]
 *       [--slots N] [--resize-storm] [--ready-file PATH]
 *
 * --fps 0 publishes as fast as it can (the writer never waits for
 * readers). --resize-storm gives every frame a new size within the maximum.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATTERN_K 0x9E3779B1u

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    {"segment", required_argument, NULL, 's'},
    {"size", required_argument, NULL, 'S'},
    {"frames", required_argument, NULL, 'n'},
    {"fps", required_argument, NULL, 'f'},
    {"slots", required_argument, NULL, 'l'},
    {"resize-storm", no_argument, NULL, 'r'},
    {"ready-file", required_argument, NULL, 'R'},
    {NULL, 0, NULL, 0}
  };
  const char *segment = NULL, *ready = NULL;
  unsigned w = 320, h = 240, slots = 3;
  unsigned long long frames = 0;
  double fps = 0;
  int storm = 0, c, rc;
  VzWriterConfig cfg = { 0 };
  VzWriter *writer;
  struct timespec next;

  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 's':
        segment = optarg;
        break;
      case 'S':
        if (sscanf (optarg, "%ux%u", &w, &h) != 2)
          return 2;
        break;
      case 'n':
        frames = strtoull (optarg, NULL, 10);
        break;
      case 'f':
        fps = strtod (optarg, NULL);
        break;
      case 'l':
        slots = (unsigned) strtoul (optarg, NULL, 10);
        break;
      case 'r':
        storm = 1;
        break;
      case 'R':
        ready = optarg;
        break;
      default:
        return 2;
    }
  }
  if (segment == NULL) {
    fprintf (stderr, "vz-test-publisher: --segment is required\n");
    return 2;
  }
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);

  cfg.max_width = w;
  cfg.max_height = h;
  cfg.format = VZ_FORMAT_RGBA;
  cfg.slot_count = slots;
  if ((rc = vz_writer_create (segment, &cfg, &writer)) != VZ_OK) {
    fprintf (stderr, "vz-test-publisher: %s\n", vz_last_error ());
    return 1;
  }
  if (ready) {
    FILE *f = fopen (ready, "w");
    if (f)
      fclose (f);
  }

  clock_gettime (CLOCK_MONOTONIC, &next);
  for (unsigned long long k = 1; !stop && (frames == 0 || k <= frames); k++) {
    VzFrame f;
    uint32_t fw = w, fh = h;

    if (storm) {
      /* A new size every frame, never the same twice in a row. */
      fw = 16 + (uint32_t) ((k * 37) % (w - 15));
      fh = 16 + (uint32_t) ((k * 53) % (h - 15));
      if (vz_writer_set_frame_format (writer, fw, fh, VZ_FORMAT_RGBA,
              fw * 4) != VZ_OK) {
        fprintf (stderr, "vz-test-publisher: %s\n", vz_last_error ());
        return 1;
      }
    }
    if (vz_writer_acquire (writer, &f) != VZ_OK) {
      fprintf (stderr, "vz-test-publisher: %s\n", vz_last_error ());
      return 1;
    }
    {
      uint32_t *words = f.data;
      size_t n = (size_t) f.stride / 4 * f.height;
      uint32_t base = (uint32_t) k * PATTERN_K;
      words[0] = (uint32_t) k;
      words[1] = f.width;
      words[2] = f.height;
      for (size_t i = 3; i < n; i++)
        words[i] = base + (uint32_t) i;
    }
    if (vz_writer_publish (writer, &f, 0, 0) != VZ_OK) {
      fprintf (stderr, "vz-test-publisher: %s\n", vz_last_error ());
      return 1;
    }
    if (fps > 0) {
      long long ns = (long long) (1e9 / fps);
      next.tv_nsec += ns % 1000000000;
      next.tv_sec += ns / 1000000000 + next.tv_nsec / 1000000000;
      next.tv_nsec %= 1000000000;
      clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
  }
  vz_writer_close (writer);
  return 0;
}
