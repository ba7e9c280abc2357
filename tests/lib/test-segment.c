/* Unit tests of the renderer-side library: writer, reader, limits,
 * leftovers, wake-ups. Real shared memory; forked processes where a
 * process boundary matters.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>
#include "vz-protocol.h"

#include <glib.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static gchar *
unique_name (const gchar * what)
{
  static int counter;
  return g_strdup_printf ("vz-test-%s-%d-%d", what, (int) getpid (),
      ++counter);
}

static VzWriter *
make_writer (const gchar * name, guint w, guint h, VzFormat format)
{
  VzWriterConfig c = { 0 };
  VzWriter *writer = NULL;
  int rc;

  c.max_width = w;
  c.max_height = h;
  c.format = format;
  rc = vz_writer_create (name, &c, &writer);
  g_assert_cmpint (rc, ==, VZ_OK);
  g_assert_nonnull (writer);
  return writer;
}

static void
fill_pattern (guint8 * data, guint w, guint h, guint stride, guint bpp,
    guint seed)
{
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w * bpp; x++)
      data[(gsize) y * stride + x] = (guint8) (seed + y * 7 + x * 3);
}

static void
test_formats_roundtrip (void)
{
  for (int fmt = VZ_FORMAT_RGBA; fmt <= VZ_FORMAT_LAST; fmt++) {
    gchar *name = unique_name ("fmt");
    guint bpp = vz_format_bytes_per_pixel (fmt);
    guint w = 37, h = 21;       /* odd sizes: strides get padded */
    VzWriter *writer = make_writer (name, w, h, fmt);
    VzReader *reader = NULL;
    VzFrame f, r;
    guint8 *out;
    gsize out_stride = (gsize) w * bpp;

    g_assert_nonnull (vz_format_name (fmt));
    g_assert_cmpint (vz_format_from_name (vz_format_name (fmt)), ==, fmt);
    g_assert_cmpint (vz_writer_acquire (writer, &f), ==, VZ_OK);
    g_assert_cmpuint (f.stride, ==, vz_default_stride (fmt, w));
    g_assert_cmpuint (f.stride % 4, ==, 0);
    fill_pattern (f.data, w, h, f.stride, bpp, fmt);
    g_assert_cmpint (vz_writer_publish (writer, &f, 1234, 0), ==, VZ_OK);
    g_assert_cmpuint (f.frame_number, ==, 1);

    g_assert_cmpint (vz_reader_open (name, 0, &reader), ==, VZ_OK);
    g_assert_cmpint (vz_reader_peek (reader, &r), ==, VZ_OK);
    g_assert_cmpuint (r.width, ==, w);
    g_assert_cmpuint (r.height, ==, h);
    g_assert_cmpint (r.format, ==, fmt);
    g_assert_cmpuint (r.frame_number, ==, 1);
    g_assert_cmpuint (r.timestamp_ns, ==, 1234);
    g_assert_cmpuint (r.publish_ns, ==, f.publish_ns);
    g_assert_cmpuint (r.publish_unix_ns, ==, f.publish_unix_ns);
    out = g_malloc0 (out_stride * h);
    g_assert_cmpint (vz_reader_copy (reader, &r, out, out_stride, 0), ==,
        VZ_OK);
    for (guint y = 0; y < h; y++)
      g_assert_cmpmem (out + y * out_stride, w * bpp,
          (guint8 *) f.data + (gsize) y * f.stride, w * bpp);
    g_free (out);
    vz_reader_close (reader);
    vz_writer_close (writer);
    g_free (name);
  }
}

