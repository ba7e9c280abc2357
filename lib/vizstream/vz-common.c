/* gst-vizstream: errors, pixel formats, layout computation and validation,
 * locks and futexes shared by the writer, reader and event queue.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "vz-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static __thread char last_error[512];

int
vz_fail (int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (last_error, sizeof last_error, fmt, ap);
  va_end (ap);
  return code;
}

void
vz_clear_error (void)
{
  last_error[0] = '\0';
}

const char *
vz_last_error (void)
{
  return last_error;
}

const char *
vz_strerror (int result)
{
  switch (result) {
    case VZ_OK:
      return "success";
    case VZ_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case VZ_ERR_NOT_FOUND:
      return "no such segment";
    case VZ_ERR_NOT_READY:
      return "segment is still being created";
    case VZ_ERR_BAD_MAGIC:
      return "not a vizstream segment";
    case VZ_ERR_BAD_VERSION:
      return "unsupported protocol version";
    case VZ_ERR_BAD_HEADER:
      return "impossible segment header";
    case VZ_ERR_TRUNCATED:
      return "segment is truncated";
    case VZ_ERR_BUSY:
      return "segment name in use by a live renderer";
    case VZ_ERR_EXISTS:
      return "name taken by a foreign shared-memory object";
    case VZ_ERR_TOO_LARGE:
      return "frame larger than the segment allows";
    case VZ_ERR_TIMEOUT:
      return "timed out";
    case VZ_ERR_INTERRUPTED:
      return "interrupted";
    case VZ_ERR_CLOSED:
      return "renderer closed the segment";
    case VZ_ERR_GONE:
      return "renderer went away";
    case VZ_ERR_TORN:
      return "frame overwritten during the copy";
    case VZ_ERR_BAD_FRAME:
      return "impossible frame metadata";
    case VZ_ERR_NO_FRAME:
      return "no frame published yet";
    case VZ_ERR_SYSTEM:
      return "system call failed";
    case VZ_ERR_PERMISSION:
      return "permission denied";
    case VZ_ERR_STATE:
      return "call out of order";
    case VZ_MESSAGE_WAITING:
      return "a message is waiting";
    default:
      return "unknown error";
  }
}

/* ---- pixel formats ---- */

static const struct
{
  const char *name;
  unsigned bpp;
} formats[] = {
  [VZ_FORMAT_UNKNOWN] = {NULL, 0},
  [VZ_FORMAT_RGBA] = {"RGBA", 4},
  [VZ_FORMAT_BGRA] = {"BGRA", 4},
  [VZ_FORMAT_RGBX] = {"RGBx", 4},
  [VZ_FORMAT_BGRX] = {"BGRx", 4},
  [VZ_FORMAT_ARGB] = {"ARGB", 4},
  [VZ_FORMAT_ABGR] = {"ABGR", 4},
  [VZ_FORMAT_XRGB] = {"xRGB", 4},
  [VZ_FORMAT_XBGR] = {"xBGR", 4},
  [VZ_FORMAT_RGB] = {"RGB", 3},
  [VZ_FORMAT_BGR] = {"BGR", 3},
  [VZ_FORMAT_GRAY8] = {"GRAY8", 1},
  [VZ_FORMAT_GRAY16_LE] = {"GRAY16_LE", 2},
};

unsigned
vz_format_bytes_per_pixel (VzFormat format)
{
  if ((unsigned) format > VZ_FORMAT_LAST)
    return 0;
  return formats[format].bpp;
}

const char *
vz_format_name (VzFormat format)
{
  if ((unsigned) format > VZ_FORMAT_LAST)
    return NULL;
  return formats[format].name;
}

VzFormat
vz_format_from_name (const char *name)
{
  if (name == NULL)
    return VZ_FORMAT_UNKNOWN;
  for (unsigned i = 1; i <= VZ_FORMAT_LAST; i++)
    if (strcmp (formats[i].name, name) == 0)
      return (VzFormat) i;
  return VZ_FORMAT_UNKNOWN;
}

uint32_t
vz_default_stride (VzFormat format, uint32_t width)
{
  uint64_t s = (uint64_t) width * vz_format_bytes_per_pixel (format);
  return (uint32_t) ((s + 3) & ~(uint64_t) 3);
}

/* ---- clocks ---- */

uint64_t
vz_monotonic_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint64_t
vz_realtime_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- names ---- */

