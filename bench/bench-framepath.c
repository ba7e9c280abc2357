/* bench-framepath: the cost of moving a frame from a renderer's publish to
 * a buffer leaving the source element, side by side in one run with
 *   (a) a plain memcpy of the same frame,
 *   (b) GStreamer's shmsink/shmsrc pair on the same frames,
 * and the publish-to-push latency (p50, p99).
 *
 * Each path runs a writer process (this program re-executed) publishing
 * FRAMES frames at RATE fps, and a reader pipeline in this process ending
 * in fakesink; a pad probe there reads the publish time the writer stamped
 * into the first 8 bytes of the frame. CPU per frame is measured, not
 * wall time: the reader's streaming thread (CLOCK_THREAD_CPUTIME_ID, from
 * the probe) and the writer process (getrusage of the child).
 *
 *   bench-framepath [--size WxH] [--frames N] [--rate FPS]
 *
 * Not a test: it prints figures and ratios; docs/performance.md keeps
 * them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vizstream.h>
#include "vz-protocol.h"

#include <fcntl.h>
#include <sys/mman.h>

static guint width = 1920, height = 1080, frames = 300, rate = 60;

static guint64
mono_ns (void)
{
  return vz_monotonic_ns ();
}

static guint64
thread_cpu_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

static void
fill_frame (guint8 * data, gsize size, guint seed)
{
  for (gsize i = 0; i < size; i += 4) {
    data[i] = (guint8) (i >> 4) + seed;
    data[i + 1] = (guint8) (i >> 12);
    data[i + 2] = (guint8) (i >> 20) ^ seed;
    data[i + 3] = 0xff;
  }
}

static guint64
process_cpu_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* The writer's CPU over its publish loop only (not start-up and frame
 * preparation), for the parent on stdout. */
static void
report_writer_cpu (guint64 cpu_ns)
{
  printf ("%" G_GUINT64_FORMAT "\n", cpu_ns);
  fflush (stdout);
}

static void
sleep_until (guint64 t)
{
  struct timespec ts = {.tv_sec = t / 1000000000u,.tv_nsec = t % 1000000000u
  };
  clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* ---- writers (child processes) ---- */

/* mode "place": the renderer renders into the slot (stamps it only; the
 * slots were filled once): the zero-copy path. mode "copy": the renderer
 * has its own frame and publishes a copy of it. */
static int
writer_vizstream (const char *segment, gboolean in_place)
{
  VzWriterConfig c = {.max_width = width,.max_height = height,.format =
        VZ_FORMAT_RGBA
  };
  VzWriter *w = NULL;
  gsize size = (gsize) width * height * 4;
  guint8 *src[2] = { g_malloc (size), g_malloc (size) };
  guint64 next, cpu;

  fill_frame (src[0], size, 1);
  fill_frame (src[1], size, 2);
  if (vz_writer_create (segment, &c, &w) != VZ_OK) {
    fprintf (stderr, "writer: %s\n", vz_last_error ());
    return 1;
  }
  /* Fill every slot once (as a renderer's first frames would). */
  for (int i = 0; i < 3; i++) {
    VzFrame f;
    vz_writer_acquire (w, &f);
    memcpy (f.data, src[i & 1], size);
    vz_writer_cancel (w, &f);
  }
  g_usleep (300 * 1000);        /* the reader attaches */
  next = mono_ns ();
  cpu = process_cpu_ns ();
  for (guint n = 0; n < frames; n++) {
    guint64 now;
    if (in_place) {
      VzFrame f;
      vz_writer_acquire (w, &f);
      now = mono_ns ();
      memcpy (f.data, &now, 8);
      vz_writer_publish (w, &f, 0, 0);
    } else {
      now = mono_ns ();
      memcpy (src[n & 1], &now, 8);
      vz_writer_publish_copy (w, src[n & 1], (gsize) width * 4, 0, 0, NULL);
    }
    next += 1000000000ull / rate;
    sleep_until (next);
  }
  report_writer_cpu (process_cpu_ns () - cpu);
  g_usleep (200 * 1000);
  vz_writer_close (w);
  return 0;
}

static int
writer_shmsink (const char *socket)
{
  gsize size = (gsize) width * height * 4;
  guint8 *src[2] = { g_malloc (size), g_malloc (size) };
  gchar *desc;
  GstElement *pipeline, *appsrc;
  guint64 next, cpu;

  gst_init (NULL, NULL);
  fill_frame (src[0], size, 1);
  fill_frame (src[1], size, 2);
  desc = g_strdup_printf ("appsrc name=src is-live=true format=time "
      "caps=video/x-raw,format=RGBA,width=%u,height=%u,framerate=0/1 ! "
      "shmsink socket-path=%s shm-size=%" G_GSIZE_FORMAT
      " wait-for-connection=true sync=false", width, height, socket,
      size * 6);
  pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  appsrc = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_usleep (300 * 1000);
  next = mono_ns ();
  cpu = process_cpu_ns ();
  for (guint n = 0; n < frames; n++) {
    guint64 now = mono_ns ();
    /* The renderer's own frame, wrapped without a copy; shmsink copies it
     * into its shared area. */
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        src[n & 1], size, 0, size, NULL, NULL);
    memcpy (src[n & 1], &now, 8);
    gst_app_src_push_buffer (GST_APP_SRC (appsrc), buf);
    next += 1000000000ull / rate;
    sleep_until (next);
  }
  /* shmsink copies in its own thread: count the whole process. */
  report_writer_cpu (process_cpu_ns () - cpu);
  g_usleep (300 * 1000);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (appsrc);
  gst_object_unref (pipeline);
  return 0;
}