static void
test_bad_arguments (void)
{
  VzWriterConfig c = { 0 };
  VzWriter *w = NULL;
  VzReader *r = NULL;

  c.max_width = 64;
  c.max_height = 64;
  c.format = VZ_FORMAT_RGBA;
  g_assert_cmpint (vz_writer_create ("", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpint (vz_writer_create ("a/b", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (vz_last_error (), "'/'"));
  c.slot_count = 1;
  g_assert_cmpint (vz_writer_create ("vz-test-x", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (vz_last_error (), "slot count 1"));
  c.slot_count = 0;
  c.max_width = 20000;
  g_assert_cmpint (vz_writer_create ("vz-test-x", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  c.max_width = 64;
  c.format = 99;
  g_assert_cmpint (vz_writer_create ("vz-test-x", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  c.format = VZ_FORMAT_RGBA;
  c.lane_capacity = 100;
  g_assert_cmpint (vz_writer_create ("vz-test-x", &c, &w), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_null (w);
  g_assert_cmpint (vz_reader_open ("vz-test-does-not-exist", 0, &r), ==,
      VZ_ERR_NOT_FOUND);
  g_assert_null (r);
  g_assert_cmpint (vz_format_from_name ("YUY2"), ==, VZ_FORMAT_UNKNOWN);
  g_assert_cmpstr (vz_strerror (VZ_ERR_TORN), !=, "unknown error");
}

static void
test_mode_and_unlink (void)
{
  gchar *name = unique_name ("mode");
  gchar *path = g_strdup_printf ("/dev/shm/%s", name);
  VzWriter *w;
  struct stat st;
  mode_t old = umask (0);       /* a careless umask must not widen it */

  w = make_writer (name, 16, 16, VZ_FORMAT_RGBA);
  umask (old);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  vz_writer_close (w);
  g_assert_cmpint (stat (path, &st), ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
  g_free (path);
  g_free (name);
}

static void
test_busy_and_leftover (void)
{
  gchar *name = unique_name ("leftover");
  VzWriterConfig c = {.max_width = 32,.max_height = 32,.format =
        VZ_FORMAT_RGBA
  };
  VzWriter *w = make_writer (name, 32, 32, VZ_FORMAT_RGBA), *w2 = NULL;
  int pipefd[2], status;
  pid_t pid;
  char ch;

  /* A live renderer keeps its name, and the message names its pid. */
  g_assert_cmpint (vz_writer_create (name, &c, &w2), ==, VZ_ERR_BUSY);
  g_assert_nonnull (strstr (vz_last_error (), "live renderer"));
  {
    gchar *pidstr = g_strdup_printf ("pid %d", (int) getpid ());
    g_assert_nonnull (strstr (vz_last_error (), pidstr));
    g_free (pidstr);
  }
  vz_writer_close (w);

  /* A renderer killed without closing leaves its object behind... */
  g_assert_cmpint (pipe (pipefd), ==, 0);
  pid = fork ();
  if (pid == 0) {
    VzWriter *cw = NULL;
    if (vz_writer_create (name, &c, &cw) != VZ_OK)
      _exit (1);
    if (write (pipefd[1], "x", 1) != 1)
      _exit (1);
    pause ();
    _exit (0);
  }
  g_assert_cmpint (read (pipefd[0], &ch, 1), ==, 1);
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  close (pipefd[0]);
  close (pipefd[1]);
  {
    gchar *path = g_strdup_printf ("/dev/shm/%s", name);
    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    g_free (path);
  }
  /* ...which readers call gone, and a new renderer replaces. */
  {
    VzReader *r = NULL;
    g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_ERR_GONE);
  }
  g_assert_cmpint (vz_writer_create (name, &c, &w2), ==, VZ_OK);
  vz_writer_close (w2);
  g_free (name);
}

static void
test_foreign_object_kept (void)
{
  gchar *name = unique_name ("foreign");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriterConfig c = {.max_width = 8,.max_height = 8,.format = VZ_FORMAT_RGBA
  };
  VzWriter *w = NULL;
  int fd = shm_open (shm, O_RDWR | O_CREAT | O_EXCL, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "not ours, keep it", 17), ==, 17);
  g_assert_cmpint (vz_writer_create (name, &c, &w), ==, VZ_ERR_EXISTS);
  g_assert_nonnull (strstr (vz_last_error (), "not a vizstream segment"));
  /* Still there, untouched. */
  {
    struct stat st;
    g_assert_cmpint (fstat (fd, &st), ==, 0);
    g_assert_cmpint (st.st_size, ==, 17);
  }
  close (fd);
  shm_unlink (shm);
  g_free (shm);
  g_free (name);
}

static void
test_close_keeps_newer_segment (void)
{
  gchar *name = unique_name ("newer");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *old = make_writer (name, 8, 8, VZ_FORMAT_RGBA), *newer;
  VzReader *r = NULL;

  /* Someone unlinks the name and a new renderer takes it... */
  shm_unlink (shm);
  newer = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  /* ...then the old one closes: the new segment must stay. */
  vz_writer_close (old);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  vz_reader_close (r);
  vz_writer_close (newer);
  g_free (shm);
  g_free (name);
}

static void
test_writer_state_errors (void)
{
  gchar *name = unique_name ("state");
  VzWriter *w = make_writer (name, 16, 16, VZ_FORMAT_RGBA);
  VzFrame f, g;
  guint8 src[16 * 16 * 4];

  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_acquire (w, &g), ==, VZ_ERR_STATE);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0x80), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpint (vz_writer_cancel (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_ERR_STATE);
  g_assert_cmpuint (vz_writer_frames_published (w), ==, 0);
  g_assert_cmpint (vz_writer_publish_copy (w, src, 10, 0, 0, NULL), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpint (vz_writer_publish_copy (w, src, 64, 0, 0, NULL), ==,
      VZ_OK);
  g_assert_cmpuint (vz_writer_frames_published (w), ==, 1);
  vz_writer_close (w);
  g_free (name);
}

static void
test_resize (void)
{
  gchar *name = unique_name ("resize");
  VzWriter *w = make_writer (name, 64, 48, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  VzFrame f, p;

  g_assert_cmpint (vz_writer_set_frame_format (w, 65, 48, VZ_FORMAT_RGBA,
          0), ==, VZ_ERR_TOO_LARGE);
  g_assert_cmpint (vz_writer_set_frame_format (w, 64, 48, VZ_FORMAT_RGBA,
          64 * 4 + 4), ==, VZ_ERR_TOO_LARGE);
  g_assert_cmpint (vz_writer_set_frame_format (w, 20, 10, VZ_FORMAT_RGBA,
          20 * 4 - 1), ==, VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpint (vz_writer_set_frame_format (w, 20, 10, VZ_FORMAT_RGB,
          0), ==, VZ_OK);
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.width, ==, 20);
  g_assert_cmpuint (f.stride, ==, 60);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.width, ==, 20);
  g_assert_cmpuint (p.height, ==, 10);
  g_assert_cmpint (p.format, ==, VZ_FORMAT_RGB);
  /* A custom, wider stride is carried as is. */
  g_assert_cmpint (vz_writer_set_frame_format (w, 30, 30, VZ_FORMAT_GRAY8,
          64), ==, VZ_OK);
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.stride, ==, 64);
  g_assert_cmpuint (p.frame_number, ==, 2);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

static void
test_flip (void)
{
  gchar *name = unique_name ("flip");
  guint w = 5, h = 4;
  VzWriter *wr = make_writer (name, w, h, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  VzFrame f, p;
  guint8 out[5 * 4 * 4];

  g_assert_cmpint (vz_writer_acquire (wr, &f), ==, VZ_OK);
  for (guint y = 0; y < h; y++)
    memset ((guint8 *) f.data + y * f.stride, (int) (y + 1), w * 4);
  g_assert_cmpint (vz_writer_publish (wr, &f, 0, VZ_FRAME_BOTTOM_UP), ==,
      VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.flags, ==, VZ_FRAME_BOTTOM_UP);
  g_assert_cmpint (vz_reader_copy (r, &p, out, w * 4, VZ_COPY_TOP_DOWN), ==,
      VZ_OK);
  for (guint y = 0; y < h; y++)
    g_assert_cmpuint (out[y * w * 4], ==, h - y);
  /* Without the flag the rows stay as stored. */
  g_assert_cmpint (vz_reader_copy (r, &p, out, w * 4, 0), ==, VZ_OK);
  for (guint y = 0; y < h; y++)
    g_assert_cmpuint (out[y * w * 4], ==, y + 1);
  vz_reader_close (r);
  vz_writer_close (wr);
  g_free (name);
}

static void
test_torn_detected (void)
{
  gchar *name = unique_name ("torn");
  VzWriter *w = make_writer (name, 16, 16, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  VzFrame f, p;
  guint8 out[16 * 16 * 4];

  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  /* The writer goes round the ring (3 slots) and reuses p's slot while
   * the reader is (notionally) still copying: the copy must say so. */
  for (int i = 0; i < 2; i++) {
    g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
    g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  }
  g_assert_cmpint (vz_reader_copy (r, &p, out, 64, 0), ==, VZ_OK);
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, p.slot);
  g_assert_cmpint (vz_reader_copy (r, &p, out, 64, 0), ==, VZ_ERR_TORN);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_copy (r, &p, out, 64, 0), ==, VZ_ERR_TORN);
  /* Peeking again gives the newest, which copies fine. */
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.frame_number, ==, 4);
  g_assert_cmpint (vz_reader_copy (r, &p, out, 64, 0), ==, VZ_OK);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

static gint64
thread_cpu_us (void)
{
  struct rusage ru;

  g_assert_cmpint (getrusage (RUSAGE_THREAD, &ru), ==, 0);
  return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000
      + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* A writer that leaves its newest slot odd (broken, or hostile: same
 * user): peek gives up quickly, and a reader that backs off as told
 * sleeps instead of spinning; a proper publish ends it. */
static void
test_stalled_writer_backoff (void)
{
  gchar *name = unique_name ("stall");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *w = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  int fd = shm_open (shm, O_RDWR, 0);
  VzHeader *hdr;
  VzFrame f, p;
  guint8 out[8 * 8 * 4];
  guint torn = 0, slept = 0;
  gint64 t0, c0, wall, cpu;
  int rc;

  g_assert_cmpint (fd, >=, 0);
  hdr = mmap (NULL, VZ_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
      0);
  g_assert_true (hdr != MAP_FAILED);
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  hdr->slots[hdr->latest_slot].seq++;   /* odd, for good */

  /* The first few torn reads in a row retry at once. */
  for (guint n = 1; n <= 4; n++)
    g_assert_cmpint (vz_reader_backoff (r, n), ==, 0);

  /* A reader that retries as told for 500 ms: mostly asleep (spinning,
   * it took the whole 500 ms; CPU time is counted in scheduler ticks of
   * up to 10 ms, hence the loose bound). */
  t0 = g_get_monotonic_time ();
  c0 = thread_cpu_us ();
  while (g_get_monotonic_time () - t0 < 500 * 1000) {
    g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_ERR_TORN);
    rc = vz_reader_backoff (r, ++torn);
    g_assert_cmpint (rc, >=, 0);
    slept += rc;
  }
  cpu = thread_cpu_us () - c0;
  wall = g_get_monotonic_time () - t0;
  g_test_message ("stalled writer: %u torn reads, %u sleeps, %" G_GINT64_FORMAT
      " us of CPU in %" G_GINT64_FORMAT " us", torn, slept, cpu, wall);
  g_assert_cmpuint (slept, >, 0);
  g_assert_cmpuint (torn, <, 1000);
  g_assert_cmpint (cpu * 100, <, wall * 10);
  /* Sleeps are short: at most 20 ms. */
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_reader_backoff (r, 1000), ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 500 * 1000);

  /* Interrupted like a wait. */
  vz_reader_interrupt (r);
  g_assert_cmpint (vz_reader_backoff (r, 1000), ==, VZ_ERR_INTERRUPTED);
  vz_reader_clear_interrupt (r);

  /* The writer publishes properly again: the next frame reads fine. */
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  memset (f.data, 0x5a, (gsize) f.stride * f.height);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.frame_number, ==, 2);
  g_assert_cmpint (vz_reader_copy (r, &p, out, 32, 0), ==, VZ_OK);
  g_assert_cmpuint (out[0], ==, 0x5a);

  /* A writer gone while stalled is noticed by the sleep. */
  hdr->slots[hdr->latest_slot].seq++;
  munmap (hdr, VZ_HEADER_SIZE);
  close (fd);
  vz_writer_close (w);
  g_assert_cmpint (vz_reader_backoff (r, 1000), ==, VZ_ERR_CLOSED);
  vz_reader_close (r);
  g_free (shm);
  g_free (name);
}

typedef struct
{
  VzWriter *w;
  guint delay_ms;
} PublishLater;

static gpointer
publish_later (gpointer data)
{
  PublishLater *pl = data;
  VzFrame f;

  g_usleep (pl->delay_ms * 1000);
  vz_writer_acquire (pl->w, &f);
  vz_writer_publish (pl->w, &f, 0, 0);
  return NULL;
}

static gpointer
interrupt_later (gpointer data)
{
  g_usleep (50 * 1000);
  vz_reader_interrupt (data);
  return NULL;
}

static void
test_wait (void)
{
  gchar *name = unique_name ("wait");
  VzWriter *w = make_writer (name, 16, 16, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  PublishLater pl = { w, 80 };
  GThread *t;
  gint64 t0;

  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  /* Nothing published: a timeout, on time. */
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_reader_wait (r, 0, 30 * 1000000ll), ==,
      VZ_ERR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 29000);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 500000);
  g_assert_cmpint (vz_reader_peek (r, &(VzFrame) {
              0}), ==, VZ_ERR_NO_FRAME);

  /* A publish from another thread wakes the sleeper. */
  t = g_thread_new ("pub", publish_later, &pl);
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_reader_wait (r, 0, 5 * 1000000000ll), ==, VZ_OK);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * 1000000);
  g_thread_join (t);
  /* Already newer than 0: no sleep at all. */
  g_assert_cmpint (vz_reader_wait (r, 0, 0), ==, VZ_OK);

  /* Interrupt from another thread, promptly; sticky until cleared. */
  t = g_thread_new ("int", interrupt_later, r);
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_reader_wait (r, 1, -1), ==, VZ_ERR_INTERRUPTED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 1000000);
  g_thread_join (t);
  g_assert_cmpint (vz_reader_wait (r, 1, 10000000), ==, VZ_ERR_INTERRUPTED);
  vz_reader_clear_interrupt (r);
  g_assert_cmpint (vz_reader_wait (r, 1, 10000000), ==, VZ_ERR_TIMEOUT);

  /* A clean close is reported as closed. */
  vz_writer_close (w);
  g_assert_cmpint (vz_reader_wait (r, 1, -1), ==, VZ_ERR_CLOSED);
  g_assert_cmpint (vz_reader_check_writer (r), ==, VZ_ERR_CLOSED);
  vz_reader_close (r);
  g_free (name);
}

static void
test_writer_death_seen_by_waiter (void)
{
  gchar *name = unique_name ("death");
  VzWriterConfig c = {.max_width = 16,.max_height = 16,.format =
        VZ_FORMAT_RGBA
  };
  VzReader *r = NULL;
  int pipefd[2], status;
  pid_t pid;
  char ch;
  gint64 t0;

  g_assert_cmpint (pipe (pipefd), ==, 0);
  pid = fork ();
  if (pid == 0) {
    VzWriter *cw = NULL;
    if (vz_writer_create (name, &c, &cw) != VZ_OK)
      _exit (1);
    if (write (pipefd[1], "x", 1) != 1)
      _exit (1);
    pause ();
    _exit (0);
  }
  g_assert_cmpint (read (pipefd[0], &ch, 1), ==, 1);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_check_writer (r), ==, VZ_OK);
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  /* No frame will ever wake us: the liveness check must. */
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (vz_reader_wait (r, 0, -1), ==, VZ_ERR_GONE);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 1000000);
  vz_reader_close (r);
  close (pipefd[0]);
  close (pipefd[1]);
  {
    gchar *shm = g_strdup_printf ("/%s", name);
    shm_unlink (shm);
    g_free (shm);
  }
  g_free (name);
}

