/* gst-vizstream: the reader side of the shared segment.
 *
 * A reader never writes into the frame area (it maps it read-only), takes
 * no lock a writer could wait on, and validates everything it reads from
 * shared memory against the limits it copied out of the header once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "vz-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Used by one thread at a time (vizstream.h), except interrupted. */
struct VzReader
{
  char name[VZ_NAME_MAX + 2];
  int fd;
  const uint8_t *base;          /* whole object, read-only */
  uint8_t *events;              /* event area, writable (VZ_READER_EVENTS) */
  const volatile VzHeader *hdr;
  VzHeader *hdr_rw;             /* header page, writable: leases (or NULL) */
  VzLayout layout;
  dev_t dev;
  ino_t ino;
  int interrupted;              /* atomic: vz_reader_interrupt() */
  unsigned flags;
  /* the message area (NULL: the segment has none) and the number of the
   * last message read or skipped */
  const volatile VzMessagesHeader *msgs;
  uint64_t messages_seen;
};

/* How often a message slot found mid-write is looked at again before the
 * message is skipped (a live writer writes one for an instant). */
#define MESSAGE_TIGHT_RETRIES 16

/* While no frame comes, how often a waiting reader checks that the writer
 * is still alive (a lock query, not a look for frames). This also bounds
 * how long vz_reader_interrupt() can take in the worst case. */
#define LIVENESS_SLICE_NS (100 * 1000000ll)

/* A live writer keeps the newest slot odd or moving only for an instant
 * (it never writes into the slot it calls the newest), so torn reads are
 * retried at once only a bounded number of times: looks at the
 * descriptor in one vz_reader_peek(), and torn results in a row before
 * vz_reader_backoff() sleeps. Past that the writer is broken or hostile,
 * and must not cost a reader a whole core. */
#define PEEK_TIGHT_RETRIES 64
#define BACKOFF_TIGHT_RETRIES 4
/* The sleeps then: 1 ms, doubling up to 20 ms. */
#define BACKOFF_FIRST_NS (1 * 1000000ll)
#define BACKOFF_MAX_NS (20 * 1000000ll)

