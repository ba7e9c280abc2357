/* gst-vizstream: the shared segment's byte layout (protocol version 1).
 *
 * Private to the library. docs/protocol.md is the normative description;
 * the static assertions at the bottom keep this file and the document in
 * step (every offset the document gives is checked here).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define VZ_MAGIC_BYTES "VIZSTRM"        /* + NUL: 8 bytes */
/* The 8 magic bytes read as a little-endian u64. */
#define VZ_MAGIC 0x004d5254535a4956ULL
#define VZ_PROTOCOL_VERSION 1u
#define VZ_HEADER_SIZE 4096u
#define VZ_PAGE 4096u

#define VZ_STATE_CREATING 0u
#define VZ_STATE_LIVE 1u
#define VZ_STATE_CLOSED 2u

#define VZ_MAX_SLOTS 16u
#define VZ_MIN_SLOTS 2u
#define VZ_MAX_DIMENSION 16384u
#define VZ_NO_SLOT 0xffffffffu

#define VZ_SLOT_FLAG_BOTTOM_UP 0x1u

/* One frame slot's descriptor: a cache line of its own. */
typedef struct
{
  uint64_t seq;                 /* 0: even = stable, odd = being written */
  uint64_t frame_number;        /* 8 */
  uint64_t publish_ns;          /* 16: CLOCK_MONOTONIC at publish */
  uint64_t timestamp_ns;        /* 24: the renderer's own timestamp */
  uint32_t width;               /* 32 */
  uint32_t height;              /* 36 */
  uint32_t stride;              /* 40 */
  uint32_t format;              /* 44 */
  uint32_t flags;               /* 48 */
  uint32_t reserved;            /* 52 */
  uint64_t publish_unix_ns;     /* 56: CLOCK_REALTIME at publish */
} VzSlotDesc;

typedef struct
{
  /* 0: identification and geometry, written once before magic */
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint64_t total_size;
  uint32_t state;
  uint32_t writer_pid;
  uint32_t slot_count;
  uint32_t max_width;
  uint32_t max_height;
  uint32_t default_format;
  uint64_t slot_size;
  uint64_t slots_offset;
  uint64_t events_offset;
  uint64_t events_size;
  uint64_t created_unix_ns;
  /* 88: the message area (renderer -> viewers); 0 = none. In space that
   * was reserved, so v1 readers that predate it ignore it. */
  uint64_t messages_offset;
  uint64_t messages_size;
  uint8_t pad0[128 - 104];

  /* 128: the publish word, a cache line of its own */
  uint32_t publish_count;       /* futex word, +1 per publish */
  uint32_t latest_slot;         /* VZ_NO_SLOT until the first publish */
  uint32_t reserved1;           /* 0 */
  uint32_t reserved2;           /* 0 */
  uint64_t frames_published;    /* frame number of the newest frame */
  uint8_t pad1[256 - 152];

  /* 256: slot descriptors */
  VzSlotDesc slots[VZ_MAX_SLOTS];

  /* 1280: reader leases, CLOCK_MONOTONIC ns until which a reader is
   * copying slot i (0 = none); the writer avoids leased slots when it can */
  uint64_t slot_lease_ns[VZ_MAX_SLOTS];
} VzHeader;

/* How long a reader's lease lasts if it never releases it (a reader that
 * dies mid-copy pins nothing for longer). */
#define VZ_LEASE_NS (50 * 1000000ull)

/* ---- event area (at events_offset) ---- */

#define VZ_EVENTS_MAGIC 0x56455a56u     /* "VZEV" little-endian */
#define VZ_EVENTS_HEADER_SIZE 256u
#define VZ_LANE_HEADER_SIZE 128u
#define VZ_EVENT_RECORD_SIZE 256u
#define VZ_EVENT_TEXT_MAX 160u
#define VZ_MAX_LANES 64u
#define VZ_MIN_LANE_CAPACITY 16u
#define VZ_MAX_LANE_CAPACITY 4096u

typedef struct
{
  uint32_t magic;               /* 0 */
  uint32_t lane_count;          /* 4 */
  uint32_t lane_capacity;       /* 8: power of two */
  uint32_t record_size;         /* 12 */
  uint64_t lanes_offset;        /* 16: from the event area's start */
  uint64_t lane_stride;         /* 24 */
  uint8_t pad0[64 - 32];
  uint32_t posted;              /* 64: futex word, +1 per committed batch */
  uint32_t consumer_waiting;    /* 68 */
  uint8_t pad1[VZ_EVENTS_HEADER_SIZE - 72];
} VzEventsHeader;

typedef struct
{
  uint64_t tail;                /* 0: records committed (producer) */
  uint32_t producer_pid;        /* 8 */
  uint32_t claims;              /* 12: times the lane was claimed */
  uint64_t dropped_motion;      /* 16: motion coalesced or dropped */
  uint64_t dropped_other;       /* 24: other events dropped */
  uint8_t pad0[64 - 32];
  uint64_t head;                /* 64: records consumed (renderer) */
  uint64_t rejected;            /* 72: invalid records the renderer skipped */
  uint8_t pad1[VZ_LANE_HEADER_SIZE - 80];
} VzLaneHeader;

