/* vizstream.h: publish a renderer's frames into a shared segment, and read
 * them back (the renderer-side library of gst-vizstream).
 *
 * Plain C, libc only. The segment's layout is specified in docs/protocol.md.
 *
 * Every function that can fail returns a VzResult (0 on success, a negative
 * code otherwise); vz_last_error() then gives a sentence for the user, with
 * the specific values involved, for the calling thread.
 *
 * Thread safety: a VzWriter or a VzReader is used by one thread at a time,
 * except vz_reader_interrupt() and vz_writer_interrupt_events(), which any
 * thread may call, and vz_writer_wait_events() (see there).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_VERSION_MAJOR 0
#define VZ_VERSION_MINOR 1

typedef enum
{
  VZ_OK = 0,
  VZ_ERR_INVALID_ARGUMENT = -1,
  VZ_ERR_NOT_FOUND = -2,        /* no segment with that name (yet) */
  VZ_ERR_NOT_READY = -3,        /* exists, its writer is still creating it */
  VZ_ERR_BAD_MAGIC = -4,        /* not a vizstream segment */
  VZ_ERR_BAD_VERSION = -5,      /* a protocol version we do not speak */
  VZ_ERR_BAD_HEADER = -6,       /* impossible sizes or counts */
  VZ_ERR_TRUNCATED = -7,        /* the object is smaller than it claims */
  VZ_ERR_BUSY = -8,             /* the name is in use by a live writer */
  VZ_ERR_EXISTS = -9,           /* the name is taken by a foreign object */
  VZ_ERR_TOO_LARGE = -10,       /* a frame bigger than the segment allows */
  VZ_ERR_TIMEOUT = -11,
  VZ_ERR_INTERRUPTED = -12,     /* vz_reader_interrupt() was called */
  VZ_ERR_CLOSED = -13,          /* the writer closed the segment */
  VZ_ERR_GONE = -14,            /* the writer died or was replaced */
  VZ_ERR_TORN = -15,            /* the frame was overwritten during a copy */
  VZ_ERR_BAD_FRAME = -16,       /* a slot's metadata is impossible */
  VZ_ERR_NO_FRAME = -17,        /* nothing published yet */
  VZ_ERR_SYSTEM = -18,          /* a system call failed (see vz_last_error) */
  VZ_ERR_PERMISSION = -19,      /* the object belongs to someone else */
  VZ_ERR_STATE = -20,           /* call out of order (e.g. publish twice) */
} VzResult;

/* Pixel formats. Values are the protocol's; names match GStreamer's. */
typedef enum
{
  VZ_FORMAT_UNKNOWN = 0,
  VZ_FORMAT_RGBA = 1,
  VZ_FORMAT_BGRA = 2,
  VZ_FORMAT_RGBX = 3,
  VZ_FORMAT_BGRX = 4,
  VZ_FORMAT_ARGB = 5,
  VZ_FORMAT_ABGR = 6,
  VZ_FORMAT_XRGB = 7,
  VZ_FORMAT_XBGR = 8,
  VZ_FORMAT_RGB = 9,
  VZ_FORMAT_BGR = 10,
  VZ_FORMAT_GRAY8 = 11,
  VZ_FORMAT_GRAY16_LE = 12,
  VZ_FORMAT_LAST = VZ_FORMAT_GRAY16_LE
} VzFormat;

/* Frame flags. */
#define VZ_FRAME_BOTTOM_UP 0x1u /* row 0 in memory is the image's bottom */

/* Limits (also in docs/protocol.md). */
#define VZ_MAX_DIMENSION_PX 16384u
#define VZ_DEFAULT_SLOTS 3u
#define VZ_DEFAULT_EVENT_LANES 8u
#define VZ_DEFAULT_LANE_CAPACITY 256u
#define VZ_NAME_MAX 200u

const char *vz_strerror (int result);
/* The last failure's message for this thread ("" if none). */
const char *vz_last_error (void);

unsigned vz_format_bytes_per_pixel (VzFormat format);   /* 0 if unknown */
/* GStreamer-style name ("RGBA", "BGRx", "GRAY16_LE"...), NULL if unknown. */
const char *vz_format_name (VzFormat format);
/* Inverse of vz_format_name (case-sensitive); VZ_FORMAT_UNKNOWN if none. */
VzFormat vz_format_from_name (const char *name);
/* The stride vz_writer uses by default: width * bpp rounded up to 4. */
uint32_t vz_default_stride (VzFormat format, uint32_t width);

