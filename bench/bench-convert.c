/* bench-convert: what shmframesrc's I420 output costs, side by side in one
 * run with
 *   (a) a plain memcpy of the same RGBA frame out of its shared slot,
 *   (b) shmframesrc pushing RGBA (its one copy),
 *   (c) shmframesrc pushing I420 (converted in the element, libyuv),
 *   (d) shmframesrc ! videoconvert to I420 (what the server ran),
 * and libyuv's RGBA -> I420 straight from the slot (no copy before it),
 * at 1920x1080 and 1280x720, with the ratios against the aims: I420 out of
 * shmframesrc at most 1.5x the memcpy and 0.3x the videoconvert path.
 *
 * A writer thread renders (copies one of two pictures into the slot) and
 * publishes FRAMES frames at RATE fps; a reader in this process takes
 * each. CPU per frame is the reader's streaming thread
 * (CLOCK_THREAD_CPUTIME_ID between buffers at fakesink; videoconvert runs
 * in that thread), medians over ROUNDS rounds.
 *
 *   bench-convert [--sizes WxH,WxH] [--frames N] [--rate FPS]
 *
 * Not a test: it prints figures and ratios; docs/performance.md keeps
 * them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <gst/gst.h>
#include <gst/video/video.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vizstream.h>

#ifdef HAVE_LIBYUV
#include <libyuv/convert.h>
#endif

#define ROUNDS 3
#define WARMUP_FRAMES 10
#define MAX_SLOTS 16

static guint width, height, frames = 180, rate = 60;

static guint64
thread_cpu_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* ---- the renderer (a thread) ---- */

typedef struct
{
  const gchar *segment;
  VzWriter *writer;
  guint8 *pictures[2];
  guint8 *slot_data[MAX_SLOTS]; /* for the memcpy and libyuv figures */
  GThread *thread;
} Renderer;

/* A scene-like picture: smooth gradients with some detail. */
static void
draw (guint8 * p, guint seed)
{
  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++) {
      guint8 *px = p + ((gsize) y * width + x) * 4;
      px[0] = (guint8) (x / 8 + seed);
      px[1] = (guint8) (y / 4 + ((x ^ y) & 15));
      px[2] = (guint8) ((x + y) / 16 - seed);
      px[3] = 0xff;
    }
}

static void
renderer_open (Renderer * r, const gchar * segment)
{
  VzWriterConfig c = {.max_width = width,.max_height = height,
    .format = VZ_FORMAT_RGBA
  };

  memset (r, 0, sizeof *r);
  r->segment = segment;
  for (int i = 0; i < 2; i++) {
    r->pictures[i] = g_malloc ((gsize) width * height * 4);
    draw (r->pictures[i], i * 40);
  }
  if (vz_writer_create (segment, &c, &r->writer) != VZ_OK)
    g_error ("cannot create segment: %s", vz_last_error ());
}

static gpointer
renderer_loop (gpointer data)
{
  Renderer *r = data;
  gsize size = (gsize) width * height * 4;
  guint64 next = vz_monotonic_ns ();

  g_usleep (300 * 1000);        /* the reader attaches */
  for (guint n = 0; n < frames + WARMUP_FRAMES; n++) {
    VzFrame f;
    struct timespec ts;

    vz_writer_acquire (r->writer, &f);
    /* Published below: the reader looks it up only after that. */
    if (f.slot < MAX_SLOTS)
      r->slot_data[f.slot] = f.data;
    memcpy (f.data, r->pictures[n & 1], size);
    vz_writer_publish (r->writer, &f, 0, 0);
    next += 1000000000ull / rate;
    ts.tv_sec = next / 1000000000u;
    ts.tv_nsec = next % 1000000000u;
    clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  return NULL;
}

static void
renderer_start (Renderer * r)
{
  r->thread = g_thread_new ("renderer", renderer_loop, r);
}

static void
renderer_close (Renderer * r)
{
  if (r->thread)
    g_thread_join (r->thread);
  vz_writer_close (r->writer);
  g_free (r->pictures[0]);
  g_free (r->pictures[1]);
}

/* ---- the readers ---- */

typedef struct
{
  guint64 cpu_first, cpu_last;
  guint count, seen;
} Probe;

static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Probe *p = data;

  /* The first frames pay for negotiation and allocation. */
  if (++p->seen <= WARMUP_FRAMES)
    return GST_PAD_PROBE_OK;
  if (p->count == 0)
    p->cpu_first = thread_cpu_ns ();
  p->cpu_last = thread_cpu_ns ();
  p->count++;
  return GST_PAD_PROBE_OK;
}

