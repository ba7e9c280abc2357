/* Unit tests of the event queue: every field through a lane, order per
 * producer and merging, lanes running out and coming back, overflow that
 * coalesces motion and never drops a release, hostile records, wake-ups,
 * and producer processes, one of them killed mid-stream.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>
#include "vz-protocol.h"

#include <glib.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static gchar *
unique_name (const gchar * what)
{
  static int counter;
  return g_strdup_printf ("vz-ev-%s-%d-%d", what, (int) getpid (),
      ++counter);
}

static VzWriter *
make_writer (const gchar * name, guint lanes, guint capacity)
{
  VzWriterConfig c = {.max_width = 64,.max_height = 48,.format =
        VZ_FORMAT_RGBA,.event_lanes = lanes,.lane_capacity = capacity
  };
  VzWriter *w = NULL;
  g_assert_cmpint (vz_writer_create (name, &c, &w), ==, VZ_OK);
  return w;
}

static VzProducer *
make_producer (const gchar * name, VzReader ** reader)
{
  VzProducer *p = NULL;
  g_assert_cmpint (vz_reader_open (name, VZ_READER_EVENTS, reader), ==,
      VZ_OK);
  g_assert_cmpint (vz_producer_new (*reader, &p), ==, VZ_OK);
  return p;
}

static VzEvent
ev (VzEventType type, double x, double y)
{
  VzEvent e;
  memset (&e, 0, sizeof e);
  e.type = type;
  e.x = x;
  e.y = y;
  return e;
}

static void
test_every_field (void)
{
  gchar *name = unique_name ("fields");
  VzWriter *w = make_writer (name, 0, 0);
  VzReader *r;
  VzProducer *p = make_producer (name, &r);
  VzEvent in[VZ_EVENT_LAST], out[VZ_EVENT_LAST + 4];

  for (int t = 1; t <= VZ_EVENT_LAST; t++) {
    VzEvent *e = &in[t - 1];
    *e = ev (t, 10.5 * t, 20.25 * t);
    e->modifiers = VZ_MOD_SHIFT | VZ_MOD_BUTTON1 | (t & 1 ? VZ_MOD_META : 0);
    e->timestamp_ns = 1000 + t;
    e->delta_x = -t;
    e->delta_y = t * 0.5;
    e->pressure = 0.25;
    e->button = t % 5 + 1;
    e->viewer_id = 40 + t;
    e->touch_id = 7;
    e->width = 800;
    e->height = 600;
    g_snprintf (e->text, sizeof e->text, "%s", t == VZ_EVENT_CUSTOM ?
        "{\"app\":\"hello\"}" : "Return");
    g_assert_cmpint (vz_producer_push (p, e), ==, VZ_OK);
  }
  g_assert_cmpint (vz_writer_poll_events (w, out, G_N_ELEMENTS (out)), ==,
      VZ_EVENT_LAST);
  for (int i = 0; i < VZ_EVENT_LAST; i++) {
    g_assert_cmpint (out[i].type, ==, in[i].type);
    g_assert_cmpuint (out[i].modifiers, ==, in[i].modifiers);
    g_assert_cmpuint (out[i].timestamp_ns, ==, in[i].timestamp_ns);
    g_assert_cmpfloat (out[i].x, ==, in[i].x);
    g_assert_cmpfloat (out[i].y, ==, in[i].y);
    g_assert_cmpfloat (out[i].delta_x, ==, in[i].delta_x);
    g_assert_cmpfloat (out[i].delta_y, ==, in[i].delta_y);
    g_assert_cmpfloat (out[i].pressure, ==, in[i].pressure);
    g_assert_cmpuint (out[i].button, ==, in[i].button);
    g_assert_cmpuint (out[i].viewer_id, ==, in[i].viewer_id);
    g_assert_cmpuint (out[i].touch_id, ==, in[i].touch_id);
    g_assert_cmpuint (out[i].width, ==, 800);
    g_assert_cmpuint (out[i].height, ==, 600);
    g_assert_cmpstr (out[i].text, ==, in[i].text);
    g_assert_nonnull (vz_event_type_name (out[i].type));
  }
  g_assert_cmpint (vz_writer_poll_events (w, out, 4), ==, 0);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

static void
test_bad_events_refused (void)
{
  gchar *name = unique_name ("bad");
  VzWriter *w = make_writer (name, 0, 0);
  VzReader *r, *r2 = NULL;
  VzProducer *p = make_producer (name, &r), *p2 = NULL;
  VzEvent e = ev (VZ_EVENT_POINTER_MOVE, 1, 2);

  e.type = 0;
  g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_ERR_INVALID_ARGUMENT);
  e.type = 99;
  g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_ERR_INVALID_ARGUMENT);
  e = ev (VZ_EVENT_POINTER_MOVE, NAN, 2);
  g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_ERR_INVALID_ARGUMENT);
  e = ev (VZ_EVENT_POINTER_MOVE, 1, 2);
  e.modifiers = 0x80000000u;
  g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_ERR_INVALID_ARGUMENT);
  e = ev (VZ_EVENT_CUSTOM, 0, 0);
  memset (e.text, 'a', sizeof e.text);  /* no NUL: too long */
  g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_ERR_TOO_LARGE);
  /* A reader without VZ_READER_EVENTS cannot produce. */
  g_assert_cmpint (vz_reader_open (name, 0, &r2), ==, VZ_OK);
  g_assert_cmpint (vz_producer_new (r2, &p2), ==, VZ_ERR_INVALID_ARGUMENT);
  vz_reader_close (r2);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

