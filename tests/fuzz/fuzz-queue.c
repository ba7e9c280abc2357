/* libFuzzer target: the renderer reading event lanes a hostile producer
 * wrote. The input becomes a lane's header and records; polling must not
 * crash, must deliver at most a lane's worth, and the queue must work
 * again afterwards.
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

static VzWriter *writer;
static uint8_t *lane;           /* lane 0, through our own mapping */
static size_t lane_bytes;

static void
setup (void)
{
  char name[64];
  VzWriterConfig c = {.max_width = 8,.max_height = 8,.format =
        VZ_FORMAT_RGBA,.event_lanes = 1,.lane_capacity = 16
  };
  uint8_t *base;
  int fd;

  snprintf (name, sizeof name, "vz-fuzz-queue-%d", (int) getpid ());
  if (vz_writer_create (name, &c, &writer) != VZ_OK)
    abort ();
  {
    char shm[80];
    snprintf (shm, sizeof shm, "/%s", name);
    fd = shm_open (shm, O_RDWR, 0);
    /* Unlinked at once: nothing is left behind when the fuzzer exits. */
    shm_unlink (shm);
  }
  base = mmap (NULL, 2 * VZ_PAGE + 16 * VZ_PAGE, PROT_READ | PROT_WRITE,
      MAP_SHARED, fd, 0);
  if (fd < 0 || base == MAP_FAILED)
    abort ();
  lane = base + VZ_HEADER_SIZE + VZ_EVENTS_HEADER_SIZE;
  lane_bytes = VZ_LANE_HEADER_SIZE + 16 * VZ_EVENT_RECORD_SIZE;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  VzEvent ev[64];
  int n;

  if (writer == NULL)
    setup ();
  memset (lane, 0, lane_bytes);
  memcpy (lane, data, size < lane_bytes ? size : lane_bytes);
  n = vz_writer_poll_events (writer, ev, 64);
  if (n < 0 || n > 16)
    abort ();
  for (int i = 0; i < n; i++)
    if (ev[i].type < 1 || ev[i].type > VZ_EVENT_LAST
        || strnlen (ev[i].text, VZ_EVENT_TEXT_SIZE) >= VZ_EVENT_TEXT_SIZE)
      abort ();
  /* Whatever it was, the lane drains. */
  n = vz_writer_poll_events (writer, ev, 64);
  if (n != 0)
    abort ();
  return 0;
}