static void
test_replaced_segment_is_gone (void)
{
  gchar *name = unique_name ("replaced");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *old = make_writer (name, 8, 8, VZ_FORMAT_RGBA), *newer;
  VzReader *r = NULL;

  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  shm_unlink (shm);
  /* Unlinked but its renderer is alive: still usable. */
  g_assert_cmpint (vz_reader_check_writer (r), ==, VZ_OK);
  newer = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  /* The name now denotes another segment: this one is history. */
  g_assert_cmpint (vz_reader_check_writer (r), ==, VZ_ERR_GONE);
  g_assert_nonnull (strstr (vz_last_error (), "replaced"));
  vz_reader_close (r);
  vz_writer_close (old);
  vz_writer_close (newer);
  g_free (shm);
  g_free (name);
}

static void
test_several_readers (void)
{
  gchar *name = unique_name ("readers");
  VzWriter *w = make_writer (name, 32, 32, VZ_FORMAT_BGRA);
  VzReader *r[4];
  VzFrame f, p;
  guint8 out[32 * 32 * 4];

  for (int i = 0; i < 4; i++)
    g_assert_cmpint (vz_reader_open (name, 0, &r[i]), ==, VZ_OK);
  for (int n = 1; n <= 10; n++) {
    g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
    memset (f.data, n, (gsize) f.stride * f.height);
    g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
    for (int i = 0; i < 4; i++) {
      g_assert_cmpint (vz_reader_wait (r[i], n - 1, 0), ==, VZ_OK);
      g_assert_cmpint (vz_reader_peek (r[i], &p), ==, VZ_OK);
      g_assert_cmpuint (p.frame_number, ==, n);
      g_assert_cmpint (vz_reader_copy (r[i], &p, out, 128, 0), ==, VZ_OK);
      g_assert_cmpuint (out[0], ==, n);
      g_assert_cmpuint (out[sizeof out - 1], ==, n);
    }
  }
  for (int i = 0; i < 4; i++)
    vz_reader_close (r[i]);
  vz_writer_close (w);
  g_free (name);
}