static void
test_merge_and_lanes (void)
{
  gchar *name = unique_name ("lanes");
  VzWriter *w = make_writer (name, 2, 16);
  VzReader *ra, *rb, *rc = NULL;
  VzProducer *a = make_producer (name, &ra), *b = make_producer (name, &rb);
  VzProducer *c = NULL;
  VzEvent out[16];
  VzEventStats st;

  /* Interleaved in time across two lanes: the renderer sees time order. */
  for (int i = 0; i < 6; i++) {
    VzEvent e = ev (VZ_EVENT_BUTTON_PRESS, i, 0);
    e.timestamp_ns = 100 + i;
    e.viewer_id = i % 2 ? 2 : 1;
    g_assert_cmpint (vz_producer_push (i % 2 ? b : a, &e), ==, VZ_OK);
  }
  vz_writer_event_stats (w, &st);
  g_assert_cmpuint (st.producers, ==, 2);
  /* Both lanes taken: a third producer is refused, clearly. */
  g_assert_cmpint (vz_reader_open (name, VZ_READER_EVENTS, &rc), ==, VZ_OK);
  g_assert_cmpint (vz_producer_new (rc, &c), ==, VZ_ERR_BUSY);
  g_assert_nonnull (strstr (vz_last_error (), "2 event lanes"));

  g_assert_cmpint (vz_writer_poll_events (w, out, 16), ==, 6);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (out[i].x, ==, i);

  /* A producer goes away with events still queued: they are delivered,
   * and its lane is free for the next producer. */
  {
    VzEvent e = ev (VZ_EVENT_KEY_RELEASE, 0, 0);
    g_strlcpy (e.text, "a", sizeof e.text);
    g_assert_cmpint (vz_producer_push (a, &e), ==, VZ_OK);
  }
  vz_producer_free (a);
  g_assert_cmpint (vz_producer_new (rc, &c), ==, VZ_OK);
  g_assert_cmpint (vz_producer_push (c, &(VzEvent) {
              .type = VZ_EVENT_POINTER_MOVE}), ==, VZ_OK);
  g_assert_cmpint (vz_writer_poll_events (w, out, 16), ==, 2);
  g_assert_cmpint (out[0].type, ==, VZ_EVENT_KEY_RELEASE);
  g_assert_cmpint (out[1].type, ==, VZ_EVENT_POINTER_MOVE);

  vz_producer_free (b);
  vz_producer_free (c);
  vz_reader_close (ra);
  vz_reader_close (rb);
  vz_reader_close (rc);
  vz_writer_close (w);
  g_free (name);
}

/* Push events without the renderer reading, then drain; returns the
 * delivered counts by type and checks order and stats. */