/* CPU per frame of the pipeline's streaming thread. */
static double
run_pipeline (const gchar * segment, const gchar * middle)
{
  Renderer r;
  Probe p = { 0 };
  gchar *desc = g_strdup_printf ("shmframesrc segment=%s ! %s ! "
      "fakesink name=sink sync=false", segment, middle);
  GstElement *pipeline, *sink;
  GstPad *pad;
  GError *err = NULL;

  renderer_open (&r, segment);
  pipeline = gst_parse_launch (desc, &err);
  if (pipeline == NULL)
    g_error ("%s: %s", desc, err->message);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &p, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  renderer_start (&r);
  g_thread_join (r.thread);
  r.thread = NULL;
  g_usleep (100 * 1000);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  renderer_close (&r);
  g_free (desc);
  if (p.count < frames / 2)
    g_printerr ("warning: %s took only %u of %u frames\n", middle, p.count,
        frames);
  return p.count > 1 ? (p.cpu_last - p.cpu_first) / 1e6 / (p.count - 1) : 0;
}

enum
{ DIRECT_MEMCPY, DIRECT_LIBYUV };

/* A plain memcpy (or libyuv's conversion) of each frame straight out of
 * its slot, on the same wake-ups, with nothing around it. */
static double
run_direct (const gchar * segment, int what)
{
  Renderer r;
  VzReader *reader = NULL;
  gsize size = (gsize) width * height * 4;
  GstVideoInfo info;
  guint8 *dst;
  guint64 last = 0, cpu = 0;
  guint n = 0;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, width, height);
  dst = g_malloc (MAX (size, info.size));
  memset (dst, 0, MAX (size, info.size));
  renderer_open (&r, segment);
  if (vz_reader_open (segment, 0, &reader) != VZ_OK)
    g_error ("cannot open segment: %s", vz_last_error ());
  renderer_start (&r);
  for (;;) {
    VzFrame f;
    const guint8 *src;
    guint64 t0;

    if (vz_reader_wait (reader, last, 1000000000ll) != VZ_OK
        || vz_reader_peek (reader, &f) != VZ_OK)
      break;
    src = f.slot < MAX_SLOTS ? r.slot_data[f.slot] : NULL;
    if (src == NULL)
      g_error ("unknown slot %u", f.slot);
    t0 = thread_cpu_ns ();
    if (what == DIRECT_MEMCPY)
      memcpy (dst, src, size);
#ifdef HAVE_LIBYUV
    else
      ABGRToI420 (src, f.stride, dst + info.offset[0], info.stride[0],
          dst + info.offset[1], info.stride[1], dst + info.offset[2],
          info.stride[2], width, height);
#endif
    if (++n > WARMUP_FRAMES)
      cpu += thread_cpu_ns () - t0;
    last = f.frame_number;
  }
  vz_reader_close (reader);
  renderer_close (&r);
  g_free (dst);
  return n > WARMUP_FRAMES ? cpu / 1e6 / (n - WARMUP_FRAMES) : 0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v)
{
  qsort (v, ROUNDS, sizeof (double), cmp_double);
  return v[ROUNDS / 2];
}

enum
{ MEMCPY, LIBYUV, RGBA, FUSED, VIDEOCONVERT, N_PATHS };

