/* gst-vizstream: the writer side of the shared segment (the renderer).
 *
 * The writer never waits for a reader: it round-robins over the slots,
 * marks the slot it hands out odd (being written) and even again when it
 * publishes (a per-slot seqlock, docs/protocol.md "Frame slots").
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
#include <time.h>
#include <unistd.h>

struct VzWriter
{
  char name[VZ_NAME_MAX + 2];
  int fd;
  uint8_t *base;
  VzHeader *hdr;
  VzLayout layout;
  dev_t dev;
  ino_t ino;

  /* frames acquired from now on */
  uint32_t width, height, stride;
  VzFormat format;

  VzConsumerState consumer;
  int acquired_slot;            /* -1 when none */
  /* Private copies of what the writer alone changes, so that nothing
   * written into the shared header by another process can mislead it. */
  uint32_t latest_slot;
  uint64_t slot_seq[VZ_MAX_SLOTS];
  uint64_t frames;
  /* the message ring, kept privately like the slots' sequences */
  VzMessagesHeader *msgs;
  uint64_t messages;
  uint64_t message_seq[VZ_MAX_MESSAGE_SLOTS];
};

/* How long a creator waits for an unlocked, unfinished object to be
 * claimed by the process that just created it before calling it stale. */
#define STALE_CREATION_GRACE_NS (50 * 1000000ull)

static void
sleep_ns (uint64_t ns)
{
  struct timespec ts = {.tv_sec = ns / 1000000000u,.tv_nsec = ns % 1000000000u
  };
  nanosleep (&ts, NULL);
}

/* The name exists: decide whether it is a dead renderer's leftover (then
 * unlink it and return VZ_OK so the caller retries) or not. */
static int
reclaim_leftover (const char *name)
{
  struct stat st;
  bool held;
  int fd, rc;
  uint64_t waited = 0;

  fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT)
      return VZ_OK;             /* vanished meanwhile: retry */
    if (errno == EACCES)
      return vz_fail (VZ_ERR_PERMISSION,
          "segment '%s' exists and belongs to another user", name + 1);
    return vz_fail (VZ_ERR_SYSTEM, "cannot open existing '%s': %s",
        name + 1, strerror (errno));
  }

  for (;;) {
    if ((rc = vz_lock_is_held (fd, 0, &held)) != VZ_OK)
      goto out;
    if (fstat (fd, &st) != 0) {
      rc = vz_fail (VZ_ERR_SYSTEM, "fstat failed: %s", strerror (errno));
      goto out;
    }
    if (held) {
      uint32_t pid = 0;
      if ((uint64_t) st.st_size >= VZ_HEADER_SIZE) {
        VzHeader *h = mmap (NULL, VZ_HEADER_SIZE, PROT_READ, MAP_SHARED, fd,
            0);
        if (h != MAP_FAILED) {
          if (VZ_LOAD_ACQ (&h->magic) == VZ_MAGIC)
            pid = h->writer_pid;
          munmap (h, VZ_HEADER_SIZE);
        }
      }
      if (pid)
        rc = vz_fail (VZ_ERR_BUSY,
            "segment '%s' is in use by a live renderer (pid %u)", name + 1,
            pid);
      else
        rc = vz_fail (VZ_ERR_BUSY,
            "segment '%s' is in use by a live renderer", name + 1);
      goto out;
    }
    if ((uint64_t) st.st_size >= VZ_HEADER_SIZE) {
      VzHeader *h = mmap (NULL, VZ_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      uint64_t magic;
      if (h == MAP_FAILED) {
        rc = vz_fail (VZ_ERR_SYSTEM, "mmap failed: %s", strerror (errno));
        goto out;
      }
      magic = VZ_LOAD_ACQ (&h->magic);
      munmap (h, VZ_HEADER_SIZE);
      if (magic == VZ_MAGIC)
        break;                  /* a dead renderer's segment */
      if (magic != 0) {
        rc = vz_fail (VZ_ERR_EXISTS,
            "'%s' is a shared-memory object that is not a vizstream "
            "segment; refusing to replace it", name + 1);
        goto out;
      }
    } else if (st.st_size != 0) {
      rc = vz_fail (VZ_ERR_EXISTS,
          "'%s' is a %lld-byte shared-memory object that is not a vizstream "
          "segment; refusing to replace it", name + 1,
          (long long) st.st_size);
      goto out;
    }
    /* Empty or headerless and unlocked: a creator takes the lock right
     * after creating the object, so give one a moment before deciding the
     * object was left by a renderer that died while creating it. */
    if (waited >= STALE_CREATION_GRACE_NS)
      break;
    sleep_ns (5 * 1000000ull);
    waited += 5 * 1000000ull;
  }

  /* Unlink only if the name still denotes the object we examined. */
  {
    struct stat now;
    int fd2 = shm_open (name, O_RDONLY | O_CLOEXEC, 0);
    if (fd2 >= 0) {
      if (fstat (fd2, &now) == 0 && now.st_ino == st.st_ino
          && now.st_dev == st.st_dev)
        shm_unlink (name);
      close (fd2);
    }
  }
  rc = VZ_OK;
out:
  close (fd);
  return rc;
}