int
vz_reader_open (const char *name, unsigned flags, VzReader ** out)
{
  VzReader *r;
  struct stat st;
  const VzHeader *h;
  bool held;
  int rc;

  vz_clear_error ();
  if (out == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  r = calloc (1, sizeof *r);
  if (r == NULL)
    return vz_fail (VZ_ERR_SYSTEM, "out of memory");
  r->fd = -1;
  if ((rc = vz_normalize_name (name, r->name, sizeof r->name)) != VZ_OK)
    goto fail;

  r->fd = shm_open (r->name, (flags & VZ_READER_EVENTS ? O_RDWR : O_RDONLY)
      | O_CLOEXEC, 0);
  if (r->fd < 0) {
    if (errno == ENOENT)
      rc = vz_fail (VZ_ERR_NOT_FOUND, "no segment named '%s'", r->name + 1);
    else if (errno == EACCES)
      rc = vz_fail (VZ_ERR_PERMISSION, "segment '%s' belongs to another "
          "user (mode 0600)", r->name + 1);
    else
      rc = vz_fail (VZ_ERR_SYSTEM, "cannot open segment '%s': %s",
          r->name + 1, strerror (errno));
    goto fail;
  }
  if (fstat (r->fd, &st) != 0) {
    rc = vz_fail (VZ_ERR_SYSTEM, "fstat failed: %s", strerror (errno));
    goto fail;
  }
  r->dev = st.st_dev;
  r->ino = st.st_ino;

  /* Validate the header from a mapping of the header alone. */
  if ((uint64_t) st.st_size >= VZ_HEADER_SIZE) {
    h = mmap (NULL, VZ_HEADER_SIZE, PROT_READ, MAP_SHARED, r->fd, 0);
    if (h == MAP_FAILED) {
      rc = vz_fail (VZ_ERR_SYSTEM, "mmap failed: %s", strerror (errno));
      goto fail;
    }
    rc = vz_layout_from_header (h, (uint64_t) st.st_size, r->name + 1,
        &r->layout);
    munmap ((void *) h, VZ_HEADER_SIZE);
  } else {
    rc = vz_layout_from_header (NULL, (uint64_t) st.st_size, r->name + 1,
        &r->layout);
  }
  if (rc != VZ_OK)
    goto fail;

  r->base = mmap (NULL, r->layout.total_size, PROT_READ, MAP_SHARED, r->fd,
      0);
  if (r->base == MAP_FAILED) {
    r->base = NULL;
    rc = vz_fail (VZ_ERR_SYSTEM, "cannot map segment '%s': %s", r->name + 1,
        strerror (errno));
    goto fail;
  }
  r->hdr = (const volatile VzHeader *) r->base;
  rc = vz_layout_events_from_header ((const volatile VzEventsHeader *)
      (r->base + r->layout.events_offset), r->name + 1, &r->layout);
  if (rc != VZ_OK)
    goto fail;
  r->flags = flags;
  if (r->layout.messages_offset != 0) {
    r->msgs = (const volatile VzMessagesHeader *) (r->base
        + r->layout.messages_offset);
    rc = vz_layout_messages_from_header (r->msgs, r->name + 1, &r->layout);
    if (rc != VZ_OK)
      goto fail;
    /* Start at the newest message: the renderer's current state. */
    r->messages_seen = VZ_LOAD_ACQ (&r->msgs->sent);
    if (r->messages_seen > 0)
      r->messages_seen--;
  }
  if (flags & VZ_READER_EVENTS) {
    /* The header page writable for slot leases; the pixels stay
     * read-only whatever happens. */
    r->hdr_rw = mmap (NULL, VZ_HEADER_SIZE, PROT_READ | PROT_WRITE,
        MAP_SHARED, r->fd, 0);
    if (r->hdr_rw == MAP_FAILED) {
      r->hdr_rw = NULL;
      rc = vz_fail (VZ_ERR_SYSTEM, "cannot map the header of '%s': %s",
          r->name + 1, strerror (errno));
      goto fail;
    }
    r->events = mmap (NULL, r->layout.events_size, PROT_READ | PROT_WRITE,
        MAP_SHARED, r->fd, (off_t) r->layout.events_offset);
    if (r->events == MAP_FAILED) {
      r->events = NULL;
      rc = vz_fail (VZ_ERR_SYSTEM, "cannot map the event area of '%s': %s",
          r->name + 1, strerror (errno));
      goto fail;
    }
  }

  if (VZ_LOAD_ACQ (&r->hdr->state) == VZ_STATE_CLOSED) {
    rc = vz_fail (VZ_ERR_CLOSED, "the renderer of '%s' has closed it",
        r->name + 1);
    goto fail;
  }
  if ((rc = vz_lock_is_held (r->fd, 0, &held)) != VZ_OK)
    goto fail;
  if (!held) {
    rc = vz_fail (VZ_ERR_GONE, "the renderer of '%s' (pid %u) is gone",
        r->name + 1, r->layout.writer_pid);
    goto fail;
  }
  *out = r;
  return VZ_OK;

fail:
  vz_reader_close (r);
  return rc;
}

void
vz_reader_close (VzReader * r)
{
  if (r == NULL)
    return;
  if (r->events)
    munmap (r->events, r->layout.events_size);
  if (r->hdr_rw)
    munmap (r->hdr_rw, VZ_HEADER_SIZE);
  if (r->base)
    munmap ((void *) r->base, r->layout.total_size);
  if (r->fd >= 0)
    close (r->fd);
  free (r);
}

void
vz_reader_get_info (const VzReader * r, VzSegmentInfo * info)
{
  memset (info, 0, sizeof *info);
  info->max_width = r->layout.max_width;
  info->max_height = r->layout.max_height;
  info->default_format = (VzFormat) r->layout.default_format;
  info->slot_count = r->layout.slot_count;
  info->slot_size = r->layout.slot_size;
  info->total_size = r->layout.total_size;
  info->writer_pid = r->layout.writer_pid;
  info->event_lanes = r->layout.lane_count;
  info->lane_capacity = r->layout.lane_capacity;
}

int
vz_reader_check_writer (VzReader * r)
{
  struct stat st;
  bool held;
  int fd, rc;

  if (VZ_LOAD_ACQ (&r->hdr->state) == VZ_STATE_CLOSED)
    return vz_fail (VZ_ERR_CLOSED, "the renderer of '%s' has closed it",
        r->name + 1);
  if ((rc = vz_lock_is_held (r->fd, 0, &held)) != VZ_OK)
    return rc;
  if (!held)
    return vz_fail (VZ_ERR_GONE, "the renderer of '%s' (pid %u) is gone",
        r->name + 1, r->layout.writer_pid);
  /* A live writer whose name was unlinked still feeds us; a name that now
   * denotes another object means a new renderer took it over. */
  fd = shm_open (r->name, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0) {
    bool replaced = fstat (fd, &st) == 0
        && (st.st_ino != r->ino || st.st_dev != r->dev);
    close (fd);
    if (replaced)
      return vz_fail (VZ_ERR_GONE, "segment '%s' was replaced by a new "
          "renderer", r->name + 1);
  }
  return VZ_OK;
}

void
vz_reader_interrupt (VzReader * r)
{
  __atomic_store_n (&r->interrupted, 1, __ATOMIC_SEQ_CST);
  /* Wakes every sleeper on the word, ours among them; the others find no
   * new frame and sleep again. */
  vz_futex_wake_all ((uint32_t *) & r->hdr->publish_count);
}

void
vz_reader_clear_interrupt (VzReader * r)
{
  __atomic_store_n (&r->interrupted, 0, __ATOMIC_SEQ_CST);
}

int
vz_reader_wait (VzReader * r, uint64_t after_frame, int64_t timeout_ns)
{
  uint32_t *word = (uint32_t *) & r->hdr->publish_count;
  uint64_t start = vz_monotonic_ns ();
  int rc;

  vz_clear_error ();
  for (;;) {
    uint32_t count;
    int64_t slice = LIVENESS_SLICE_NS;

    if (__atomic_load_n (&r->interrupted, __ATOMIC_SEQ_CST))
      return vz_fail (VZ_ERR_INTERRUPTED, "interrupted");
    count = __atomic_load_n (word, __ATOMIC_SEQ_CST);
    if (VZ_LOAD_ACQ (&r->hdr->frames_published) > after_frame)
      return VZ_OK;
    if ((r->flags & VZ_READER_MESSAGES) && r->msgs
        && VZ_LOAD_ACQ (&r->msgs->sent) != r->messages_seen)
      return VZ_MESSAGE_WAITING;
    if (VZ_LOAD_ACQ (&r->hdr->state) == VZ_STATE_CLOSED)
      return vz_fail (VZ_ERR_CLOSED, "the renderer of '%s' has closed it",
          r->name + 1);
    if (timeout_ns >= 0) {
      int64_t left = timeout_ns - (int64_t) (vz_monotonic_ns () - start);
      if (left <= 0)
        return vz_fail (VZ_ERR_TIMEOUT, "no new frame in %lld ms",
            (long long) (timeout_ns / 1000000));
      if (left < slice)
        slice = left;
    }
    /* count was read before frames_published: a publish after that read
     * changes count, and the kernel compares count with going to sleep
     * atomically, so no wake-up is lost. */
    rc = vz_futex_wait (word, count, slice);
    if (rc == VZ_ERR_TIMEOUT) {
      if ((rc = vz_reader_check_writer (r)) != VZ_OK)
        return rc;
    } else if (rc != VZ_OK) {
      return rc;
    }
  }
}

/* ---- messages: renderer -> viewers ---- */

int
vz_reader_read_message (VzReader * r, char *buf, size_t size, size_t *len,
    uint64_t * skipped)
{
  uint64_t sent, lost = 0;
  char why[160];
  size_t at;

  vz_clear_error ();
  if (r == NULL || buf == NULL || len == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (size < VZ_MESSAGE_MAX_LENGTH + 1)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "a message buffer needs %u bytes, not %zu", VZ_MESSAGE_MAX_LENGTH + 1,
        size);
  *len = 0;
  buf[0] = '\0';
  if (r->msgs == NULL)
    goto out;
  sent = VZ_LOAD_ACQ (&r->msgs->sent);
  if (sent < r->messages_seen)  /* a writer going back: nonsense */
    r->messages_seen = sent;
  while (r->messages_seen < sent) {
    uint32_t count = r->layout.message_slots;
    uint64_t k = r->messages_seen + 1;
    const volatile VzMessageSlot *m;
    uint64_t s1 = 1, s2 = 0, number = 0;
    uint32_t length = 0;
    bool ok = false;

    if (sent - r->messages_seen > count) {
      /* overwritten before we came: the ring keeps the newest */
      lost += sent - count - r->messages_seen;
      r->messages_seen = sent - count;
      continue;
    }
    r->messages_seen = k;
    m = (const volatile VzMessageSlot *) ((const uint8_t *) r->msgs
        + VZ_MESSAGES_HEADER_SIZE
        + ((k - 1) % count) * (uint64_t) VZ_MESSAGE_SLOT_STRIDE);
    for (int tries = 0; tries < MESSAGE_TIGHT_RETRIES && !ok; tries++) {
      s1 = VZ_LOAD_ACQ (&m->seq);
      if (s1 & 1)
        continue;
      number = m->number;
      length = m->length;
      if (length > VZ_MESSAGE_MAX_LENGTH)
        length = VZ_MESSAGE_MAX_LENGTH + 1;     /* refused below */
      else
        memcpy (buf, (const uint8_t *) m + VZ_MESSAGE_SLOT_HEADER_SIZE,
            length);
      __atomic_thread_fence (__ATOMIC_ACQUIRE);
      s2 = VZ_LOAD_RLX (&m->seq);
      ok = s1 == s2;
    }
    if (!ok || number != k || length < 1 || length > VZ_MESSAGE_MAX_LENGTH
        || !vz_json_check_object (buf, length, why, sizeof why, &at)) {
      lost++;                   /* torn, overwritten or invalid */
      continue;
    }
    buf[length] = '\0';
    *len = length;
    break;
  }
out:
  if (skipped)
    *skipped = lost;
  if (*len == 0)
    buf[0] = '\0';
  return VZ_OK;
}

static int
validate_frame (VzReader * r, const VzFrame * f)
{
  unsigned bpp = vz_format_bytes_per_pixel (f->format);

  if (f->slot >= r->layout.slot_count)
    return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': slot %u out of range "
        "(%u slots)", r->name + 1, f->slot, r->layout.slot_count);
  if (bpp == 0)
    return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': frame %llu has unknown "
        "pixel format %u", r->name + 1,
        (unsigned long long) f->frame_number, (unsigned) f->format);
  if (f->width < 1 || f->height < 1 || f->width > r->layout.max_width
      || f->height > r->layout.max_height)
    return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': frame %llu is %ux%u, "
        "outside 1x1..%ux%u", r->name + 1,
        (unsigned long long) f->frame_number, f->width, f->height,
        r->layout.max_width, r->layout.max_height);
  if ((uint64_t) f->stride < (uint64_t) f->width * bpp
      || (uint64_t) f->stride * f->height > r->layout.slot_size)
    return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': frame %llu has stride "
        "%u for %u %s pixels x %u rows in a %llu-byte slot", r->name + 1,
        (unsigned long long) f->frame_number, f->stride, f->width,
        vz_format_name (f->format), f->height,
        (unsigned long long) r->layout.slot_size);
  if (f->flags & ~VZ_FRAME_BOTTOM_UP)
    return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': frame %llu has unknown "
        "flags 0x%x", r->name + 1, (unsigned long long) f->frame_number,
        f->flags);
  return VZ_OK;
}