static const char *path_names[N_PATHS] = {
  "memcpy of the same RGBA frame",
  "libyuv RGBA->I420 straight from the slot",
  "shmframesrc -> RGBA (its one copy)",
  "shmframesrc -> I420 (converted in the element)",
  "shmframesrc ! videoconvert -> I420",
};

static void
bench_size (const gchar * segment)
{
  double runs[N_PATHS][ROUNDS], ms[N_PATHS];
  gboolean have_libyuv = FALSE;

#ifdef HAVE_LIBYUV
  have_libyuv = TRUE;
#endif
  printf ("\n%ux%u RGBA (%.1f MB) -> I420, %u frames at %u fps per path, "
      "%d rounds (medians)\n", width, height, width * height * 4 / 1e6,
      frames, rate, ROUNDS);
  for (int round = 0; round < ROUNDS; round++) {
    runs[MEMCPY][round] = run_direct (segment, DIRECT_MEMCPY);
    runs[LIBYUV][round] = have_libyuv ?
        run_direct (segment, DIRECT_LIBYUV) : 0;
    runs[RGBA][round] = run_pipeline (segment, "video/x-raw,format=RGBA");
    runs[FUSED][round] = run_pipeline (segment,
        "video/x-raw,format=I420,colorimetry=bt601");
    runs[VIDEOCONVERT][round] = run_pipeline (segment,
        "video/x-raw,format=RGBA ! videoconvert ! "
        "video/x-raw,format=I420,colorimetry=bt601");
  }
  for (int i = 0; i < N_PATHS; i++)
    ms[i] = median (runs[i]);

  printf ("  %-48s %s\n", "path", "reader CPU per frame");
  for (int i = 0; i < N_PATHS; i++) {
    if (i == LIBYUV && !have_libyuv)
      printf ("  %-48s (not built: no libyuv)\n", path_names[i]);
    else
      printf ("  %-48s %7.3f ms\n", path_names[i], ms[i]);
  }
  printf ("  ratios:\n");
  printf ("    shmframesrc I420 / memcpy             = %.2f  (aim <= 1.5: "
      "%s)\n", ms[FUSED] / ms[MEMCPY], ms[FUSED] <= 1.5 * ms[MEMCPY] ?
      "met" : "missed");
  printf ("    shmframesrc I420 / videoconvert path  = %.2f  (aim <= 0.3: "
      "%s)\n", ms[FUSED] / ms[VIDEOCONVERT],
      ms[FUSED] <= 0.3 * ms[VIDEOCONVERT] ? "met" : "missed");
  printf ("    shmframesrc RGBA / memcpy             = %.2f\n",
      ms[RGBA] / ms[MEMCPY]);
  if (have_libyuv)
    printf ("    libyuv from the slot / memcpy         = %.2f  (the "
        "conversion alone, no copy before it)\n", ms[LIBYUV] / ms[MEMCPY]);
}

int
main (int argc, char **argv)
{
  const gchar *sizes = "1920x1080,1280x720";
  gchar *segment, **list;

  for (int i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--sizes") && i + 1 < argc)
      sizes = argv[++i];
    else if (g_str_equal (argv[i], "--frames") && i + 1 < argc)
      frames = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--rate") && i + 1 < argc)
      rate = atoi (argv[++i]);
    else {
      fprintf (stderr, "bench-convert: [--sizes WxH,WxH] [--frames N] "
          "[--rate FPS]\n");
      return 2;
    }
  }
  gst_init (&argc, &argv);
  segment = g_strdup_printf ("vz-bench-convert-%d", (int) getpid ());
  list = g_strsplit (sizes, ",", -1);
  for (guint i = 0; list[i]; i++) {
    if (sscanf (list[i], "%ux%u", &width, &height) != 2 || width < 16
        || height < 16) {
      fprintf (stderr, "bench-convert: --sizes wants WxH,WxH, not '%s'\n",
          list[i]);
      return 2;
    }
    bench_size (segment);
  }
  g_strfreev (list);
  g_free (segment);
  return 0;
}