int
vz_writer_create (const char *name, const VzWriterConfig * config,
    VzWriter ** out)
{
  VzWriterConfig c;
  VzWriter *w;
  VzEventsHeader *ev;
  struct stat st;
  bool locked;
  int rc, attempt;

  vz_clear_error ();
  if (out == NULL || config == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  c = *config;
  if (c.slot_count == 0)
    c.slot_count = VZ_DEFAULT_SLOTS;
  if (c.event_lanes == 0)
    c.event_lanes = VZ_DEFAULT_EVENT_LANES;
  if (c.lane_capacity == 0)
    c.lane_capacity = VZ_DEFAULT_LANE_CAPACITY;

  w = calloc (1, sizeof *w);
  if (w == NULL)
    return vz_fail (VZ_ERR_SYSTEM, "out of memory");
  w->fd = -1;
  w->acquired_slot = -1;
  w->latest_slot = VZ_NO_SLOT;
  if ((rc = vz_normalize_name (name, w->name, sizeof w->name)) != VZ_OK)
    goto fail;
  if ((rc = vz_layout_for_config (&c, &w->layout)) != VZ_OK)
    goto fail;

  for (attempt = 0; attempt < 8; attempt++) {
    w->fd = shm_open (w->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd >= 0)
      break;
    if (errno != EEXIST) {
      rc = vz_fail (errno == EACCES ? VZ_ERR_PERMISSION : VZ_ERR_SYSTEM,
          "cannot create segment '%s': %s", w->name + 1, strerror (errno));
      goto fail;
    }
    if ((rc = reclaim_leftover (w->name)) != VZ_OK)
      goto fail;
  }
  if (w->fd < 0) {
    rc = vz_fail (VZ_ERR_BUSY, "segment '%s' keeps being recreated by "
        "another process", w->name + 1);
    goto fail;
  }
  /* Our liveness token: released by the kernel when we die. */
  if ((rc = vz_lock_byte (w->fd, 0, &locked)) != VZ_OK)
    goto fail_unlink;
  if (!locked) {
    rc = vz_fail (VZ_ERR_BUSY, "segment '%s' was claimed by another "
        "process while being created", w->name + 1);
    goto fail_unlink;
  }
  /* shm_open applied the umask; make the mode exactly owner-only. */
  if (fchmod (w->fd, 0600) != 0 || fstat (w->fd, &st) != 0
      || ftruncate (w->fd, (off_t) w->layout.total_size) != 0) {
    rc = vz_fail (VZ_ERR_SYSTEM, "cannot size segment '%s' to %llu bytes: "
        "%s", w->name + 1, (unsigned long long) w->layout.total_size,
        strerror (errno));
    goto fail_unlink;
  }
  w->dev = st.st_dev;
  w->ino = st.st_ino;
  w->base = mmap (NULL, w->layout.total_size, PROT_READ | PROT_WRITE,
      MAP_SHARED, w->fd, 0);
  if (w->base == MAP_FAILED) {
    w->base = NULL;
    rc = vz_fail (VZ_ERR_SYSTEM, "cannot map segment '%s' (%llu bytes): %s",
        w->name + 1, (unsigned long long) w->layout.total_size,
        strerror (errno));
    goto fail_unlink;
  }
  w->hdr = (VzHeader *) w->base;

  /* Every field before the magic; the magic last, with release. */
  w->hdr->version = VZ_PROTOCOL_VERSION;
  w->hdr->header_size = VZ_HEADER_SIZE;
  w->hdr->total_size = w->layout.total_size;
  w->hdr->state = VZ_STATE_LIVE;
  w->hdr->writer_pid = (uint32_t) getpid ();
  w->hdr->slot_count = w->layout.slot_count;
  w->hdr->max_width = w->layout.max_width;
  w->hdr->max_height = w->layout.max_height;
  w->hdr->default_format = w->layout.default_format;
  w->hdr->slot_size = w->layout.slot_size;
  w->hdr->slots_offset = w->layout.slots_offset;
  w->hdr->events_offset = w->layout.events_offset;
  w->hdr->events_size = w->layout.events_size;
  w->hdr->created_unix_ns = vz_realtime_ns ();
  w->hdr->latest_slot = VZ_NO_SLOT;

  ev = (VzEventsHeader *) (w->base + w->layout.events_offset);
  ev->lane_count = w->layout.lane_count;
  ev->lane_capacity = w->layout.lane_capacity;
  ev->record_size = VZ_EVENT_RECORD_SIZE;
  ev->lanes_offset = w->layout.lanes_offset;
  ev->lane_stride = w->layout.lane_stride;
  ev->magic = VZ_EVENTS_MAGIC;

  w->msgs = (VzMessagesHeader *) (w->base + w->layout.messages_offset);
  w->msgs->slot_count = w->layout.message_slots;
  w->msgs->max_length = VZ_MESSAGE_MAX_LENGTH;
  w->msgs->slot_stride = VZ_MESSAGE_SLOT_STRIDE;
  w->msgs->magic = VZ_MESSAGES_MAGIC;
  w->hdr->messages_offset = w->layout.messages_offset;
  w->hdr->messages_size = w->layout.messages_size;

  VZ_STORE_REL (&w->hdr->magic, VZ_MAGIC);

  w->format = c.format;
  w->width = c.max_width;
  w->height = c.max_height;
  w->stride = vz_default_stride (c.format, c.max_width);
  *out = w;
  return VZ_OK;

fail_unlink:
  shm_unlink (w->name);
fail:
  if (w->fd >= 0)
    close (w->fd);
  free (w);
  return rc;
}

int
vz_writer_set_frame_format (VzWriter * w, uint32_t width, uint32_t height,
    VzFormat format, uint32_t stride)
{
  unsigned bpp = vz_format_bytes_per_pixel (format);

  vz_clear_error ();
  if (w == NULL || bpp == 0)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown pixel format %d",
        (int) format);
  if (width < 1 || height < 1 || width > w->layout.max_width
      || height > w->layout.max_height)
    return vz_fail (VZ_ERR_TOO_LARGE,
        "frame size %ux%u is outside 1x1..%ux%u (the segment's maximum)",
        width, height, w->layout.max_width, w->layout.max_height);
  if (stride == 0)
    stride = vz_default_stride (format, width);
  if ((uint64_t) stride < (uint64_t) width * bpp)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "stride %u is less than a row of %u %s pixels", stride, width,
        vz_format_name (format));
  if ((uint64_t) stride * height > w->layout.slot_size)
    return vz_fail (VZ_ERR_TOO_LARGE,
        "a %ux%u %s frame with stride %u needs %llu bytes; slots hold %llu",
        width, height, vz_format_name (format), stride,
        (unsigned long long) stride * height,
        (unsigned long long) w->layout.slot_size);
  w->width = width;
  w->height = height;
  w->format = format;
  w->stride = stride;
  return VZ_OK;
}