/* ---- the reader side (this process) ---- */

typedef struct
{
  GArray *latency;              /* guint64 ns */
  guint64 cpu_first, cpu_last;
  guint count, seen;
} Probe;

#define WARMUP_FRAMES 10

static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Probe *p = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 stamp = 0, now = mono_ns ();

  /* The first frames pay for negotiation and allocation: steady state
   * only. */
  if (++p->seen <= WARMUP_FRAMES)
    return GST_PAD_PROBE_OK;
  gst_buffer_extract (buf, 0, &stamp, 8);
  if (stamp > 0 && stamp <= now) {
    guint64 lat = now - stamp;
    g_array_append_val (p->latency, lat);
  }
  if (p->count == 0)
    p->cpu_first = thread_cpu_ns ();
  p->cpu_last = thread_cpu_ns ();
  p->count++;
  return GST_PAD_PROBE_OK;
}

static gint
cmp_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

static pid_t
spawn_writer (const char *mode, const char *target, const char *w,
    const char *h, const char *f, const char *r, int *out)
{
  int fds[2];
  pid_t pid;

  if (pipe (fds) != 0)
    g_error ("pipe failed");
  pid = fork ();
  if (pid == 0) {
    dup2 (fds[1], 1);
    close (fds[0]);
    close (fds[1]);
    execl ("/proc/self/exe", "bench-framepath", "--writer", mode, target, w,
        h, f, r, (char *) NULL);
    _exit (127);
  }
  close (fds[1]);
  *out = fds[0];
  return pid;
}

static guint64
read_writer_cpu (int fd)
{
  char buf[64] = { 0 };
  ssize_t n, got = 0;
  while (got < (ssize_t) sizeof buf - 1
      && (n = read (fd, buf + got, sizeof buf - 1 - got)) > 0)
    got += n;
  close (fd);
  return g_ascii_strtoull (buf, NULL, 10);
}

typedef struct
{
  const char *name;
  double reader_ms, writer_ms, p50_ms, p99_ms;
  guint frames;
} Result;

