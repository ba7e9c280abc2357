/* libFuzzer target: a reader facing a hostile writer. The input is the
 * start of a segment (header, slot descriptors, event area header); the
 * rest of the object is zero, its size taken from the input. Opening,
 * peeking, copying and reading in place must fail cleanly or stay in
 * bounds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>
#include "vz-protocol.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

/* vz_reader_read's function: touches every byte it is allowed to, as a
 * converter would; out of bounds it faults (or ASan says so). */
static int
touch_rows (const void *pixels, ptrdiff_t stride, const VzFrame * f,
    void *user)
{
  size_t row = (size_t) f->width * vz_format_bytes_per_pixel (f->format);
  unsigned *sum = user;

  for (uint32_t y = 0; y < f->height; y++) {
    const volatile uint8_t *p = (const uint8_t *) pixels
        + (ptrdiff_t) y * stride;
    for (size_t x = 0; x < row; x++)
      *sum += p[x];
  }
  return VZ_OK;
}

static char shm_name[80];

static void
remove_object (void)
{
  shm_unlink (shm_name);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static char name[64];
  static int fd = -1;
  static uint8_t *dst;
  uint64_t object_size;
  VzReader *r = NULL;
  VzFrame f;

  if (fd < 0) {
    snprintf (name, sizeof name, "vz-fuzz-seg-%d", (int) getpid ());
    snprintf (shm_name, sizeof shm_name, "/%s", name);
    fd = shm_open (shm_name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    atexit (remove_object);
    dst = malloc (64 * 64 * 8);
    if (fd < 0 || !dst)
      abort ();
  }
  /* Object size: what the header claims (bytes 16..23) when that is at
   * most 8 MiB, so valid-looking inputs reach peek and copy; else the
   * input's size. */
  object_size = 0;
  if (size >= 24) {
    memcpy (&object_size, data + 16, 8);
    if (object_size > 8u << 20)
      object_size = 0;
  }
  if (object_size < size)
    object_size = size;
  if (ftruncate (fd, 0) != 0 || ftruncate (fd, (off_t) object_size) != 0)
    abort ();
  if (size && pwrite (fd, data, size, 0) != (ssize_t) size)
    abort ();
  {
    struct flock fl = {.l_type = F_WRLCK,.l_whence = SEEK_SET,.l_start =
          0,.l_len = 1
    };
    /* Our own fd holds the writer lock for the reader's OFD to see. */
    fcntl (fd, F_OFD_SETLK, &fl);
  }
  if (vz_reader_open (name, VZ_READER_EVENTS, &r) == VZ_OK) {
    VzSegmentInfo info;
    vz_reader_get_info (r, &info);
    if (vz_reader_peek (r, &f) == VZ_OK) {
      /* A valid frame fits 64x64x8 only if the header said so. */
      unsigned sum = 0;
      if ((uint64_t) f.width * f.height * 8 <= 64 * 64 * 8)
        vz_reader_copy (r, &f, dst, (size_t) f.width * 8, VZ_COPY_TOP_DOWN);
      vz_reader_read (r, &f, VZ_COPY_TOP_DOWN, touch_rows, &sum);
      vz_reader_read (r, &f, 0, touch_rows, &sum);
    }
    vz_reader_check_writer (r);
    vz_reader_close (r);
  }
  return 0;
}