int
vz_normalize_name (const char *name, char *out, size_t out_size)
{
  size_t len;

  if (name == NULL || name[0] == '\0')
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "segment name is empty");
  if (name[0] == '/')
    name++;
  len = strlen (name);
  if (len == 0 || len > VZ_NAME_MAX)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "segment name must have 1 to %u characters", VZ_NAME_MAX);
  if (strchr (name, '/') != NULL || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "segment name '%s' must not contain '/' or be '.' or '..'", name);
  if (len + 2 > out_size)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "segment name too long");
  out[0] = '/';
  memcpy (out + 1, name, len + 1);
  return VZ_OK;
}

/* ---- layout ---- */

static uint64_t
round_up_page (uint64_t v)
{
  return (v + VZ_PAGE - 1) & ~(uint64_t) (VZ_PAGE - 1);
}

static bool
is_power_of_two (uint32_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

int
vz_layout_for_config (const VzWriterConfig * c, VzLayout * l)
{
  uint64_t frame_bytes;

  if (c->max_width < 1 || c->max_width > VZ_MAX_DIMENSION
      || c->max_height < 1 || c->max_height > VZ_MAX_DIMENSION)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "maximum size %ux%u is outside 1x1..%ux%u", c->max_width,
        c->max_height, VZ_MAX_DIMENSION, VZ_MAX_DIMENSION);
  if (vz_format_bytes_per_pixel (c->format) == 0)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown pixel format %d",
        (int) c->format);
  if (c->slot_count < VZ_MIN_SLOTS || c->slot_count > VZ_MAX_SLOTS)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "slot count %u is outside %u..%u", c->slot_count, VZ_MIN_SLOTS,
        VZ_MAX_SLOTS);
  if (c->event_lanes < 1 || c->event_lanes > VZ_MAX_LANES)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "event lane count %u is outside 1..%u", c->event_lanes, VZ_MAX_LANES);
  if (!is_power_of_two (c->lane_capacity)
      || c->lane_capacity < VZ_MIN_LANE_CAPACITY
      || c->lane_capacity > VZ_MAX_LANE_CAPACITY)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "lane capacity %u is not a power of two in %u..%u",
        c->lane_capacity, VZ_MIN_LANE_CAPACITY, VZ_MAX_LANE_CAPACITY);

  memset (l, 0, sizeof *l);
  l->slot_count = c->slot_count;
  l->max_width = c->max_width;
  l->max_height = c->max_height;
  l->default_format = c->format;
  frame_bytes = (uint64_t) vz_default_stride (c->format, c->max_width)
      * c->max_height;
  l->slot_size = round_up_page (frame_bytes);
  l->lane_count = c->event_lanes;
  l->lane_capacity = c->lane_capacity;
  l->lanes_offset = VZ_EVENTS_HEADER_SIZE;
  l->lane_stride = VZ_LANE_HEADER_SIZE
      + (uint64_t) c->lane_capacity * VZ_EVENT_RECORD_SIZE;
  l->events_offset = VZ_HEADER_SIZE;
  l->events_size = round_up_page (l->lanes_offset
      + (uint64_t) l->lane_count * l->lane_stride);
  l->slots_offset = l->events_offset + l->events_size;
  l->messages_offset = l->slots_offset + l->slot_size * l->slot_count;
  l->message_slots = VZ_LIBRARY_MESSAGE_SLOTS;
  l->messages_size = round_up_page (VZ_MESSAGES_HEADER_SIZE
      + (uint64_t) l->message_slots * VZ_MESSAGE_SLOT_STRIDE);
  l->total_size = l->messages_offset + l->messages_size;
  return VZ_OK;
}

/* a..a+len inside [0, limit) without overflow */
static bool
region_fits (uint64_t a, uint64_t len, uint64_t limit)
{
  uint64_t end;
  if (__builtin_add_overflow (a, len, &end))
    return false;
  return end <= limit;
}

