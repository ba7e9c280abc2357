/* gst-vizstream: the event queue (producers -> the renderer).
 *
 * Each producer owns a lane, a single-producer single-consumer ring it
 * claims with an OFD lock on the lane's first byte (released by the kernel
 * when the producer dies). The producer writes records, then publishes
 * them by storing the lane's tail; the renderer reads up to the tail and
 * publishes its progress in the lane's head. Nobody waits for anybody: a
 * full lane keeps events in the producer (coalescing pointer motion), and
 * a dead producer leaves a consistent lane behind. docs/protocol.md,
 * "Event queue".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "vz-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
vz_event_type_name (VzEventType type)
{
  static const char *names[] = {
    NULL, "pointer-move", "button-press", "button-release", "wheel",
    "key-press", "key-release", "touch-down", "touch-motion", "touch-up",
    "resize-request", "custom",
  };
  if ((unsigned) type > VZ_EVENT_LAST)
    return NULL;
  return names[type];
}

static VzEventsHeader *
events_header (uint8_t * events)
{
  return (VzEventsHeader *) events;
}

static VzLaneHeader *
lane_header (uint8_t * events, const VzLayout * l, uint32_t lane)
{
  return (VzLaneHeader *) (events + l->lanes_offset
      + (uint64_t) lane * l->lane_stride);
}

static VzEventRecord *
lane_record (VzLaneHeader * lh, const VzLayout * l, uint64_t position)
{
  return (VzEventRecord *) ((uint8_t *) lh + VZ_LANE_HEADER_SIZE
      + (position & (l->lane_capacity - 1)) * VZ_EVENT_RECORD_SIZE);
}

static bool
is_release (VzEventType t)
{
  return t == VZ_EVENT_BUTTON_RELEASE || t == VZ_EVENT_KEY_RELEASE
      || t == VZ_EVENT_TOUCH_UP;
}

static bool
is_motion (VzEventType t)
{
  return t == VZ_EVENT_POINTER_MOVE || t == VZ_EVENT_TOUCH_MOTION;
}

/* Shared by both sides: what may travel in a record. */
static int
check_event (const VzEvent * e)
{
  size_t len;

  if (e->type < 1 || e->type > VZ_EVENT_LAST)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown event type %d",
        (int) e->type);
  if (e->modifiers & ~VZ_MOD_ALL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown modifier bits 0x%x",
        e->modifiers & ~VZ_MOD_ALL);
  if (!isfinite (e->x) || !isfinite (e->y) || !isfinite (e->delta_x)
      || !isfinite (e->delta_y) || !isfinite (e->pressure))
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "non-finite coordinate");
  len = strnlen (e->text, VZ_EVENT_TEXT_SIZE);
  if (len >= VZ_EVENT_TEXT_SIZE)
    return vz_fail (VZ_ERR_TOO_LARGE, "event text longer than %u bytes",
        VZ_EVENT_TEXT_SIZE - 1);
  return VZ_OK;
}

/* ------------------------------------------------------------------ */
/* Producer                                                           */
/* ------------------------------------------------------------------ */

uint8_t *vzi_reader_events_base (VzReader * r, const VzLayout ** layout,
    int *fd);

struct VzProducer
{
  int fd;                       /* our own open file description: the lock */
  uint8_t *events;              /* the reader's writable event mapping */
  VzLayout layout;
  uint32_t lane;
  VzLaneHeader *lh;
  uint64_t tail;                /* private: what we committed */
  uint64_t dropped_motion, dropped_other;
  VzEvent *pending;             /* held back while the lane is full */
  size_t n_pending, max_pending, hard_max_pending;
};