static void
test_info (void)
{
  gchar *name = unique_name ("info");
  VzWriterConfig c = {.max_width = 100,.max_height = 50,.format =
        VZ_FORMAT_RGB,.slot_count = 5,.event_lanes = 3,.lane_capacity = 64
  };
  VzWriter *w = NULL;
  VzReader *r = NULL;
  VzSegmentInfo info;

  g_assert_cmpint (vz_writer_create (name, &c, &w), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  vz_reader_get_info (r, &info);
  g_assert_cmpuint (info.max_width, ==, 100);
  g_assert_cmpuint (info.max_height, ==, 50);
  g_assert_cmpint (info.default_format, ==, VZ_FORMAT_RGB);
  g_assert_cmpuint (info.slot_count, ==, 5);
  g_assert_cmpuint (info.slot_size, ==, 16384);      /* 300*50 -> pages */
  g_assert_cmpuint (info.writer_pid, ==, getpid ());
  g_assert_cmpuint (info.event_lanes, ==, 3);
  g_assert_cmpuint (info.lane_capacity, ==, 64);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

/* The writer steers clear of a slot a reader leased, and falls back to
 * overwriting when every other slot is leased: it never waits. */
static void
test_writer_avoids_leased_slot (void)
{
  gchar *name = unique_name ("lease");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *w = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  int fd = shm_open (shm, O_RDWR, 0);
  VzHeader *hdr;
  VzFrame f;

  g_assert_cmpint (fd, >=, 0);
  hdr = mmap (NULL, VZ_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
      0);
  g_assert_true (hdr != MAP_FAILED);
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, 0);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  /* Slot 1 would be next; a reader holds it. */
  hdr->slot_lease_ns[1] = vz_monotonic_ns () + 10 * 1000000000ull;
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, 2);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  /* Now 0 is free again. */
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, 0);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  /* Both others leased: overwrite the next one rather than wait. */
  hdr->slot_lease_ns[2] = vz_monotonic_ns () + 10 * 1000000000ull;
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, 1);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  /* An expired lease (a reader that died mid-copy) pins nothing. */
  hdr->slot_lease_ns[2] = vz_monotonic_ns () - 1;
  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpuint (f.slot, ==, 2);
  vz_writer_cancel (w, &f);
  munmap (hdr, VZ_HEADER_SIZE);
  close (fd);
  vz_writer_close (w);
  g_free (shm);
  g_free (name);
}