int
vz_writer_acquire (VzWriter * w, VzFrame * f)
{
  uint32_t latest, slot;
  VzSlotDesc *d;
  uint64_t seq;

  vz_clear_error ();
  if (w == NULL || f == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (w->acquired_slot >= 0)
    return vz_fail (VZ_ERR_STATE,
        "a slot is already acquired: publish or cancel it first");

  /* The next slot after the newest that no reader holds a lease on; if
   * every other slot is leased, the next one anyway (its readers will
   * notice and retry): the writer never waits. Never the newest slot, the
   * one readers are told to read. */
  latest = w->latest_slot;
  slot = latest == VZ_NO_SLOT ? 0 : (latest + 1) % w->layout.slot_count;
  if (latest != VZ_NO_SLOT) {
    uint64_t now = vz_monotonic_ns ();
    for (uint32_t i = 1; i < w->layout.slot_count; i++) {
      uint32_t cand = (latest + i) % w->layout.slot_count;
      if (VZ_LOAD_ACQ (&w->hdr->slot_lease_ns[cand]) <= now) {
        slot = cand;
        break;
      }
    }
  }
  d = &w->hdr->slots[slot];
  seq = w->slot_seq[slot] += 1;
  VZ_STORE_RLX (&d->seq, seq);  /* odd: being written */
  /* Orders the odd sequence before every write into the slot. */
  __atomic_thread_fence (__ATOMIC_RELEASE);

  memset (f, 0, sizeof *f);
  f->slot = slot;
  f->width = w->width;
  f->height = w->height;
  f->stride = w->stride;
  f->format = w->format;
  f->seq = seq;
  f->data = w->base + w->layout.slots_offset
      + (uint64_t) slot * w->layout.slot_size;
  w->acquired_slot = (int) slot;
  return VZ_OK;
}

static int
check_acquired (VzWriter * w, const VzFrame * f)
{
  if (w == NULL || f == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (w->acquired_slot < 0 || (uint32_t) w->acquired_slot != f->slot)
    return vz_fail (VZ_ERR_STATE, "frame was not acquired from this writer");
  return VZ_OK;
}

int
vz_writer_publish (VzWriter * w, VzFrame * f, uint64_t timestamp_ns,
    uint32_t flags)
{
  VzSlotDesc *d;
  uint64_t now;
  int rc;

  vz_clear_error ();
  if ((rc = check_acquired (w, f)) != VZ_OK)
    return rc;
  if (flags & ~VZ_FRAME_BOTTOM_UP)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown frame flags 0x%x",
        flags);
  d = &w->hdr->slots[f->slot];
  now = vz_monotonic_ns ();
  f->frame_number = ++w->frames;
  f->publish_ns = now;
  f->publish_unix_ns = vz_realtime_ns ();
  f->timestamp_ns = timestamp_ns ? timestamp_ns : now;
  f->flags = flags;

  d->frame_number = f->frame_number;
  d->publish_ns = f->publish_ns;
  d->publish_unix_ns = f->publish_unix_ns;
  d->timestamp_ns = f->timestamp_ns;
  d->width = f->width;
  d->height = f->height;
  d->stride = f->stride;
  d->format = f->format;
  d->flags = flags;
  f->seq = w->slot_seq[f->slot] += 1;
  VZ_STORE_REL (&d->seq, f->seq);       /* even: stable */

  VZ_STORE_REL (&w->hdr->latest_slot, f->slot);
  w->latest_slot = f->slot;
  VZ_STORE_REL (&w->hdr->frames_published, f->frame_number);
  w->acquired_slot = -1;

  /* Readers map this page read-only, so they cannot say whether they
   * sleep: always wake (one syscall, about a microsecond). */
  __atomic_add_fetch (&w->hdr->publish_count, 1, __ATOMIC_SEQ_CST);
  vz_futex_wake_all (&w->hdr->publish_count);
  return VZ_OK;
}

int
vz_writer_cancel (VzWriter * w, VzFrame * f)
{
  int rc;

  vz_clear_error ();
  if ((rc = check_acquired (w, f)) != VZ_OK)
    return rc;
  /* Even again, but a new value: a reader that looked before acquire
   * sees the change and drops what it copied. */
  VZ_STORE_REL (&w->hdr->slots[f->slot].seq, w->slot_seq[f->slot] += 1);
  w->acquired_slot = -1;
  f->data = NULL;
  return VZ_OK;
}

int
vz_writer_publish_copy (VzWriter * w, const void *data, size_t src_stride,
    uint64_t timestamp_ns, uint32_t flags, uint64_t * frame_number)
{
  VzFrame f;
  size_t row;
  int rc;

  if (data == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL frame data");
  if ((rc = vz_writer_acquire (w, &f)) != VZ_OK)
    return rc;
  row = (size_t) f.width * vz_format_bytes_per_pixel (f.format);
  if (src_stride < row) {
    vz_writer_cancel (w, &f);
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "source stride %zu is less than a %zu-byte row", src_stride, row);
  }
  if (src_stride == f.stride) {
    memcpy (f.data, data, (size_t) f.stride * (f.height - 1) + row);
  } else {
    for (uint32_t y = 0; y < f.height; y++)
      memcpy ((uint8_t *) f.data + (size_t) y * f.stride,
          (const uint8_t *) data + y * src_stride, row);
  }
  if ((rc = vz_writer_publish (w, &f, timestamp_ns, flags)) != VZ_OK)
    return rc;
  if (frame_number)
    *frame_number = f.frame_number;
  return VZ_OK;
}

/* ---- messages: renderer -> viewers ---- */

int
vz_writer_send_message (VzWriter * w, const char *json, size_t len)
{
  VzMessageSlot *m;
  char why[160];
  size_t at = 0;
  uint64_t number, seq;
  uint32_t slot;

  vz_clear_error ();
  if (w == NULL || json == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if (len == 0)
    len = strlen (json);
  if (len == 0)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "a message must be a JSON object, not empty text");
  if (len > VZ_MESSAGE_MAX_LENGTH)
    return vz_fail (VZ_ERR_TOO_LARGE,
        "a message of %zu bytes is larger than the %u bytes a message may "
        "have", len, VZ_MESSAGE_MAX_LENGTH);
  if (!vz_json_check_object (json, len, why, sizeof why, &at))
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "a message must be one JSON object in UTF-8: %s at byte %zu", why,
        at);

  number = ++w->messages;
  slot = (uint32_t) ((number - 1) % w->layout.message_slots);
  m = (VzMessageSlot *) ((uint8_t *) w->msgs + VZ_MESSAGES_HEADER_SIZE
      + (uint64_t) slot * VZ_MESSAGE_SLOT_STRIDE);
  seq = w->message_seq[slot] += 1;
  VZ_STORE_RLX (&m->seq, seq);  /* odd: being written */
  __atomic_thread_fence (__ATOMIC_RELEASE);
  m->number = number;
  m->publish_ns = vz_monotonic_ns ();
  m->length = (uint32_t) len;
  memcpy ((uint8_t *) m + VZ_MESSAGE_SLOT_HEADER_SIZE, json, len);
  VZ_STORE_REL (&m->seq, w->message_seq[slot] += 1);    /* even */
  VZ_STORE_REL (&w->msgs->sent, number);

  /* Readers sleep on the publish word: wake them as a publish does (they
   * find no new frame and look at the messages). */
  __atomic_add_fetch (&w->hdr->publish_count, 1, __ATOMIC_SEQ_CST);
  vz_futex_wake_all (&w->hdr->publish_count);
  return VZ_OK;
}