/* CLOCK_MONOTONIC in ns: the clock of publish_ns and event timestamps. */
uint64_t vz_monotonic_ns (void);

/* A frame: what the writer fills, what a reader is told. */
typedef struct
{
  uint32_t width;
  uint32_t height;
  uint32_t stride;              /* bytes from one row to the next */
  VzFormat format;
  uint32_t flags;               /* VZ_FRAME_* */
  uint32_t slot;                /* which slot holds it */
  uint64_t frame_number;        /* 1 for the first frame published */
  uint64_t timestamp_ns;        /* the renderer's own timestamp */
  uint64_t publish_ns;          /* CLOCK_MONOTONIC at publish */
  uint64_t publish_unix_ns;     /* CLOCK_REALTIME at publish */
  void *data;                   /* writer: the slot's memory; reader: NULL */
  uint64_t seq;                 /* private: the slot's sequence */
} VzFrame;

/* ---- Writer (the renderer) ---- */

typedef struct VzWriter VzWriter;

typedef struct
{
  uint32_t max_width;           /* required, 1..16384 */
  uint32_t max_height;          /* required, 1..16384 */
  VzFormat format;              /* required: slots are sized for it */
  uint32_t slot_count;          /* 0: VZ_DEFAULT_SLOTS; 2..16 */
  uint32_t event_lanes;         /* 0: VZ_DEFAULT_EVENT_LANES; 1..64 */
  uint32_t lane_capacity;       /* 0: default; power of two, 16..4096 */
} VzWriterConfig;

/* Create the named segment (mode 0600). The name is a POSIX shm name with
 * or without its leading '/'. A leftover segment whose writer died is
 * replaced; one whose writer is alive gives VZ_ERR_BUSY. The first frame
 * size is max_width x max_height in the given format. */
int vz_writer_create (const char *name, const VzWriterConfig * config,
    VzWriter ** writer);

/* Size and format of the frames acquired from now on (a resize). stride 0
 * picks vz_default_stride(). VZ_ERR_TOO_LARGE if it does not fit a slot. */
int vz_writer_set_frame_format (VzWriter * writer, uint32_t width,
    uint32_t height, VzFormat format, uint32_t stride);

/* Hand out the next slot to render into: frame->data, width, height,
 * stride and format are filled. Never waits for readers. */
int vz_writer_acquire (VzWriter * writer, VzFrame * frame);

/* Publish the acquired frame. timestamp_ns 0 means "now" (monotonic);
 * flags: VZ_FRAME_BOTTOM_UP. Fills frame->frame_number and publish times.
 * Wakes sleeping readers. */
int vz_writer_publish (VzWriter * writer, VzFrame * frame,
    uint64_t timestamp_ns, uint32_t flags);

/* Give an acquired slot back without publishing it. */
int vz_writer_cancel (VzWriter * writer, VzFrame * frame);

/* acquire + copy rows from data (src_stride bytes apart) + publish. */
int vz_writer_publish_copy (VzWriter * writer, const void *data,
    size_t src_stride, uint64_t timestamp_ns, uint32_t flags,
    uint64_t * frame_number);

uint64_t vz_writer_frames_published (const VzWriter * writer);
const char *vz_writer_name (const VzWriter * writer);

/* ---- Messages: from the renderer to every viewer ---- */

/* The largest message, in bytes of JSON text. */
#define VZ_MESSAGE_MAX 4096u

/* Send a small message to every viewer (progress, status, application
 * state): json is one JSON object as UTF-8 text, len bytes (no NUL
 * needed; len 0 means strlen), at most VZ_MESSAGE_MAX. Conventions the
 * page understands: {"progress": 0..100, "status": "text", ...}
 * (docs/server.md). It goes into the segment's message ring
 * (docs/protocol.md "Message area") and never waits for a reader; a
 * reader that falls more than the ring's 8 messages behind loses the
 * oldest, the newest is always there. Returns VZ_OK; VZ_ERR_TOO_LARGE
 * (longer than VZ_MESSAGE_MAX) or VZ_ERR_INVALID_ARGUMENT (not UTF-8, not
 * one JSON object): nothing is sent, vz_last_error() says why and where. */