/* A reader that leases (opened with VZ_READER_EVENTS) gives the lease back
 * after its copy. */
static void
test_reader_lease_released (void)
{
  gchar *name = unique_name ("lease-rel");
  VzWriter *w = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  VzFrame f, p;
  guint8 out[8 * 8 * 4];
  gchar *shm = g_strdup_printf ("/%s", name);
  int fd = shm_open (shm, O_RDONLY, 0);
  const VzHeader *hdr = mmap (NULL, VZ_HEADER_SIZE, PROT_READ, MAP_SHARED,
      fd, 0);

  g_assert_cmpint (vz_writer_acquire (w, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (w, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, VZ_READER_EVENTS, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpint (vz_reader_copy (r, &p, out, 32, 0), ==, VZ_OK);
  g_assert_cmpuint (hdr->slot_lease_ns[p.slot], ==, 0);
  vz_reader_close (r);
  munmap ((void *) hdr, VZ_HEADER_SIZE);
  close (fd);
  vz_writer_close (w);
  g_free (shm);
  g_free (name);
}

/* ---- vz_reader_read: a function over the pixels in place ---- */

/* What a read function saw, for the tests to check afterwards. */
typedef struct
{
  guint calls;
  ptrdiff_t stride;
  VzFrame frame;
  guint8 rows[64 * 64 * 4];     /* the rows it read, top first */
  int result;                   /* what it returns */
  VzWriter *publish_in_call;    /* publish this many frames meanwhile */
  guint publishes;
} ReadSeen;

static int
read_rows (const void *pixels, ptrdiff_t stride, const VzFrame * f,
    void *user)
{
  ReadSeen *seen = user;
  gsize row = (gsize) f->width * vz_format_bytes_per_pixel (f->format);

  seen->calls++;
  seen->stride = stride;
  seen->frame = *f;
  g_assert_cmpuint (row * f->height, <=, sizeof seen->rows);
  for (guint y = 0; y < f->height; y++)
    memcpy (seen->rows + y * row, (const guint8 *) pixels
        + (ptrdiff_t) y * stride, row);
  /* The writer carries on meanwhile (what a concurrent renderer does
   * while a slow conversion runs). */
  for (guint i = 0; i < seen->publishes; i++) {
    VzFrame w;
    g_assert_cmpint (vz_writer_acquire (seen->publish_in_call, &w), ==,
        VZ_OK);
    memset (w.data, 0xee, (gsize) w.stride * w.height);
    g_assert_cmpint (vz_writer_publish (seen->publish_in_call, &w, 0, 0), ==,
        VZ_OK);
  }
  return seen->result;
}

static void
test_read_in_place (void)
{
  gchar *name = unique_name ("read");
  guint w = 37, h = 21;         /* odd: a padded stride */
  VzWriter *wr = make_writer (name, w, h, VZ_FORMAT_RGB);
  VzReader *r = NULL;
  VzFrame f, p;
  ReadSeen *seen = g_new0 (ReadSeen, 1);

  g_assert_cmpint (vz_writer_acquire (wr, &f), ==, VZ_OK);
  g_assert_cmpuint (f.stride, >, w * 3);
  fill_pattern (f.data, w, h, f.stride, 3, 11);
  g_assert_cmpint (vz_writer_publish (wr, &f, 77, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);

  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==, VZ_OK);
  g_assert_cmpuint (seen->calls, ==, 1);
  g_assert_cmpint (seen->stride, ==, (ptrdiff_t) f.stride);
  g_assert_cmpuint (seen->frame.width, ==, w);
  g_assert_cmpuint (seen->frame.height, ==, h);
  g_assert_cmpuint (seen->frame.frame_number, ==, 1);
  g_assert_cmpuint (seen->frame.timestamp_ns, ==, 77);
  g_assert_null (seen->frame.data);
  for (guint y = 0; y < h; y++)
    g_assert_cmpmem (seen->rows + y * w * 3, w * 3,
        (guint8 *) f.data + (gsize) y * f.stride, w * 3);

  /* The function's own result comes back when the frame held. */
  seen->result = VZ_ERR_STATE;
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==,
      VZ_ERR_STATE);
  g_assert_cmpuint (seen->calls, ==, 2);
  g_assert_cmpint (vz_reader_read (r, &p, 0, NULL, seen), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpint (vz_reader_read (r, NULL, 0, read_rows, seen), ==,
      VZ_ERR_INVALID_ARGUMENT);
  g_assert_cmpuint (seen->calls, ==, 2);
  vz_reader_close (r);
  vz_writer_close (wr);
  g_free (seen);
  g_free (name);
}

/* Bottom-up frames: with VZ_COPY_TOP_DOWN row 0 is the picture's top (the
 * slot's last row) and the stride negative; without, the rows as
 * stored. */
static void
test_read_bottom_up (void)
{
  gchar *name = unique_name ("read-flip");
  guint w = 5, h = 7;
  VzWriter *wr = make_writer (name, w, h, VZ_FORMAT_BGRA);
  VzReader *r = NULL;
  VzFrame f, p;
  ReadSeen *seen = g_new0 (ReadSeen, 1);

  g_assert_cmpint (vz_writer_acquire (wr, &f), ==, VZ_OK);
  for (guint y = 0; y < h; y++)
    memset ((guint8 *) f.data + y * f.stride, (int) (y + 1), w * 4);
  g_assert_cmpint (vz_writer_publish (wr, &f, 0, VZ_FRAME_BOTTOM_UP), ==,
      VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpint (vz_reader_read (r, &p, VZ_COPY_TOP_DOWN, read_rows, seen),
      ==, VZ_OK);
  g_assert_cmpint (seen->stride, ==, -(ptrdiff_t) f.stride);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w * 4; x++)
      g_assert_cmpuint (seen->rows[y * w * 4 + x], ==, h - y);
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==, VZ_OK);
  g_assert_cmpint (seen->stride, ==, (ptrdiff_t) f.stride);
  for (guint y = 0; y < h; y++)
    g_assert_cmpuint (seen->rows[y * w * 4], ==, y + 1);
  vz_reader_close (r);
  vz_writer_close (wr);
  g_free (seen);
  g_free (name);
}

/* The writer reuses the slot while the function runs: VZ_ERR_TORN, the
 * function's result discarded. A leasing reader's slot is avoided by the
 * same writer, so the same read then holds. */
static void
test_read_torn (void)
{
  gchar *name = unique_name ("read-torn");
  VzWriter *wr = make_writer (name, 16, 16, VZ_FORMAT_RGBA);
  VzReader *r = NULL, *leasing = NULL;
  VzFrame f, p;
  ReadSeen *seen = g_new0 (ReadSeen, 1);

  g_assert_cmpint (vz_writer_acquire (wr, &f), ==, VZ_OK);
  memset (f.data, 0x11, (gsize) f.stride * f.height);
  g_assert_cmpint (vz_writer_publish (wr, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, VZ_READER_EVENTS, &leasing), ==,
      VZ_OK);

  /* Three slots: three publishes go round to the slot being read. */
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  seen->publish_in_call = wr;
  seen->publishes = 3;
  seen->result = VZ_ERR_STATE;  /* not what comes back */
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==,
      VZ_ERR_TORN);
  g_assert_cmpuint (seen->calls, ==, 1);
  /* A frame already replaced: the function is not even called. */
  seen->publishes = 0;
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==,
      VZ_ERR_TORN);
  g_assert_cmpuint (seen->calls, ==, 1);
  /* Peeking again gives the newest, which reads fine. */
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpuint (p.frame_number, ==, 4);
  seen->result = VZ_OK;
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==, VZ_OK);
  g_assert_cmpuint (seen->rows[0], ==, 0xee);

  /* Leased: the writer's three publishes go to the two other slots. */
  g_assert_cmpint (vz_reader_peek (leasing, &p), ==, VZ_OK);
  seen->publishes = 3;
  g_assert_cmpint (vz_reader_read (leasing, &p, 0, read_rows, seen), ==,
      VZ_OK);
  g_assert_cmpint (vz_reader_peek (leasing, &f), ==, VZ_OK);
  g_assert_cmpuint (f.frame_number, ==, p.frame_number + 3);
  g_assert_cmpuint (f.slot, !=, p.slot);
  vz_reader_close (leasing);
  vz_reader_close (r);
  vz_writer_close (wr);
  g_free (seen);
  g_free (name);
}