typedef struct
{
  uint32_t type;                /* 0 */
  uint32_t modifiers;           /* 4 */
  uint64_t timestamp_ns;        /* 8 */
  double x;                     /* 16 */
  double y;                     /* 24 */
  double delta_x;               /* 32 */
  double delta_y;               /* 40 */
  double pressure;              /* 48 */
  uint32_t button;              /* 56 */
  uint32_t viewer_id;           /* 60 */
  uint32_t touch_id;            /* 64 */
  uint32_t width;               /* 68 */
  uint32_t height;              /* 72 */
  uint32_t text_len;            /* 76 */
  uint64_t sequence;            /* 80: position in its lane */
  uint8_t reserved[96 - 88];
  char text[VZ_EVENT_TEXT_MAX]; /* 96 */
} VzEventRecord;

/* ---- message area (at messages_offset): renderer -> viewers ---- */

#define VZ_MESSAGES_MAGIC 0x534d5a56u   /* "VZMS" little-endian */
#define VZ_MESSAGES_HEADER_SIZE 64u
#define VZ_MESSAGE_SLOT_HEADER_SIZE 64u
#define VZ_MESSAGE_MAX_LENGTH 4096u
#define VZ_MESSAGE_SLOT_STRIDE (VZ_MESSAGE_SLOT_HEADER_SIZE \
    + VZ_MESSAGE_MAX_LENGTH)
#define VZ_MAX_MESSAGE_SLOTS 64u
#define VZ_LIBRARY_MESSAGE_SLOTS 8u

typedef struct
{
  uint32_t magic;               /* 0 */
  uint32_t slot_count;          /* 4: 1..64 */
  uint32_t max_length;          /* 8: 4096 */
  uint32_t slot_stride;         /* 12: 64 + 4096 */
  uint64_t sent;                /* 16: number of the newest message */
  uint8_t pad0[VZ_MESSAGES_HEADER_SIZE - 24];
} VzMessagesHeader;

typedef struct
{
  uint64_t seq;                 /* 0: even = stable, odd = being written */
  uint64_t number;              /* 8: 1 for the first message */
  uint64_t publish_ns;          /* 16: CLOCK_MONOTONIC at send */
  uint32_t length;              /* 24: bytes of text, 1..max_length */
  uint32_t reserved;            /* 28 */
  uint8_t pad0[VZ_MESSAGE_SLOT_HEADER_SIZE - 32];
  /* 64: the text, length bytes of UTF-8 JSON (no NUL) */
} VzMessageSlot;

#define VZ_CHECK_OFFSET(type, field, off) \
  _Static_assert (offsetof (type, field) == (off), #type "." #field)

VZ_CHECK_OFFSET (VzHeader, version, 8);
VZ_CHECK_OFFSET (VzHeader, total_size, 16);
VZ_CHECK_OFFSET (VzHeader, state, 24);
VZ_CHECK_OFFSET (VzHeader, writer_pid, 28);
VZ_CHECK_OFFSET (VzHeader, slot_count, 32);
VZ_CHECK_OFFSET (VzHeader, max_width, 36);
VZ_CHECK_OFFSET (VzHeader, max_height, 40);
VZ_CHECK_OFFSET (VzHeader, default_format, 44);
VZ_CHECK_OFFSET (VzHeader, slot_size, 48);
VZ_CHECK_OFFSET (VzHeader, slots_offset, 56);
VZ_CHECK_OFFSET (VzHeader, events_offset, 64);
VZ_CHECK_OFFSET (VzHeader, events_size, 72);
VZ_CHECK_OFFSET (VzHeader, created_unix_ns, 80);
VZ_CHECK_OFFSET (VzHeader, messages_offset, 88);
VZ_CHECK_OFFSET (VzHeader, messages_size, 96);
VZ_CHECK_OFFSET (VzHeader, publish_count, 128);
VZ_CHECK_OFFSET (VzHeader, latest_slot, 132);
VZ_CHECK_OFFSET (VzHeader, frames_published, 144);
VZ_CHECK_OFFSET (VzHeader, slots, 256);
VZ_CHECK_OFFSET (VzHeader, slot_lease_ns, 1280);
_Static_assert (sizeof (VzSlotDesc) == 64, "slot descriptor size");
_Static_assert (sizeof (VzHeader) <= VZ_HEADER_SIZE, "header size");
VZ_CHECK_OFFSET (VzEventsHeader, lanes_offset, 16);
VZ_CHECK_OFFSET (VzEventsHeader, posted, 64);
_Static_assert (sizeof (VzEventsHeader) == VZ_EVENTS_HEADER_SIZE, "ev hdr");
VZ_CHECK_OFFSET (VzLaneHeader, head, 64);
_Static_assert (sizeof (VzLaneHeader) == VZ_LANE_HEADER_SIZE, "lane hdr");
VZ_CHECK_OFFSET (VzEventRecord, button, 56);
VZ_CHECK_OFFSET (VzEventRecord, sequence, 80);
VZ_CHECK_OFFSET (VzEventRecord, text, 96);
_Static_assert (sizeof (VzEventRecord) == VZ_EVENT_RECORD_SIZE, "record");
VZ_CHECK_OFFSET (VzMessagesHeader, sent, 16);
_Static_assert (sizeof (VzMessagesHeader) == VZ_MESSAGES_HEADER_SIZE, "msg");
VZ_CHECK_OFFSET (VzMessageSlot, length, 24);
_Static_assert (sizeof (VzMessageSlot) == VZ_MESSAGE_SLOT_HEADER_SIZE, "ms");