int
vz_producer_new (VzReader * reader, VzProducer ** out)
{
  const VzLayout *l;
  VzProducer *p;
  struct stat a, b;
  int rfd, rc;

  vz_clear_error ();
  if (reader == NULL || out == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  p = calloc (1, sizeof *p);
  if (p == NULL)
    return vz_fail (VZ_ERR_SYSTEM, "out of memory");
  p->events = vzi_reader_events_base (reader, &l, &rfd);
  if (p->events == NULL) {
    free (p);
    return vz_fail (VZ_ERR_INVALID_ARGUMENT,
        "the reader was not opened with VZ_READER_EVENTS");
  }
  p->layout = *l;
  /* A lock of our own: OFD locks belong to an open file description, and
   * the reader's may host another producer. /proc/self/fd reopens the very
   * object even if its name was unlinked or replaced meanwhile. */
  {
    char path[64];
    snprintf (path, sizeof path, "/proc/self/fd/%d", rfd);
    p->fd = open (path, O_RDWR | O_CLOEXEC);
  }
  if (p->fd < 0 || fstat (p->fd, &a) != 0 || fstat (rfd, &b) != 0
      || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
    rc = vz_fail (VZ_ERR_SYSTEM, "cannot reopen the segment: %s",
        strerror (errno));
    goto fail;
  }
  p->max_pending = p->layout.lane_capacity;
  p->hard_max_pending = 8 * p->max_pending;
  p->pending = calloc (p->max_pending, sizeof (VzEvent));
  if (p->pending == NULL) {
    rc = vz_fail (VZ_ERR_SYSTEM, "out of memory");
    goto fail;
  }

  for (uint32_t i = 0; i < p->layout.lane_count; i++) {
    bool got;
    uint64_t off = p->layout.events_offset + p->layout.lanes_offset
        + (uint64_t) i * p->layout.lane_stride;
    if ((rc = vz_lock_byte (p->fd, off, &got)) != VZ_OK)
      goto fail;
    if (got) {
      uint64_t head, tail;
      p->lane = i;
      p->lh = lane_header (p->events, &p->layout, i);
      head = VZ_LOAD_ACQ (&p->lh->head);
      tail = VZ_LOAD_ACQ (&p->lh->tail);
      /* A previous owner's records stay for the renderer; an impossible
       * tail (a corrupt lane) restarts at the renderer's head. */
      if (tail < head || tail - head > p->layout.lane_capacity)
        tail = head;
      p->tail = tail;
      VZ_STORE_REL (&p->lh->tail, tail);
      p->lh->producer_pid = (uint32_t) getpid ();
      __atomic_add_fetch (&p->lh->claims, 1, __ATOMIC_RELAXED);
      p->dropped_motion = p->lh->dropped_motion;
      p->dropped_other = p->lh->dropped_other;
      *out = p;
      return VZ_OK;
    }
  }
  rc = vz_fail (VZ_ERR_BUSY, "all %u event lanes of the segment have a "
      "live producer", p->layout.lane_count);
fail:
  vz_producer_free (p);
  return rc;
}

void
vz_producer_free (VzProducer * p)
{
  if (p == NULL)
    return;
  if (p->fd >= 0)
    close (p->fd);              /* releases the lane */
  free (p->pending);
  free (p);
}

static void
record_from_event (VzEventRecord * r, const VzEvent * e, uint64_t position)
{
  size_t len = strnlen (e->text, VZ_EVENT_TEXT_SIZE - 1);

  memset (r, 0, sizeof *r);
  r->type = e->type;
  r->modifiers = e->modifiers;
  r->timestamp_ns = e->timestamp_ns;
  r->x = e->x;
  r->y = e->y;
  r->delta_x = e->delta_x;
  r->delta_y = e->delta_y;
  r->pressure = e->pressure;
  r->button = e->button;
  r->viewer_id = e->viewer_id;
  r->touch_id = e->touch_id;
  r->width = e->width;
  r->height = e->height;
  r->text_len = (uint32_t) len;
  r->sequence = position;
  memcpy (r->text, e->text, len);
}

size_t
vz_producer_flush (VzProducer * p)
{
  uint64_t head = VZ_LOAD_ACQ (&p->lh->head);
  size_t sent = 0;
  VzEventsHeader *eh = events_header (p->events);

  /* A head past our tail is nonsense written by someone else: treat the
   * lane as empty rather than full forever. */
  if (head > p->tail)
    head = p->tail;
  while (sent < p->n_pending
      && p->tail - head < p->layout.lane_capacity) {
    record_from_event (lane_record (p->lh, &p->layout, p->tail),
        &p->pending[sent], p->tail);
    p->tail++;
    sent++;
  }
  if (sent == 0)
    return p->n_pending;
  /* Records first, then the tail that makes them visible. */
  VZ_STORE_REL (&p->lh->tail, p->tail);
  memmove (p->pending, p->pending + sent,
      (p->n_pending - sent) * sizeof (VzEvent));
  p->n_pending -= sent;
  __atomic_add_fetch (&eh->posted, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n (&eh->consumer_waiting, __ATOMIC_SEQ_CST))
    vz_futex_wake_all (&eh->posted);
  return p->n_pending;
}

static void
drop_pending (VzProducer * p, size_t i)
{
  if (is_motion (p->pending[i].type))
    p->dropped_motion++;
  else
    p->dropped_other++;
  memmove (p->pending + i, p->pending + i + 1,
      (p->n_pending - i - 1) * sizeof (VzEvent));
  p->n_pending--;
}

int
vz_producer_push (VzProducer * p, const VzEvent * e)
{
  VzEvent ev;
  int rc;

  vz_clear_error ();
  if (p == NULL || e == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if ((rc = check_event (e)) != VZ_OK)
    return rc;
  ev = *e;
  if (ev.timestamp_ns == 0)
    ev.timestamp_ns = vz_monotonic_ns ();

  /* Behind earlier held-back events, to keep the order. */
  if (p->n_pending > 0)
    vz_producer_flush (p);
  if (p->n_pending > 0) {
    VzEvent *last = &p->pending[p->n_pending - 1];
    if (is_motion (ev.type) && last->type == ev.type
        && last->viewer_id == ev.viewer_id && last->touch_id == ev.touch_id) {
      /* Coalesce: the newest position replaces the one not yet sent. */
      *last = ev;
      p->dropped_motion++;
      goto counted;
    }
    if (p->n_pending == p->max_pending) {
      size_t victim = p->n_pending;
      for (size_t i = 0; i < p->n_pending && victim == p->n_pending; i++)
        if (is_motion (p->pending[i].type))
          victim = i;
      for (size_t i = 0; i < p->n_pending && victim == p->n_pending; i++)
        if (!is_release (p->pending[i].type))
          victim = i;
      if (victim == p->n_pending && p->max_pending < p->hard_max_pending) {
        /* Nothing but releases: dropping one could leave a button held
         * down in the renderer, so make room, up to a hard bound. */
        size_t grown = p->max_pending * 2;
        VzEvent *more = realloc (p->pending, grown * sizeof (VzEvent));
        if (more) {
          p->pending = more;
          p->max_pending = grown;
        } else {
          victim = 0;
        }
      } else if (victim == p->n_pending) {
        victim = 0;             /* past the hard bound: the oldest goes */
      }
      if (victim < p->n_pending)
        drop_pending (p, victim);
    }
  }
  p->pending[p->n_pending++] = ev;
  vz_producer_flush (p);
counted:
  VZ_STORE_REL (&p->lh->dropped_motion, p->dropped_motion);
  VZ_STORE_REL (&p->lh->dropped_other, p->dropped_other);
  return VZ_OK;
}

/* ------------------------------------------------------------------ */
/* Consumer (the renderer)                                            */
/* ------------------------------------------------------------------ */

uint8_t *vzi_writer_base (VzWriter * w, const VzLayout ** layout);
VzConsumerState *vzi_writer_consumer (VzWriter * w, int *fd);

static int
event_from_record (const VzEventRecord * r, uint64_t position, VzEvent * e)
{
  memset (e, 0, sizeof *e);
  if (r->sequence != position)
    return VZ_ERR_BAD_FRAME;
  if (r->text_len >= VZ_EVENT_TEXT_SIZE
      || strnlen (r->text, VZ_EVENT_TEXT_SIZE) != r->text_len)
    return VZ_ERR_BAD_FRAME;
  e->type = (VzEventType) r->type;
  e->modifiers = r->modifiers;
  e->timestamp_ns = r->timestamp_ns;
  e->x = r->x;
  e->y = r->y;
  e->delta_x = r->delta_x;
  e->delta_y = r->delta_y;
  e->pressure = r->pressure;
  e->button = r->button;
  e->viewer_id = r->viewer_id;
  e->touch_id = r->touch_id;
  e->width = r->width;
  e->height = r->height;
  memcpy (e->text, r->text, r->text_len);
  return check_event (e) == VZ_OK ? VZ_OK : VZ_ERR_BAD_FRAME;
}

int
vz_writer_poll_events (VzWriter * w, VzEvent * out, size_t max)
{
  const VzLayout *l;
  uint8_t *events;
  VzConsumerState *cs;
  uint64_t tails[VZ_MAX_LANES];
  size_t n = 0;
  int fd;

  vz_clear_error ();
  if (w == NULL || (out == NULL && max > 0))
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  events = vzi_writer_base (w, &l) + l->events_offset;
  cs = vzi_writer_consumer (w, &fd);

  for (uint32_t i = 0; i < l->lane_count; i++) {
    VzLaneHeader *lh = lane_header (events, l, i);
    uint64_t t = VZ_LOAD_ACQ (&lh->tail);
    uint64_t h = cs->head[i];
    if (t < h || t - h > l->lane_capacity) {
      /* A producer wrote an impossible tail: skip what cannot be read. */
      uint64_t skip = t < h ? 0 : t - h;
      cs->rejected += skip;
      lh->rejected += skip;
      cs->head[i] = t;
      VZ_STORE_REL (&lh->head, t);
    }
    tails[i] = t;
  }

  /* Merge the lanes by timestamp; each lane is in order already. */
  while (n < max) {
    int best = -1;
    uint64_t best_ts = 0;
    for (uint32_t i = 0; i < l->lane_count; i++) {
      VzLaneHeader *lh;
      uint64_t ts;
      if (cs->head[i] >= tails[i])
        continue;
      lh = lane_header (events, l, i);
      ts = lane_record (lh, l, cs->head[i])->timestamp_ns;
      if (best < 0 || ts < best_ts) {
        best = (int) i;
        best_ts = ts;
      }
    }
    if (best < 0)
      break;
    {
      VzLaneHeader *lh = lane_header (events, l, (uint32_t) best);
      VzEventRecord rec = *lane_record (lh, l, cs->head[best]);
      if (event_from_record (&rec, cs->head[best], &out[n]) == VZ_OK) {
        n++;
        cs->received++;
      } else {
        cs->rejected++;
        lh->rejected++;
      }
      cs->head[best]++;
    }
  }
  for (uint32_t i = 0; i < l->lane_count; i++)
    VZ_STORE_REL (&lane_header (events, l, i)->head, cs->head[i]);
  return (int) n;
}

int
vz_writer_wait_events (VzWriter * w, int64_t timeout_ns)
{
  const VzLayout *l;
  uint8_t *events;
  VzEventsHeader *eh;
  VzConsumerState *cs;
  uint32_t seen;
  int fd, rc;

  vz_clear_error ();
  if (w == NULL)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  events = vzi_writer_base (w, &l) + l->events_offset;
  eh = events_header (events);
  cs = vzi_writer_consumer (w, &fd);

  __atomic_store_n (&eh->consumer_waiting, 1, __ATOMIC_SEQ_CST);
  seen = __atomic_load_n (&eh->posted, __ATOMIC_SEQ_CST);
  /* After reading posted: an interrupt from now on changes posted, so the
   * futex below does not sleep through it. */
  if (__atomic_load_n (&cs->interrupted, __ATOMIC_SEQ_CST)) {
    __atomic_store_n (&eh->consumer_waiting, 0, __ATOMIC_SEQ_CST);
    return vz_fail (VZ_ERR_INTERRUPTED, "interrupted");
  }
  for (uint32_t i = 0; i < l->lane_count; i++) {
    if (VZ_LOAD_ACQ (&lane_header (events, l, i)->tail) != cs->head[i]) {
      __atomic_store_n (&eh->consumer_waiting, 0, __ATOMIC_SEQ_CST);
      return VZ_OK;
    }
  }
  rc = vz_futex_wait (&eh->posted, seen, timeout_ns);
  __atomic_store_n (&eh->consumer_waiting, 0, __ATOMIC_SEQ_CST);
  if (__atomic_load_n (&cs->interrupted, __ATOMIC_SEQ_CST))
    return vz_fail (VZ_ERR_INTERRUPTED, "interrupted");
  if (rc == VZ_ERR_TIMEOUT)
    return vz_fail (VZ_ERR_TIMEOUT, "no event");
  return rc;
}

void
vz_writer_interrupt_events (VzWriter * w)
{
  const VzLayout *l;
  VzEventsHeader *eh;
  VzConsumerState *cs;
  int fd;

  if (w == NULL)
    return;
  eh = events_header (vzi_writer_base (w, &l) + l->events_offset);
  cs = vzi_writer_consumer (w, &fd);
  __atomic_store_n (&cs->interrupted, 1, __ATOMIC_SEQ_CST);
  /* Change the word as well as waking it: a waiter between its look at
   * the flag and its futex call then finds posted moved and returns. The
   * producers' rule is only "+1 per batch"; an extra count costs them
   * nothing and the consumer nothing but one look at its lanes. */
  __atomic_add_fetch (&eh->posted, 1, __ATOMIC_SEQ_CST);
  vz_futex_wake_all (&eh->posted);
}

void
vz_writer_clear_interrupt_events (VzWriter * w)
{
  VzConsumerState *cs;
  int fd;

  if (w == NULL)
    return;
  cs = vzi_writer_consumer (w, &fd);
  __atomic_store_n (&cs->interrupted, 0, __ATOMIC_SEQ_CST);
}

void
vz_writer_event_stats (VzWriter * w, VzEventStats * st)
{
  const VzLayout *l;
  uint8_t *events;
  VzConsumerState *cs;
  int fd;

  memset (st, 0, sizeof *st);
  if (w == NULL)
    return;
  events = vzi_writer_base (w, &l) + l->events_offset;
  cs = vzi_writer_consumer (w, &fd);
  st->received = cs->received;
  st->rejected = cs->rejected;
  for (uint32_t i = 0; i < l->lane_count; i++) {
    VzLaneHeader *lh = lane_header (events, l, i);
    bool held = false;
    st->dropped_motion += VZ_LOAD_ACQ (&lh->dropped_motion);
    st->dropped_other += VZ_LOAD_ACQ (&lh->dropped_other);
    if (vz_lock_is_held (fd, l->events_offset + l->lanes_offset
            + (uint64_t) i * l->lane_stride, &held) == VZ_OK && held)
      st->producers++;
  }
}