/* A real concurrent writer (a thread) rewriting the ring while a reader's
 * function reads slowly: every frame is one byte value throughout, so a
 * read that mixed two frames shows; each such read must be VZ_ERR_TORN. */
typedef struct
{
  VzWriter *w;
  gint stop;
} BusyWriter;

static gpointer
busy_writer (gpointer data)
{
  BusyWriter *bw = data;

  while (!g_atomic_int_get (&bw->stop)) {
    VzFrame f;
    g_assert_cmpint (vz_writer_acquire (bw->w, &f), ==, VZ_OK);
    /* The frame's number-to-be, as its every byte. */
    memset (f.data, (int) ((vz_monotonic_ns () / 1000) & 0xff),
        (gsize) f.stride * f.height);
    g_assert_cmpint (vz_writer_publish (bw->w, &f, 0, 0), ==, VZ_OK);
    g_usleep (50);
  }
  return NULL;
}

typedef struct
{
  gboolean slow;
  gboolean uniform;
} UniformCheck;

static int
check_uniform (const void *pixels, ptrdiff_t stride, const VzFrame * f,
    void *user)
{
  UniformCheck *c = user;
  const guint8 *first = pixels;
  const guint8 value = first[0];        /* read once: it may change */
  gsize row = (gsize) f->width * 4;

  c->uniform = TRUE;
  for (guint y = 0; y < f->height; y++) {
    const guint8 *p = first + (ptrdiff_t) y * stride;
    if (c->slow && y == f->height / 2)
      g_usleep (2000);          /* the writer goes round meanwhile */
    for (gsize x = 0; x < row; x++)
      if (p[x] != value)
        c->uniform = FALSE;
  }
  return VZ_OK;
}