int
vz_reader_peek (VzReader * r, VzFrame * f)
{
  vz_clear_error ();
  /* Retry while the writer moves under us, a bounded number of times: a
   * slot that stays odd is the caller's to wait out (vz_reader_backoff). */
  for (int attempt = 0; attempt < PEEK_TIGHT_RETRIES; attempt++) {
    uint32_t slot = VZ_LOAD_ACQ (&r->hdr->latest_slot);
    const volatile VzSlotDesc *d;
    uint64_t s1, s2;

    if (slot == VZ_NO_SLOT)
      return vz_fail (VZ_ERR_NO_FRAME, "no frame published yet");
    if (slot >= r->layout.slot_count)
      return vz_fail (VZ_ERR_BAD_FRAME, "segment '%s': latest slot %u out "
          "of range (%u slots)", r->name + 1, slot, r->layout.slot_count);
    d = &r->hdr->slots[slot];
    s1 = VZ_LOAD_ACQ (&d->seq);
    if (s1 & 1)
      continue;
    memset (f, 0, sizeof *f);
    f->slot = slot;
    f->width = d->width;
    f->height = d->height;
    f->stride = d->stride;
    f->format = (VzFormat) d->format;
    f->flags = d->flags;
    f->frame_number = d->frame_number;
    f->timestamp_ns = d->timestamp_ns;
    f->publish_ns = d->publish_ns;
    f->publish_unix_ns = d->publish_unix_ns;
    __atomic_thread_fence (__ATOMIC_ACQUIRE);
    s2 = VZ_LOAD_RLX (&d->seq);
    if (s1 != s2)
      continue;
    f->seq = s1;
    return validate_frame (r, f);
  }
  return vz_fail (VZ_ERR_TORN, "segment '%s': the writer keeps rewriting "
      "the latest slot", r->name + 1);
}