uint64_t
vz_writer_messages_sent (const VzWriter * w)
{
  return w ? w->messages : 0;
}

uint64_t
vz_writer_frames_published (const VzWriter * w)
{
  return w ? w->frames : 0;
}

const char *
vz_writer_name (const VzWriter * w)
{
  return w ? w->name + 1 : NULL;
}

void
vz_writer_close (VzWriter * w)
{
  struct stat st;
  int fd;

  if (w == NULL)
    return;
  if (w->hdr) {
    VZ_STORE_REL (&w->hdr->state, VZ_STATE_CLOSED);
    __atomic_add_fetch (&w->hdr->publish_count, 1, __ATOMIC_SEQ_CST);
    vz_futex_wake_all (&w->hdr->publish_count);
  }
  /* Unlink the name only if it still denotes our object: a newer
   * renderer may own it already. */
  fd = shm_open (w->name, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0) {
    if (fstat (fd, &st) == 0 && st.st_ino == w->ino && st.st_dev == w->dev)
      shm_unlink (w->name);
    close (fd);
  }
  if (w->base)
    munmap (w->base, w->layout.total_size);
  if (w->fd >= 0)
    close (w->fd);              /* releases the liveness lock */
  free (w);
}

/* For the event queue (vz-events.c). */
uint8_t *vzi_writer_base (VzWriter * w, const VzLayout ** layout);
VzConsumerState *vzi_writer_consumer (VzWriter * w, int *fd);

VzConsumerState *
vzi_writer_consumer (VzWriter * w, int *fd)
{
  *fd = w->fd;
  return &w->consumer;
}

uint8_t *
vzi_writer_base (VzWriter * w, const VzLayout ** layout)
{
  *layout = &w->layout;
  return w->base;
}