int
vz_layout_from_header (const volatile VzHeader * h, uint64_t object_size,
    const char *name, VzLayout * l)
{
  uint64_t magic, slots_bytes, max_frame;
  uint32_t version, header_size;

  if (object_size < VZ_HEADER_SIZE) {
    if (object_size == 0)
      return vz_fail (VZ_ERR_NOT_READY,
          "segment '%s' is empty (its renderer may still be creating it)",
          name);
    return vz_fail (VZ_ERR_TRUNCATED,
        "segment '%s' is %llu bytes, smaller than the %u-byte header", name,
        (unsigned long long) object_size, VZ_HEADER_SIZE);
  }
  magic = VZ_LOAD_ACQ (&h->magic);
  if (magic == 0)
    return vz_fail (VZ_ERR_NOT_READY,
        "segment '%s' has no header yet (its renderer may still be "
        "creating it)", name);
  if (magic != VZ_MAGIC)
    return vz_fail (VZ_ERR_BAD_MAGIC,
        "segment '%s' is not a vizstream segment (magic 0x%016llx)", name,
        (unsigned long long) magic);
  version = h->version;
  if (version != VZ_PROTOCOL_VERSION)
    return vz_fail (VZ_ERR_BAD_VERSION,
        "segment '%s' uses protocol version %u; this library speaks "
        "version %u", name, version, VZ_PROTOCOL_VERSION);
  header_size = h->header_size;
  if (header_size != VZ_HEADER_SIZE)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares a %u-byte header (expected %u)", name,
        header_size, VZ_HEADER_SIZE);

  memset (l, 0, sizeof *l);
  l->total_size = h->total_size;
  l->slot_count = h->slot_count;
  l->max_width = h->max_width;
  l->max_height = h->max_height;
  l->default_format = h->default_format;
  l->slot_size = h->slot_size;
  l->slots_offset = h->slots_offset;
  l->events_offset = h->events_offset;
  l->events_size = h->events_size;
  l->writer_pid = h->writer_pid;
  l->messages_offset = h->messages_offset;
  l->messages_size = h->messages_size;

  if (l->total_size > object_size)
    return vz_fail (VZ_ERR_TRUNCATED,
        "segment '%s' claims %llu bytes but the object has only %llu", name,
        (unsigned long long) l->total_size,
        (unsigned long long) object_size);
  if (l->slot_count < VZ_MIN_SLOTS || l->slot_count > VZ_MAX_SLOTS)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares %u frame slots (allowed: %u..%u)", name,
        l->slot_count, VZ_MIN_SLOTS, VZ_MAX_SLOTS);
  if (l->max_width < 1 || l->max_width > VZ_MAX_DIMENSION
      || l->max_height < 1 || l->max_height > VZ_MAX_DIMENSION)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares a maximum size of %ux%u (allowed: up to "
        "%ux%u)", name, l->max_width, l->max_height, VZ_MAX_DIMENSION,
        VZ_MAX_DIMENSION);
  if (vz_format_bytes_per_pixel (l->default_format) == 0)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares unknown pixel format %u", name,
        l->default_format);
  max_frame = (uint64_t) VZ_MAX_DIMENSION * VZ_MAX_DIMENSION * 8;
  if (l->slot_size == 0 || l->slot_size % VZ_PAGE != 0
      || l->slot_size > max_frame)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares an impossible slot size %llu", name,
        (unsigned long long) l->slot_size);
  if (l->slots_offset < VZ_HEADER_SIZE || l->slots_offset % VZ_PAGE != 0
      || l->events_offset < VZ_HEADER_SIZE
      || l->events_offset % VZ_PAGE != 0
      || l->events_size < VZ_PAGE || l->events_size % VZ_PAGE != 0)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s' declares misplaced regions (slots at %llu, events "
        "at %llu+%llu)", name, (unsigned long long) l->slots_offset,
        (unsigned long long) l->events_offset,
        (unsigned long long) l->events_size);
  slots_bytes = l->slot_size * l->slot_count;   /* both bounded: no overflow */
  if (!region_fits (l->slots_offset, slots_bytes, l->total_size)
      || !region_fits (l->events_offset, l->events_size, l->total_size))
    return vz_fail (VZ_ERR_TRUNCATED,
        "segment '%s': its regions reach past its %llu bytes", name,
        (unsigned long long) l->total_size);
  if (!(l->events_offset + l->events_size <= l->slots_offset
          || l->slots_offset + slots_bytes <= l->events_offset))
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s': event area and frame slots overlap", name);
  /* The message area is optional (0: none); when present it is held to
   * the same rules as the others. */
  if (l->messages_offset != 0 || l->messages_size != 0) {
    uint64_t m = l->messages_offset, msz = l->messages_size;
    if (m < VZ_HEADER_SIZE || m % VZ_PAGE != 0 || msz < VZ_PAGE
        || msz % VZ_PAGE != 0)
      return vz_fail (VZ_ERR_BAD_HEADER,
          "segment '%s' declares a misplaced message area (%llu+%llu)",
          name, (unsigned long long) m, (unsigned long long) msz);
    if (!region_fits (m, msz, l->total_size))
      return vz_fail (VZ_ERR_TRUNCATED,
          "segment '%s': its message area reaches past its %llu bytes",
          name, (unsigned long long) l->total_size);
    if (!(m + msz <= l->slots_offset || l->slots_offset + slots_bytes <= m)
        || !(m + msz <= l->events_offset
            || l->events_offset + l->events_size <= m))
      return vz_fail (VZ_ERR_BAD_HEADER,
          "segment '%s': the message area overlaps another region", name);
  }
  return VZ_OK;
}