static void
test_read_torn_concurrent (void)
{
  gchar *name = unique_name ("read-busy");
  BusyWriter bw = { make_writer (name, 64, 64, VZ_FORMAT_RGBA), 0 };
  VzReader *r = NULL;
  GThread *t;
  guint ok = 0, torn = 0, mixed_ok = 0, mixed_torn = 0, n = 0;
  gint64 end;

  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  t = g_thread_new ("busy-writer", busy_writer, &bw);
  g_assert_cmpint (vz_reader_wait (r, 0, 5 * G_USEC_PER_SEC * 1000ll), ==,
      VZ_OK);
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((ok < 50 || torn < 50) && g_get_monotonic_time () < end) {
    UniformCheck c = { (n++ % 2) == 1, TRUE };
    VzFrame p;
    int rc = vz_reader_peek (r, &p);

    if (rc == VZ_ERR_TORN)
      continue;
    g_assert_cmpint (rc, ==, VZ_OK);
    rc = vz_reader_read (r, &p, 0, check_uniform, &c);
    if (rc == VZ_OK) {
      ok++;
      mixed_ok += !c.uniform;
    } else {
      g_assert_cmpint (rc, ==, VZ_ERR_TORN);
      torn++;
      mixed_torn += !c.uniform;
    }
  }
  g_atomic_int_set (&bw.stop, 1);
  g_thread_join (t);
  g_test_message ("concurrent writer: %u reads held, %u torn (%u of them "
      "seen mixed by the function)", ok, torn, mixed_torn);
  g_assert_cmpuint (mixed_ok, ==, 0);
  g_assert_cmpuint (ok, >=, 50);
  g_assert_cmpuint (torn, >=, 50);
  /* The function did see mixed frames: what the check is for. */
  g_assert_cmpuint (mixed_torn, >, 0);
  vz_reader_close (r);
  vz_writer_close (bw.w);
  g_free (name);
}

/* Values a hostile writer (or a careless caller) puts in a frame's
 * description never reach the function: refused before it runs. A
 * description that fills the slot exactly is read to its last byte. */