int vz_writer_send_message (VzWriter * writer, const char *json, size_t len);
/* Messages sent so far (the number of the newest). */
uint64_t vz_writer_messages_sent (const VzWriter * writer);

/* Mark the segment closed, wake readers, unlink the name (if it is still
 * ours) and unmap. NULL is ignored. */
void vz_writer_close (VzWriter * writer);

/* ---- Reader (shmframesrc, tools, tests) ---- */

typedef struct VzReader VzReader;

typedef struct
{
  uint32_t max_width;
  uint32_t max_height;
  VzFormat default_format;
  uint32_t slot_count;
  uint64_t slot_size;
  uint64_t total_size;
  uint32_t writer_pid;
  uint32_t event_lanes;
  uint32_t lane_capacity;
} VzSegmentInfo;

/* Reader open flags. */
#define VZ_READER_EVENTS 0x1u   /* map the event area writable (producer) */
/* vz_reader_wait() also returns (VZ_MESSAGE_WAITING) when the renderer
 * sent a message the reader has not read (vz_reader_read_message). */
#define VZ_READER_MESSAGES 0x2u

/* Not an error: vz_reader_wait() with VZ_READER_MESSAGES, a message is
 * waiting. */
#define VZ_MESSAGE_WAITING 1

/* Open and validate a segment. VZ_ERR_NOT_FOUND: not there yet;
 * VZ_ERR_NOT_READY: being created; VZ_ERR_BAD_*, VZ_ERR_TRUNCATED: refused
 * (vz_last_error says why). Never reads outside the object. */
int vz_reader_open (const char *name, unsigned flags, VzReader ** reader);
void vz_reader_close (VzReader * reader);
void vz_reader_get_info (const VzReader * reader, VzSegmentInfo * info);

/* Sleep until a frame newer than after_frame is published (futex; no
 * polling). timeout_ns < 0 waits forever. Returns VZ_OK, VZ_ERR_TIMEOUT,
 * VZ_ERR_INTERRUPTED, VZ_ERR_CLOSED or VZ_ERR_GONE. */
int vz_reader_wait (VzReader * reader, uint64_t after_frame,
    int64_t timeout_ns);

/* Make waits return VZ_ERR_INTERRUPTED (from any thread) until
 * vz_reader_clear_interrupt() is called. */
void vz_reader_interrupt (VzReader * reader);
void vz_reader_clear_interrupt (VzReader * reader);

/* The newest frame's metadata (a consistent snapshot, validated against the
 * segment's limits). VZ_ERR_NO_FRAME before the first publish; VZ_ERR_TORN
 * when the writer kept the newest slot mid-write through a few quick
 * retries (see vz_reader_backoff). */
int vz_reader_peek (VzReader * reader, VzFrame * frame);

/* Copy copies. */
#define VZ_COPY_TOP_DOWN 0x1u   /* flip bottom-up frames while copying */

/* Copy the frame peeked into dst (dst_stride bytes per row, at least
 * width * bpp). VZ_ERR_TORN if the writer reused the slot meanwhile: peek
 * again and retry. With VZ_COPY_TOP_DOWN a bottom-up frame lands top-down
 * in the same single pass. */
int vz_reader_copy (VzReader * reader, const VzFrame * frame, void *dst,
    size_t dst_stride, unsigned copy_flags);

/* A reader's own pass over the pixels in place (a colour conversion, a
 * checksum, an upload): called by vz_reader_read() with the frame's rows
 * in shared memory. Row y (0 = the first row, top when read_flags has
 * VZ_COPY_TOP_DOWN) starts at (const uint8_t *) pixels + y * stride and
 * holds frame->width * bpp bytes; the function may read frame->height such
 * rows and nothing else. stride is negative when the rows run backwards
 * (a bottom-up frame read top-down; libyuv and most converters take a
 * negative stride as it is). frame is the library's validated copy of the
 * one peeked: its width, height and stride fit the slot.
 *
 * The bytes are the writer's and may change while the function runs (a
 * writer reusing the slot): it must treat them as untrusted input (no
 * pixel value used as an index or a length) and keep its results
 * tentative until vz_reader_read() returns. Returns VZ_OK or a VZ_ERR_
 * value of its own; it must not call back into the reader. */