int
vz_layout_messages_from_header (const volatile VzMessagesHeader * m,
    const char *name, VzLayout * l)
{
  uint32_t count = m->slot_count;

  if (m->magic != VZ_MESSAGES_MAGIC)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s': message area has a bad magic 0x%08x", name, m->magic);
  if (count < 1 || count > VZ_MAX_MESSAGE_SLOTS
      || m->max_length != VZ_MESSAGE_MAX_LENGTH
      || m->slot_stride != VZ_MESSAGE_SLOT_STRIDE
      || VZ_MESSAGES_HEADER_SIZE + (uint64_t) count * VZ_MESSAGE_SLOT_STRIDE
      > l->messages_size)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s': impossible message area (%u slots of %u bytes, "
        "stride %u, in %llu bytes)", name, count, m->max_length,
        m->slot_stride, (unsigned long long) l->messages_size);
  l->message_slots = count;
  return VZ_OK;
}

int
vz_layout_events_from_header (const volatile VzEventsHeader * ev,
    const char *name, VzLayout * l)
{
  uint64_t lanes_bytes;

  if (ev->magic != VZ_EVENTS_MAGIC)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s': event area has a bad magic 0x%08x", name, ev->magic);
  l->lane_count = ev->lane_count;
  l->lane_capacity = ev->lane_capacity;
  l->lanes_offset = ev->lanes_offset;
  l->lane_stride = ev->lane_stride;
  if (l->lane_count < 1 || l->lane_count > VZ_MAX_LANES
      || !is_power_of_two (l->lane_capacity)
      || l->lane_capacity < VZ_MIN_LANE_CAPACITY
      || l->lane_capacity > VZ_MAX_LANE_CAPACITY
      || ev->record_size != VZ_EVENT_RECORD_SIZE
      || l->lanes_offset != VZ_EVENTS_HEADER_SIZE
      || l->lane_stride != VZ_LANE_HEADER_SIZE
      + (uint64_t) l->lane_capacity * VZ_EVENT_RECORD_SIZE)
    return vz_fail (VZ_ERR_BAD_HEADER,
        "segment '%s': impossible event area (%u lanes of %u records of "
        "%u bytes, stride %llu)", name, l->lane_count, l->lane_capacity,
        ev->record_size, (unsigned long long) l->lane_stride);
  lanes_bytes = l->lane_stride * l->lane_count;
  if (!region_fits (l->lanes_offset, lanes_bytes, l->events_size))
    return vz_fail (VZ_ERR_TRUNCATED,
        "segment '%s': event lanes reach past the event area", name);
  return VZ_OK;
}

/* ---- locks ---- */

int
vz_lock_byte (int fd, uint64_t offset, bool * acquired)
{
  struct flock fl = {
    .l_type = F_WRLCK,
    .l_whence = SEEK_SET,
    .l_start = (off_t) offset,
    .l_len = 1,
  };

  if (fcntl (fd, F_OFD_SETLK, &fl) == 0) {
    *acquired = true;
    return VZ_OK;
  }
  if (errno == EAGAIN || errno == EACCES) {
    *acquired = false;
    return VZ_OK;
  }
  return vz_fail (VZ_ERR_SYSTEM, "fcntl(F_OFD_SETLK) failed: %s",
      strerror (errno));
}

int
vz_lock_is_held (int fd, uint64_t offset, bool * held)
{
  struct flock fl = {
    .l_type = F_WRLCK,
    .l_whence = SEEK_SET,
    .l_start = (off_t) offset,
    .l_len = 1,
  };

  if (fcntl (fd, F_OFD_GETLK, &fl) != 0)
    return vz_fail (VZ_ERR_SYSTEM, "fcntl(F_OFD_GETLK) failed: %s",
        strerror (errno));
  *held = fl.l_type != F_UNLCK;
  return VZ_OK;
}

/* ---- futex ---- */

int
vz_futex_wait (uint32_t * word, uint32_t expected, int64_t timeout_ns)
{
  struct timespec ts, *tsp = NULL;
  long rc;

  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
  rc = syscall (SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0);
  if (rc == 0 || errno == EAGAIN || errno == EINTR)
    return VZ_OK;
  if (errno == ETIMEDOUT)
    return VZ_ERR_TIMEOUT;
  return vz_fail (VZ_ERR_SYSTEM, "futex wait failed: %s", strerror (errno));
}

void
vz_futex_wake_all (uint32_t * word)
{
  syscall (SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