static void
overflow_run (VzEventType pattern[], guint n_pattern, guint total,
    guint counts[VZ_EVENT_LAST + 1], VzEventStats * st)
{
  gchar *name = unique_name ("overflow");
  VzWriter *w = make_writer (name, 1, 16);
  VzReader *r;
  VzProducer *p = make_producer (name, &r);
  VzEvent out[64];
  double last_x = -1;
  guint n = 0;

  memset (counts, 0, sizeof (guint) * (VZ_EVENT_LAST + 1));
  for (guint i = 0; i < total; i++) {
    VzEvent e = ev (pattern[i % n_pattern], i, i);
    g_assert_cmpint (vz_producer_push (p, &e), ==, VZ_OK);
  }
  g_assert_cmpuint (vz_producer_flush (p), >, 0);
  for (int round = 0; round < 10; round++) {
    int got = vz_writer_poll_events (w, out, 64);
    g_assert_cmpint (got, >=, 0);
    for (int i = 0; i < got; i++) {
      counts[out[i].type]++;
      g_assert_cmpfloat (out[i].x, >, last_x);  /* order kept */
      last_x = out[i].x;
    }
    n += got;
    vz_producer_flush (p);
  }
  g_assert_cmpuint (vz_producer_flush (p), ==, 0);
  vz_writer_event_stats (w, st);
  g_assert_cmpuint (st->received, ==, n);
  /* Everything pushed is delivered or counted as dropped. */
  g_assert_cmpuint (n + st->dropped_motion + st->dropped_other, ==, total);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

static void
test_overflow_policy (void)
{
  VzEventType drag[40], clicks[2] = { VZ_EVENT_BUTTON_PRESS,
    VZ_EVENT_BUTTON_RELEASE
  };
  guint counts[VZ_EVENT_LAST + 1];
  VzEventStats st;

  /* Drags in a flood of motion, 16-record lane, renderer not reading:
   * only motion is squeezed (coalesced, then the oldest dropped). */
  for (guint i = 0; i < 40; i++)
    drag[i] = i == 5 ? VZ_EVENT_BUTTON_PRESS : i == 15 ?
        VZ_EVENT_BUTTON_RELEASE : VZ_EVENT_POINTER_MOVE;
  overflow_run (drag, 40, 200, counts, &st);
  g_test_message ("drag: %u presses, %u releases, %u moves", counts[2],
      counts[3], counts[1]);
  g_assert_cmpuint (counts[VZ_EVENT_BUTTON_PRESS], ==, 5);
  g_assert_cmpuint (counts[VZ_EVENT_BUTTON_RELEASE], ==, 5);
  g_assert_cmpuint (counts[VZ_EVENT_POINTER_MOVE], <, 190);
  g_assert_cmpuint (st.dropped_motion, ==, 190 - counts[1]);
  g_assert_cmpuint (st.dropped_other, ==, 0);

  /* More clicks than the lane and the producer's buffer hold: presses may
   * go, releases never do. */
  overflow_run (clicks, 2, 200, counts, &st);
  g_test_message ("clicks: %u presses, %u releases", counts[2], counts[3]);
  g_assert_cmpuint (counts[VZ_EVENT_BUTTON_RELEASE], ==, 100);
  g_assert_cmpuint (counts[VZ_EVENT_BUTTON_PRESS], <, 100);
  g_assert_cmpuint (st.dropped_other, ==, 100 - counts[2]);
  g_assert_cmpuint (st.dropped_motion, ==, 0);
}

static void
test_hostile_records (void)
{
  gchar *name = unique_name ("hostile");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *w = make_writer (name, 1, 16);
  VzReader *r;
  VzProducer *p = make_producer (name, &r);
  int fd = shm_open (shm, O_RDWR, 0);
  guint8 *base = mmap (NULL, 2 * VZ_HEADER_SIZE, PROT_READ | PROT_WRITE,
      MAP_SHARED, fd, 0);
  VzLaneHeader *lh = (VzLaneHeader *) (base + VZ_HEADER_SIZE +
      VZ_EVENTS_HEADER_SIZE);
  VzEventRecord *rec = (VzEventRecord *) ((guint8 *) lh +
      VZ_LANE_HEADER_SIZE);
  VzEvent out[32];
  VzEventStats st;

  for (int i = 0; i < 4; i++)
    g_assert_cmpint (vz_producer_push (p, &(VzEvent) {
                .type = VZ_EVENT_POINTER_MOVE,.x = i}), ==, VZ_OK);
  rec[1].type = 99;             /* unknown type */
  memset (rec[2].text, 'x', sizeof rec[2].text);        /* no NUL */
  rec[2].text_len = 3;
  rec[3].sequence = 12345;      /* not its position */
  g_assert_cmpint (vz_writer_poll_events (w, out, 32), ==, 1);
  g_assert_cmpfloat (out[0].x, ==, 0);
  vz_writer_event_stats (w, &st);
  g_assert_cmpuint (st.rejected, ==, 3);

  /* An impossible tail: skipped, counted, and the lane works again. */
  lh->tail = 1000000;
  g_assert_cmpint (vz_writer_poll_events (w, out, 32), ==, 0);
  vz_writer_event_stats (w, &st);
  g_assert_cmpuint (st.rejected, >, 3);
  vz_producer_free (p);
  p = NULL;
  g_assert_cmpint (vz_producer_new (r, &p), ==, VZ_OK);
  g_assert_cmpint (vz_producer_push (p, &(VzEvent) {
              .type = VZ_EVENT_KEY_PRESS,.text = "q"}), ==, VZ_OK);
  g_assert_cmpint (vz_writer_poll_events (w, out, 32), ==, 1);
  g_assert_cmpstr (out[0].text, ==, "q");

  munmap (base, 2 * VZ_HEADER_SIZE);
  close (fd);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (shm);
  g_free (name);
}

static gpointer
push_later (gpointer data)
{
  g_usleep (60 * 1000);
  vz_producer_push (data, &(VzEvent) {
      .type = VZ_EVENT_WHEEL,.delta_y = 1});
  return NULL;
}

static void
test_wait_events (void)
{
  gchar *name = unique_name ("wait");
  VzWriter *w = make_writer (name, 0, 0);
  VzReader *r;
  VzProducer *p = make_producer (name, &r);
  GThread *t;
  gint64 t0 = g_get_monotonic_time ();
  VzEvent out[2];

  g_assert_cmpint (vz_writer_wait_events (w, 20 * 1000000ll), ==,
      VZ_ERR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 19000);
  t = g_thread_new ("push", push_later, p);
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_writer_wait_events (w, 5 * 1000000000ll), ==, VZ_OK);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2000000);
  g_thread_join (t);
  g_assert_cmpint (vz_writer_poll_events (w, out, 2), ==, 1);
  g_assert_cmpint (out[0].type, ==, VZ_EVENT_WHEEL);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