typedef int (*VzReadFunc) (const void *pixels, ptrdiff_t stride,
    const VzFrame * frame, void *user);

/* Run fn over the frame peeked, in place, under the same lease and check
 * as vz_reader_copy() (which is this with a row copy): no copy before the
 * function. read_flags: VZ_COPY_TOP_DOWN (see VzReadFunc). Returns
 * VZ_ERR_BAD_FRAME (fn not called) for a frame whose metadata do not fit
 * the segment; VZ_ERR_TORN if the writer reused the slot before or during
 * the call: whatever fn produced is a mix of two frames and must be
 * discarded (peek again, vz_reader_backoff(), retry); otherwise fn's own
 * result. */
int vz_reader_read (VzReader * reader, const VzFrame * frame,
    unsigned read_flags, VzReadFunc fn, void *user);

/* Call when vz_reader_peek(), _copy() or _read() gave VZ_ERR_TORN, before
 * trying again; torn_in_a_row counts such results since the last frame
 * taken (1 for the first). The first few return at once (a fast writer
 * has a newer frame ready); after that it sleeps until the next publish
 * or for a short while (1 ms, doubling to 20 ms), so a writer that leaves
 * its newest slot half-written (broken or hostile) costs the reader no
 * CPU, and frames resume the moment it publishes properly again. Returns
 * 0 (no sleep), 1 (slept: worth counting, the writer is stalled), or
 * VZ_ERR_INTERRUPTED, VZ_ERR_CLOSED, VZ_ERR_GONE. */
int vz_reader_backoff (VzReader * reader, unsigned torn_in_a_row);

/* The next message the renderer sent that this reader has not read: its
 * text into buf (NUL-terminated; size at least VZ_MESSAGE_MAX + 1), its
 * length in *len. *len == 0: nothing new. A reader starts at the newest
 * message sent before it opened the segment (the renderer's current
 * state). Messages overwritten before they were read, or invalid (not
 * UTF-8 JSON objects: a broken or hostile writer), are skipped and
 * counted in *skipped (may be NULL). Segments without a message area
 * (other writers) never have messages. Never blocks, never spins. */
int vz_reader_read_message (VzReader * reader, char *buf, size_t size,
    size_t *len, uint64_t * skipped);

/* Is the writer still there? VZ_OK, VZ_ERR_CLOSED (closed cleanly) or
 * VZ_ERR_GONE (died, or the name now belongs to a new segment). */
int vz_reader_check_writer (VzReader * reader);

/* ---- Events: from producers (viewers, pipelines) to the renderer ---- */

typedef enum
{
  VZ_EVENT_POINTER_MOVE = 1,
  VZ_EVENT_BUTTON_PRESS = 2,
  VZ_EVENT_BUTTON_RELEASE = 3,
  VZ_EVENT_WHEEL = 4,
  VZ_EVENT_KEY_PRESS = 5,
  VZ_EVENT_KEY_RELEASE = 6,
  VZ_EVENT_TOUCH_DOWN = 7,
  VZ_EVENT_TOUCH_MOTION = 8,
  VZ_EVENT_TOUCH_UP = 9,
  VZ_EVENT_RESIZE_REQUEST = 10,
  VZ_EVENT_CUSTOM = 11,
  VZ_EVENT_LAST = VZ_EVENT_CUSTOM
} VzEventType;

/* Modifier state bits (GStreamer's GstNavigationModifierType names). */
#define VZ_MOD_SHIFT 0x1u
#define VZ_MOD_CONTROL 0x2u
#define VZ_MOD_ALT 0x4u         /* mod1-mask */
#define VZ_MOD_META 0x8u
#define VZ_MOD_BUTTON1 0x100u   /* button1-mask .. button5-mask */
#define VZ_MOD_BUTTON2 0x200u
#define VZ_MOD_BUTTON3 0x400u
#define VZ_MOD_BUTTON4 0x800u
#define VZ_MOD_BUTTON5 0x1000u
#define VZ_MOD_ALL 0x1f0fu

#define VZ_EVENT_TEXT_SIZE 160u /* key name or custom text, with its NUL */