static void
test_read_hostile (void)
{
  gchar *name = unique_name ("read-hostile");
  gchar *shm = g_strdup_printf ("/%s", name);
  VzWriter *wr = make_writer (name, 8, 8, VZ_FORMAT_RGBA);
  VzReader *r = NULL;
  int fd = shm_open (shm, O_RDWR, 0);
  VzHeader *hdr;
  volatile VzSlotDesc *d;
  VzSegmentInfo info;
  VzFrame f, p, bad;
  ReadSeen *seen = g_new0 (ReadSeen, 1);
  guint32 tall;

  g_assert_cmpint (fd, >=, 0);
  hdr = mmap (NULL, VZ_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
      0);
  g_assert_true (hdr != MAP_FAILED);
  g_assert_cmpint (vz_writer_acquire (wr, &f), ==, VZ_OK);
  g_assert_cmpint (vz_writer_publish (wr, &f, 0, 0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_OK);
  vz_reader_get_info (r, &info);
  d = &hdr->slots[f.slot];

  /* The writer claims a stride that runs past the slot. */
  tall = (guint32) (info.slot_size / 8);
  d->stride = tall + 4;
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_ERR_BAD_FRAME);
  /* Exactly the slot: rows tall bytes apart, the last ending at the
   * slot's end when the frame is as wide as a row. */
  d->stride = tall;
  d->width = 8;
  memset (f.data, 0, info.slot_size);
  for (guint y = 0; y < 8; y++)
    ((guint8 *) f.data)[(gsize) y * tall] = (guint8) (0xa0 + y);
  ((guint8 *) f.data)[7 * (gsize) tall + 31] = 0x5f;
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpint (vz_reader_read (r, &p, 0, read_rows, seen), ==, VZ_OK);
  g_assert_cmpint (seen->stride, ==, (ptrdiff_t) tall);
  for (guint y = 0; y < 8; y++)
    g_assert_cmpuint (seen->rows[y * 32], ==, 0xa0 + y);
  g_assert_cmpuint (seen->rows[7 * 32 + 31], ==, 0x5f);
  d->flags = VZ_FRAME_BOTTOM_UP;
  g_assert_cmpint (vz_reader_peek (r, &p), ==, VZ_OK);
  g_assert_cmpint (vz_reader_read (r, &p, VZ_COPY_TOP_DOWN, read_rows, seen),
      ==, VZ_OK);
  g_assert_cmpint (seen->stride, ==, -(ptrdiff_t) tall);
  g_assert_cmpuint (seen->rows[0], ==, 0xa7);
  g_assert_cmpuint (seen->rows[31], ==, 0x5f);
  g_assert_cmpuint (seen->rows[7 * 32], ==, 0xa0);
  g_assert_cmpuint (seen->calls, ==, 2);

  /* A description changed after the peek, or forged by the caller, is
   * checked again by the read: the function never runs with it. */
  bad = p;
  bad.slot = info.slot_count;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  bad = p;
  bad.stride = (guint32) info.slot_size;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  bad = p;
  bad.height = 9;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  bad = p;
  bad.width = 0;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  bad = p;
  bad.format = (VzFormat) 99;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  bad = p;
  bad.flags = 0x80;
  g_assert_cmpint (vz_reader_read (r, &bad, 0, read_rows, seen), ==,
      VZ_ERR_BAD_FRAME);
  g_assert_nonnull (strstr (vz_last_error (), "flags"));
  g_assert_cmpuint (seen->calls, ==, 2);

  munmap (hdr, VZ_HEADER_SIZE);
  close (fd);
  vz_reader_close (r);
  vz_writer_close (wr);
  g_free (seen);
  g_free (shm);
  g_free (name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/formats-roundtrip", test_formats_roundtrip);
  g_test_add_func ("/segment/bad-arguments", test_bad_arguments);
  g_test_add_func ("/segment/mode-and-unlink", test_mode_and_unlink);
  g_test_add_func ("/segment/busy-and-leftover", test_busy_and_leftover);
  g_test_add_func ("/segment/foreign-object-kept", test_foreign_object_kept);
  g_test_add_func ("/segment/close-keeps-newer",
      test_close_keeps_newer_segment);
  g_test_add_func ("/segment/writer-state-errors", test_writer_state_errors);
  g_test_add_func ("/segment/resize", test_resize);
  g_test_add_func ("/segment/flip", test_flip);
  g_test_add_func ("/segment/torn-detected", test_torn_detected);
  g_test_add_func ("/segment/stalled-writer-backoff",
      test_stalled_writer_backoff);
  g_test_add_func ("/segment/wait", test_wait);
  g_test_add_func ("/segment/writer-death", test_writer_death_seen_by_waiter);
  g_test_add_func ("/segment/replaced", test_replaced_segment_is_gone);
  g_test_add_func ("/segment/several-readers", test_several_readers);
  g_test_add_func ("/segment/info", test_info);
  g_test_add_func ("/segment/writer-avoids-leased-slot",
      test_writer_avoids_leased_slot);
  g_test_add_func ("/segment/read-in-place", test_read_in_place);
  g_test_add_func ("/segment/read-bottom-up", test_read_bottom_up);
  g_test_add_func ("/segment/read-torn", test_read_torn);
  g_test_add_func ("/segment/read-torn-concurrent",
      test_read_torn_concurrent);
  g_test_add_func ("/segment/read-hostile", test_read_hostile);
  g_test_add_func ("/segment/reader-lease-released",
      test_reader_lease_released);
  return g_test_run ();
}