typedef struct
{
  VzWriter *w;
  int rc;
  gint64 returned_us;
} WaitJob;

static gpointer
wait_forever (gpointer data)
{
  WaitJob *job = data;

  job->rc = vz_writer_wait_events (job->w, -1);
  job->returned_us = g_get_monotonic_time ();
  return NULL;
}

/* A thread asleep in vz_writer_wait_events() with no timeout is woken by
 * vz_writer_interrupt_events() from another (how a binding ends its
 * waiter thread before closing); later waits return at once until the
 * interrupt is cleared; events keep flowing afterwards. */
static void
test_interrupt_wait (void)
{
  gchar *name = unique_name ("intr");
  VzWriter *w = make_writer (name, 0, 0);
  VzReader *r;
  VzProducer *p = make_producer (name, &r);
  WaitJob job = { w, 1, 0 };
  GThread *t;
  gint64 t0;
  VzEvent out[2];

  for (int round = 0; round < 20; round++) {
    /* Sometimes before the waiter sleeps, mostly while it does. */
    job.rc = 1;
    t = g_thread_new ("wait", wait_forever, &job);
    if (round % 4 != 0)
      g_usleep (20 * 1000);
    t0 = g_get_monotonic_time ();
    vz_writer_interrupt_events (w);
    g_thread_join (t);
    g_assert_cmpint (job.rc, ==, VZ_ERR_INTERRUPTED);
    g_assert_cmpint (job.returned_us - t0, <, 2000000);
    /* Still interrupted: no sleep at all. */
    g_assert_cmpint (vz_writer_wait_events (w, 5 * 1000000000ll), ==,
        VZ_ERR_INTERRUPTED);
    vz_writer_clear_interrupt_events (w);
  }
  /* Cleared: a wait times out again, and an event still wakes it. */
  g_assert_cmpint (vz_writer_wait_events (w, 10 * 1000000ll), ==,
      VZ_ERR_TIMEOUT);
  g_assert_cmpint (vz_writer_poll_events (w, out, 2), ==, 0);
  t = g_thread_new ("push", push_later, p);
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_writer_wait_events (w, 5 * 1000000000ll), ==, VZ_OK);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2000000);
  g_thread_join (t);
  g_assert_cmpint (vz_writer_poll_events (w, out, 2), ==, 1);
  g_assert_cmpint (out[0].type, ==, VZ_EVENT_WHEEL);
  vz_writer_interrupt_events (NULL);
  vz_writer_clear_interrupt_events (NULL);
  vz_producer_free (p);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