typedef struct
{
  VzEventType type;
  uint32_t modifiers;           /* VZ_MOD_* */
  uint64_t timestamp_ns;        /* CLOCK_MONOTONIC; 0 on push = now */
  double x, y;                  /* frame pixels (pointer, touch, wheel) */
  double delta_x, delta_y;      /* wheel */
  double pressure;              /* touch, 0..1 */
  uint32_t button;              /* 1-based (press, release) */
  uint32_t viewer_id;           /* who sent it (0 = local) */
  uint32_t touch_id;            /* touch identifier */
  uint32_t width, height;       /* resize request */
  char text[VZ_EVENT_TEXT_SIZE];        /* key name (X keysym) or custom */
} VzEvent;

const char *vz_event_type_name (VzEventType type);

/* The event as one JSON object in the canonical form of docs/events.md
 * ({"event":"MouseMove","x":..,"y":..,"modifier_state":"shift-mask"});
 * modifier_state is always written. Returns the length written (NUL not
 * counted), or VZ_ERR_TOO_LARGE if size is too small (512 always does). */
int vz_event_to_json (const VzEvent * event, char *buf, size_t size);

typedef struct
{
  size_t events;                /* events stored */
  size_t invalid;               /* well-formed objects that are no event */
  size_t malformed;             /* values that are not JSON (a line each) */
  size_t overflow;              /* events past max */
  char last_error[160];         /* why the last bad one was refused */
} VzJsonResult;

/* Events from JSON text (docs/events.md): one object, an array of
 * objects, or several objects one after another (newline-delimited JSON).
 * Unknown fields are ignored, modifier_state is optional; a value that is
 * not JSON costs the rest of its line, an object that is not a valid event
 * is skipped; both are counted in res. Never reads past len. Returns
 * VZ_OK (bad input included: see res) or VZ_ERR_INVALID_ARGUMENT; the
 * number of events stored is res->events, not the return value. */
int vz_events_from_json (const char *text, size_t len, VzEvent * events,
    size_t max, VzJsonResult * res);

/* Producer side: claims a lane of the segment's event queue for as long
 * as it lives. The reader must be opened with VZ_READER_EVENTS; one
 * producer per reader. Never blocks. */
typedef struct VzProducer VzProducer;

/* VZ_ERR_BUSY when every lane has a live producer. */
int vz_producer_new (VzReader * reader, VzProducer ** producer);
/* Queue one event. When the renderer lags and the lane is full, events wait
 * in the producer (pointer motion coalesced, the oldest motion dropped
 * first, never a release) and go out with the next push or flush. */
int vz_producer_push (VzProducer * producer, const VzEvent * event);
/* Try again to hand over events held back by a full lane; returns how many
 * are still held. */
size_t vz_producer_flush (VzProducer * producer);
void vz_producer_free (VzProducer * producer);

/* Consumer side (the renderer). Events of one producer arrive in order;
 * producers are merged by timestamp. Returns the number of events stored
 * (0 if none), or a negative VzResult. */
int vz_writer_poll_events (VzWriter * writer, VzEvent * events, size_t max);
/* Sleep until an event is queued (futex) or timeout_ns passes (< 0:
 * forever). VZ_OK (an event is there, or a spurious wake-up: poll and see),
 * VZ_ERR_TIMEOUT or VZ_ERR_INTERRUPTED. One thread may sleep here while
 * another publishes frames with the same writer (acquire, publish, cancel,
 * set_frame_format), but not while another polls events or closes it. */
int vz_writer_wait_events (VzWriter * writer, int64_t timeout_ns);
/* Make vz_writer_wait_events() return VZ_ERR_INTERRUPTED at once, the
 * sleeping one and every later one, until
 * vz_writer_clear_interrupt_events() is called. Any thread may call it
 * (not concurrently with vz_writer_close()): this is how a waiter thread
 * is ended before closing the writer. */
void vz_writer_interrupt_events (VzWriter * writer);
void vz_writer_clear_interrupt_events (VzWriter * writer);

typedef struct
{
  uint64_t received;            /* events handed to the renderer */
  uint64_t dropped_motion;      /* coalesced or dropped by producers */
  uint64_t dropped_other;
  uint64_t rejected;            /* invalid records skipped */
  uint32_t producers;           /* lanes with a live producer now */
} VzEventStats;

void vz_writer_event_stats (VzWriter * writer, VzEventStats * stats);

#ifdef __cplusplus
}
#endif