int
vz_reader_backoff (VzReader * r, unsigned torn_in_a_row)
{
  uint32_t *word = (uint32_t *) & r->hdr->publish_count;
  unsigned doublings;
  int64_t pause = BACKOFF_MAX_NS;
  uint32_t count;
  int rc;

  vz_clear_error ();
  if (torn_in_a_row <= BACKOFF_TIGHT_RETRIES)
    return 0;
  doublings = torn_in_a_row - BACKOFF_TIGHT_RETRIES - 1;
  if (doublings < 8 && (BACKOFF_FIRST_NS << doublings) < BACKOFF_MAX_NS)
    pause = BACKOFF_FIRST_NS << doublings;
  /* As in vz_reader_wait: count first, so that a publish from now on
   * ends the sleep at once. */
  count = __atomic_load_n (word, __ATOMIC_SEQ_CST);
  if (__atomic_load_n (&r->interrupted, __ATOMIC_SEQ_CST))
    return vz_fail (VZ_ERR_INTERRUPTED, "interrupted");
  rc = vz_futex_wait (word, count, pause);
  if (rc == VZ_ERR_TIMEOUT)
    rc = vz_reader_check_writer (r);
  if (rc != VZ_OK)
    return rc;
  if (__atomic_load_n (&r->interrupted, __ATOMIC_SEQ_CST))
    return vz_fail (VZ_ERR_INTERRUPTED, "interrupted");
  return 1;
}