static Result
run_path (const char *name, const char *writer_mode, const char *pipeline_desc,
    const char *target)
{
  Probe p = { g_array_new (FALSE, FALSE, sizeof (guint64)), 0, 0, 0, 0 };
  Result r = { name, 0, 0, 0, 0, 0 };
  GstElement *pipeline;
  GstElement *sink;
  GstPad *pad;
  guint64 writer_cpu;
  int status, out;
  char wbuf[16], hbuf[16], fbuf[16], rbuf[16];
  pid_t pid;

  g_snprintf (wbuf, sizeof wbuf, "%u", width);
  g_snprintf (hbuf, sizeof hbuf, "%u", height);
  g_snprintf (fbuf, sizeof fbuf, "%u", frames);
  g_snprintf (rbuf, sizeof rbuf, "%u", rate);
  pid = spawn_writer (writer_mode, target, wbuf, hbuf, fbuf, rbuf, &out);
  if (g_str_equal (writer_mode, "shmsink"))
    g_usleep (150 * 1000);      /* shmsrc needs the socket to exist */

  pipeline = gst_parse_launch (pipeline_desc, NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &p, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  writer_cpu = read_writer_cpu (out);
  waitpid (pid, &status, 0);
  g_usleep (200 * 1000);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (pipeline);

  r.frames = p.count;
  if (p.count > 1)
    r.reader_ms = (p.cpu_last - p.cpu_first) / 1e6 / (p.count - 1);
  r.writer_ms = writer_cpu / 1e6 / frames;
  if (p.latency->len) {
    g_array_sort (p.latency, cmp_u64);
    r.p50_ms = g_array_index (p.latency, guint64, p.latency->len / 2) / 1e6;
    r.p99_ms = g_array_index (p.latency, guint64,
        (p.latency->len * 99) / 100) / 1e6;
  }
  g_array_free (p.latency, TRUE);
  return r;
}

/* Where the latency of the reference reader goes, per frame: the wake
 * (the writer's publish stamp to the reader running again after its
 * futex wait returns: scheduling) and the copy (wall time, so a copy
 * preempted half-way shows, and its CPU time: a copy slow in itself). */
typedef struct
{
  GArray *wake, *copy, *copy_cpu, *total;       /* ns */
  guint64 preempted;            /* copies with wall - CPU > 100 us */
} Tail;

static double
percentile_ms (GArray * a, guint pct)
{
  if (a->len == 0)
    return 0;
  g_array_sort (a, cmp_u64);
  return g_array_index (a, guint64, (a->len * pct) / 100) / 1e6;
}

/* The reference: a plain memcpy of the same frames, out of the same
 * shared slots, on the same wake-ups, with nothing around it. */
static double
memcpy_ms (const char *segment, Tail * tail)
{
  char wbuf[16], hbuf[16], fbuf[16], rbuf[16];
  VzReader *reader = NULL;
  VzHeader *hdr;
  const guint8 *base;
  gsize size = (gsize) width * height * 4;
  guint8 *dst = g_malloc (size);
  gchar *shm = g_strdup_printf ("/%s", segment);
  guint64 last = 0, cpu = 0;
  guint n = 0;
  int fd = -1, status, out;
  pid_t pid;

  g_snprintf (wbuf, sizeof wbuf, "%u", width);
  g_snprintf (hbuf, sizeof hbuf, "%u", height);
  g_snprintf (fbuf, sizeof fbuf, "%u", frames);
  g_snprintf (rbuf, sizeof rbuf, "%u", rate);
  memset (dst, 0, size);
  pid = spawn_writer ("place", segment, wbuf, hbuf, fbuf, rbuf, &out);
  while (vz_reader_open (segment, 0, &reader) != VZ_OK)
    g_usleep (1000);
  fd = shm_open (shm, O_RDONLY, 0);
  base = mmap (NULL, lseek (fd, 0, SEEK_END), PROT_READ, MAP_SHARED, fd, 0);
  hdr = (VzHeader *) base;
  for (;;) {
    VzFrame f;
    guint64 t0, woke;
    if (vz_reader_wait (reader, last, 2 * 1000000000ll) != VZ_OK
        || vz_reader_peek (reader, &f) != VZ_OK)
      break;
    woke = mono_ns ();
    t0 = thread_cpu_ns ();
    memcpy (dst, base + hdr->slots_offset + f.slot * hdr->slot_size, size);
    if (++n > WARMUP_FRAMES) {
      guint64 done = mono_ns (), stamp, copy_cpu = thread_cpu_ns () - t0;
      cpu += copy_cpu;
      memcpy (&stamp, dst, 8);
      if (stamp > 0 && stamp <= woke) {
        guint64 wake = woke - stamp, copy = done - woke, total = done - stamp;
        g_array_append_val (tail->wake, wake);
        g_array_append_val (tail->copy, copy);
        g_array_append_val (tail->copy_cpu, copy_cpu);
        g_array_append_val (tail->total, total);
        tail->preempted += copy > copy_cpu + 100000;
      }
    }
    last = f.frame_number;
  }
  read_writer_cpu (out);
  waitpid (pid, &status, 0);
  vz_reader_close (reader);
  close (fd);
  g_free (shm);
  g_free (dst);
  return n > WARMUP_FRAMES ? cpu / 1e6 / (n - WARMUP_FRAMES) : 0;
}

#define ROUNDS 3

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (const double *v, int n)
{
  double tmp[ROUNDS];
  memcpy (tmp, v, sizeof (double) * n);
  qsort (tmp, n, sizeof (double), cmp_double);
  return tmp[n / 2];
}

/* Each figure's median over the rounds. */
static Result
median_result (const Result * runs, int n)
{
  Result r = runs[0];
  double v[ROUNDS];
#define MED(field) \
  for (int i = 0; i < n; i++) v[i] = runs[i].field; \
  r.field = median (v, n);
  MED (reader_ms);
  MED (writer_ms);
  MED (p50_ms);
  MED (p99_ms);
#undef MED
  return r;
}

int
main (int argc, char **argv)
{
  gchar *segment, *socket, *desc_ours, *desc_shm;
  Result res[3];
  Tail tail;
  double mc;

  if (argc == 8 && g_str_equal (argv[1], "--writer")) {
    width = atoi (argv[4]);
    height = atoi (argv[5]);
    frames = atoi (argv[6]);
    rate = atoi (argv[7]);
    if (g_str_equal (argv[2], "shmsink"))
      return writer_shmsink (argv[3]);
    return writer_vizstream (argv[3], g_str_equal (argv[2], "place"));
  }
  for (int i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--size") && i + 1 < argc)
      sscanf (argv[++i], "%ux%u", &width, &height);
    else if (g_str_equal (argv[i], "--frames") && i + 1 < argc)
      frames = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--rate") && i + 1 < argc)
      rate = atoi (argv[++i]);
  }
  gst_init (&argc, &argv);

  segment = g_strdup_printf ("vz-bench-%d", (int) getpid ());
  socket = g_strdup_printf ("/tmp/vz-bench-%d.sock", (int) getpid ());
  desc_ours = g_strdup_printf ("shmframesrc segment=%s ! "
      "fakesink name=sink sync=false", segment);
  desc_shm = g_strdup_printf ("shmsrc socket-path=%s is-live=true ! "
      "video/x-raw,format=RGBA,width=%u,height=%u,framerate=0/1 ! "
      "fakesink name=sink sync=false", socket, width, height);

  printf ("frame path: %ux%u RGBA (%.1f MB), %u frames at %u fps per path, "
      "%d rounds (medians)\n", width, height, width * height * 4 / 1e6,
      frames, rate, ROUNDS);
  tail.wake = g_array_new (FALSE, FALSE, sizeof (guint64));
  tail.copy = g_array_new (FALSE, FALSE, sizeof (guint64));
  tail.total = g_array_new (FALSE, FALSE, sizeof (guint64));
  tail.copy_cpu = g_array_new (FALSE, FALSE, sizeof (guint64));
  tail.preempted = 0;
  {
    double mcs[ROUNDS];
    Result runs[3][ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
      mcs[round] = memcpy_ms (segment, &tail);
      runs[0][round] = run_path ("vizstream, rendered in place", "place",
          desc_ours, segment);
      runs[1][round] = run_path ("vizstream, publish_copy", "copy",
          desc_ours, segment);
      runs[2][round] = run_path ("shmsink -> shmsrc", "shmsink", desc_shm,
          socket);
      unlink (socket);
    }
    mc = median (mcs, ROUNDS);
    for (int i = 0; i < 3; i++)
      res[i] = median_result (runs[i], ROUNDS);
  }

  printf ("\n%-32s %10s %10s %10s %9s %9s %7s\n", "path", "reader", "writer",
      "total", "p50", "p99", "frames");
  printf ("%-32s %7.3f ms %10s %7.3f ms\n", "memcpy of the same frames", mc,
      "", mc);
  for (int i = 0; i < 3; i++)
    printf ("%-32s %7.3f ms %7.3f ms %7.3f ms %6.3f ms %6.3f ms %7u\n",
        res[i].name, res[i].reader_ms, res[i].writer_ms,
        res[i].reader_ms + res[i].writer_ms, res[i].p50_ms, res[i].p99_ms,
        res[i].frames);
  printf ("\nratios (CPU per frame):\n");
  printf ("  vizstream reader / memcpy              = %.2f\n",
      res[0].reader_ms / mc);
  printf ("  vizstream in place, total / memcpy     = %.2f\n",
      (res[0].reader_ms + res[0].writer_ms) / mc);
  printf ("  vizstream in place / shmsink-shmsrc    = %.2f (total)\n",
      (res[0].reader_ms + res[0].writer_ms) /
      (res[2].reader_ms + res[2].writer_ms));
  printf ("  vizstream publish_copy / shmsink-shmsrc = %.2f (total)\n",
      (res[1].reader_ms + res[1].writer_ms) /
      (res[2].reader_ms + res[2].writer_ms));
  printf ("  latency p50/p99: vizstream %.3f/%.3f ms, shmsink-shmsrc "
      "%.3f/%.3f ms\n", res[0].p50_ms, res[0].p99_ms, res[2].p50_ms,
      res[2].p99_ms);
  /* issue 18 item 6: p99 under 1 ms, or what the tail is made of (the
   * split below; docs/performance.md "What the p99 tail is made of") */
  printf ("  vizstream p99 %.3f ms (aim < 1 ms: %s; the memcpy reader's "
      "tail, split below, is the reference)\n", res[0].p99_ms,
      res[0].p99_ms < 1.0 ? "met" : "not met");
  /* Whether the tail is the wake or the copy: the reference reader's
   * frames of every round together. */
  printf ("\nthe memcpy reader's latency, split (all rounds, %u frames):\n",
      tail.total->len);
  printf ("  %-36s %9s %9s %9s\n", "", "p50", "p99", "max");
  {
    const char *names[] = { "publish -> reader running (wake)",
      "copy (wall)", "copy (CPU)", "publish -> copied (total)"
    };
    GArray *arrays[] = { tail.wake, tail.copy, tail.copy_cpu, tail.total };
    for (int i = 0; i < 4; i++) {
      double p50 = percentile_ms (arrays[i], 50);
      double p99 = percentile_ms (arrays[i], 99);
      double max = arrays[i]->len ? g_array_index (arrays[i], guint64,
          arrays[i]->len - 1) / 1e6 : 0;
      printf ("  %-36s %6.3f ms %6.3f ms %6.3f ms\n", names[i], p50, p99,
          max);
    }
    printf ("  copies preempted (wall > CPU + 0.1 ms): %" G_GUINT64_FORMAT
        " of %u\n", tail.preempted, tail.total->len);
    for (int i = 0; i < 4; i++)
      g_array_free (arrays[i], TRUE);
  }
  g_free (segment);
  g_free (socket);
  g_free (desc_ours);
  g_free (desc_shm);
  return 0;
}