/* Child: push count button presses numbered 1..count (in .button) from
 * producer id (in .viewer_id), a little at a time. */
static void
producer_child (const gchar * name, guint id, guint count, int ready_fd)
{
  VzReader *r = NULL;
  VzProducer *p = NULL;

  if (vz_reader_open (name, VZ_READER_EVENTS, &r) != VZ_OK
      || vz_producer_new (r, &p) != VZ_OK)
    _exit (3);
  if (write (ready_fd, "r", 1) != 1)
    _exit (4);
  for (guint i = 1; i <= count; i++) {
    VzEvent e = ev (VZ_EVENT_BUTTON_PRESS, 0, 0);
    e.viewer_id = id;
    e.button = i;
    if (vz_producer_push (p, &e) != VZ_OK)
      _exit (5);
    if (i % 50 == 0)
      g_usleep (2000);
  }
  while (vz_producer_flush (p) > 0)
    g_usleep (1000);
  _exit (0);
}

static void
test_producer_processes (void)
{
  gchar *name = unique_name ("procs");
  VzWriter *w = make_writer (name, 4, 256);
  const guint per = 2000;
  pid_t pids[3];
  int pipefd[2], status;
  guint last[4] = { 0 }, got[4] = { 0 };
  VzEvent out[256];
  gint64 end;
  char c;

  g_assert_cmpint (pipe (pipefd), ==, 0);
  for (int i = 0; i < 3; i++) {
    pids[i] = fork ();
    if (pids[i] == 0)
      producer_child (name, i + 1, i == 2 ? 1000000 : per, pipefd[1]);
  }
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (read (pipefd[0], &c, 1), ==, 1);

  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && (got[1] < per || got[2] < per)) {
    int n;
    vz_writer_wait_events (w, 100 * 1000000ll);
    n = vz_writer_poll_events (w, out, G_N_ELEMENTS (out));
    g_assert_cmpint (n, >=, 0);
    for (int i = 0; i < n; i++) {
      guint id = out[i].viewer_id;
      g_assert_cmpuint (id, >=, 1);
      g_assert_cmpuint (id, <=, 3);
      /* Per producer: in order; nothing lost below capacity (the third
       * one floods its lane, so it may lose events, never order). */
      if (id == 3)
        g_assert_cmpuint (out[i].button, >, last[id]);
      else
        g_assert_cmpuint (out[i].button, ==, last[id] + 1);
      last[id] = out[i].button;
      got[id]++;
    }
    /* The third producer is killed mid-stream, once it has sent some. */
    if (got[3] > 500 && pids[2] > 0) {
      kill (pids[2], SIGKILL);
      waitpid (pids[2], &status, 0);
      pids[2] = 0;
    }
  }
  g_assert_cmpuint (got[1], ==, per);
  g_assert_cmpuint (got[2], ==, per);
  g_assert_cmpuint (got[3], >, 500);
  for (int i = 0; i < 2; i++) {
    waitpid (pids[i], &status, 0);
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  }
  close (pipefd[0]);
  close (pipefd[1]);
  vz_writer_close (w);
  g_free (name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/events/every-field", test_every_field);
  g_test_add_func ("/events/bad-events-refused", test_bad_events_refused);
  g_test_add_func ("/events/merge-and-lanes", test_merge_and_lanes);
  g_test_add_func ("/events/overflow-policy", test_overflow_policy);
  g_test_add_func ("/events/hostile-records", test_hostile_records);
  g_test_add_func ("/events/wait", test_wait_events);
  g_test_add_func ("/events/interrupt-wait", test_interrupt_wait);
  g_test_add_func ("/events/producer-processes", test_producer_processes);
  return g_test_run ();
}