/* Give the lease back unless another reader extended it meanwhile. */
static void
release_lease (VzReader * r, uint32_t slot, uint64_t mine)
{
  uint64_t expected = mine;
  __atomic_compare_exchange_n (&r->hdr_rw->slot_lease_ns[slot], &expected,
      0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

int
vz_reader_read (VzReader * r, const VzFrame * frame, unsigned read_flags,
    VzReadFunc fn, void *user)
{
  const volatile VzSlotDesc *d;
  const uint8_t *pixels;
  ptrdiff_t stride;
  VzFrame f;
  bool torn;
  uint64_t lease_value = 0;
  int rc;

  vz_clear_error ();
  if (r == NULL || frame == NULL || fn == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  /* The function sees our validated copy: nothing it is told can reach
   * outside the slot, whatever the caller's frame holds afterwards. */
  f = *frame;
  f.data = NULL;
  if ((rc = validate_frame (r, &f)) != VZ_OK)
    return rc;
  pixels = r->base + r->layout.slots_offset
      + (uint64_t) f.slot * r->layout.slot_size;
  stride = (ptrdiff_t) f.stride;
  if ((read_flags & VZ_COPY_TOP_DOWN) && (f.flags & VZ_FRAME_BOTTOM_UP)) {
    /* Rows backwards: the picture's top row is the slot's last. */
    pixels += (size_t) f.stride * (f.height - 1);
    stride = -stride;
  }
  d = &r->hdr->slots[f.slot];

  /* Lease the slot so that the writer, if it has another free slot, goes
   * there instead; then make sure the slot did not change before the
   * lease was visible (without a lease: since the peek, so that no work
   * goes into a frame already replaced). */
  if (r->hdr_rw) {
    uint64_t *lease = &r->hdr_rw->slot_lease_ns[f.slot];
    uint64_t old = __atomic_load_n (lease, __ATOMIC_RELAXED);
    lease_value = vz_monotonic_ns () + VZ_LEASE_NS;
    while (old < lease_value && !__atomic_compare_exchange_n (lease, &old,
            lease_value, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  }
  if (__atomic_load_n (&d->seq, __ATOMIC_SEQ_CST) != f.seq) {
    if (r->hdr_rw)
      release_lease (r, f.slot, lease_value);
    return vz_fail (VZ_ERR_TORN, "frame %llu was replaced before the read",
        (unsigned long long) f.frame_number);
  }

  rc = fn (pixels, stride, &f, user);

  /* Seqlock read side: the function's reads must not be reordered after
   * this load (the call is opaque to the compiler; the fence orders it for
   * the CPU). */
  __atomic_thread_fence (__ATOMIC_ACQUIRE);
  torn = VZ_LOAD_RLX (&d->seq) != f.seq;
  if (r->hdr_rw)
    release_lease (r, f.slot, lease_value);
  /* Torn first: a function that judged the pixels judged a mix of two
   * frames. */
  if (torn)
    return vz_fail (VZ_ERR_TORN, "frame %llu was overwritten during the "
        "read", (unsigned long long) f.frame_number);
  return rc;
}

typedef struct
{
  uint8_t *dst;
  size_t dst_stride;
} CopyTarget;

static int
copy_rows (const void *pixels, ptrdiff_t stride, const VzFrame * f,
    void *user)
{
  const CopyTarget *t = user;
  const uint8_t *src = pixels;
  size_t row = (size_t) f->width * vz_format_bytes_per_pixel (f->format);

  if (stride > 0 && (size_t) stride == t->dst_stride) {
    memcpy (t->dst, src, (size_t) stride * (f->height - 1) + row);
    return VZ_OK;
  }
  /* A flip (negative stride) is the copy's row order, not a second
   * pass. */
  for (uint32_t y = 0; y < f->height; y++)
    memcpy (t->dst + y * t->dst_stride, src + (ptrdiff_t) y * stride, row);
  return VZ_OK;
}

int
vz_reader_copy (VzReader * r, const VzFrame * f, void *dst,
    size_t dst_stride, unsigned copy_flags)
{
  CopyTarget t = { dst, dst_stride };
  size_t row;
  int rc;

  vz_clear_error ();
  if (r == NULL || f == NULL || dst == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if ((rc = validate_frame (r, f)) != VZ_OK)
    return rc;
  row = (size_t) f->width * vz_format_bytes_per_pixel (f->format);
  if (dst_stride < row)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "destination stride %zu is less than a %zu-byte row", dst_stride,
        row);
  return vz_reader_read (r, f, copy_flags, copy_rows, &t);
}

/* For the event queue (vz-events.c). */
uint8_t *vzi_reader_events_base (VzReader * r, const VzLayout ** layout,
    int *fd);

uint8_t *
vzi_reader_events_base (VzReader * r, const VzLayout ** layout, int *fd)
{
  *layout = &r->layout;
  *fd = r->fd;
  return r->events;
}
