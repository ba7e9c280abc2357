/* gst-vizstream: helpers shared by the writer, the reader and the event
 * queue. Private to the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vizstream.h"
#include "vz-protocol.h"

#include <stdbool.h>

#if defined(__GNUC__)
#define VZ_PRINTF(a, b) __attribute__ ((format (printf, a, b)))
#else
#define VZ_PRINTF(a, b)
#endif

/* Record a message for vz_last_error() and return code. */
int vz_fail (int code, const char *fmt, ...) VZ_PRINTF (2, 3);
void vz_clear_error (void);

/* "/name" from "name" or "/name"; VZ_ERR_INVALID_ARGUMENT if unusable. */
int vz_normalize_name (const char *name, char *out, size_t out_size);

uint64_t vz_realtime_ns (void);

/* The geometry a validated header describes, copied out of shared memory
 * once so that a writer changing it later cannot move our bounds. */
typedef struct
{
  uint64_t total_size;
  uint32_t slot_count;
  uint32_t max_width;
  uint32_t max_height;
  uint32_t default_format;
  uint64_t slot_size;
  uint64_t slots_offset;
  uint64_t events_offset;
  uint64_t events_size;
  uint32_t writer_pid;
  /* event area (validated too) */
  uint32_t lane_count;
  uint32_t lane_capacity;
  uint64_t lane_stride;
  uint64_t lanes_offset;
  /* message area (validated; messages_offset 0 = none) */
  uint64_t messages_offset;
  uint64_t messages_size;
  uint32_t message_slots;
} VzLayout;

/* The renderer's private view of the event queue (never trusted to shared
 * memory, which producers can write). */
typedef struct
{
  uint64_t head[VZ_MAX_LANES];
  uint64_t received;
  uint64_t rejected;
  /* atomic: vz_writer_interrupt_events(), from any thread */
  int interrupted;
} VzConsumerState;

/* Compute the layout a writer creates for config (already defaulted). */
int vz_layout_for_config (const VzWriterConfig * config, VzLayout * layout);

/* Validate a header read from an object of object_size bytes (the header's
 * first VZ_HEADER_SIZE bytes must be mapped at hdr). */
int vz_layout_from_header (const volatile VzHeader * hdr,
    uint64_t object_size, const char *name, VzLayout * layout);

/* Validate the event area header (mapped at ev, layout->events_size bytes)
 * and complete the lane fields of layout. */
int vz_layout_events_from_header (const volatile VzEventsHeader * ev,
    const char *name, VzLayout * layout);

/* Validate the message area header (mapped at m, layout->messages_size
 * bytes) and complete layout->message_slots. */
int vz_layout_messages_from_header (const volatile VzMessagesHeader * m,
    const char *name, VzLayout * layout);

/* Is text[0..len) one JSON object (strict JSON, valid UTF-8, no NUL, at
 * most 32 levels deep)? On false, why (a short phrase) and where. */
bool vz_json_check_object (const char *text, size_t len, char *why,
    size_t why_size, size_t *at);

/* OFD lock on one byte of the object: held by the writer (byte 0) and by
 * each event producer (its lane's first byte) for as long as it lives. */
int vz_lock_byte (int fd, uint64_t offset, bool * acquired);
/* Is anyone holding the lock on that byte? (Takes no lock.) */
int vz_lock_is_held (int fd, uint64_t offset, bool * held);

/* futex on a shared (non-private) word. timeout_ns < 0 = forever. */
int vz_futex_wait (uint32_t * word, uint32_t expected, int64_t timeout_ns);
void vz_futex_wake_all (uint32_t * word);

/* Atomic helpers on shared memory. */
#define VZ_LOAD_ACQ(p) __atomic_load_n ((p), __ATOMIC_ACQUIRE)
#define VZ_LOAD_RLX(p) __atomic_load_n ((p), __ATOMIC_RELAXED)
#define VZ_STORE_REL(p, v) __atomic_store_n ((p), (v), __ATOMIC_RELEASE)
#define VZ_STORE_RLX(p, v) __atomic_store_n ((p), (v), __ATOMIC_RELAXED)
