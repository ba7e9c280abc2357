/* vizstream-server: recording (vs-record.h).
 *
 * Threads: the queue's overrun signal and the appsink's callback run on
 * the main pipeline's streaming thread, the filesink probe on a writer's;
 * they touch only atomics and wake the main loop (rec->wake, a GSource
 * made ready from any thread). Everything else runs on the main loop:
 * frames are pulled from the appsink there and pushed into the writer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-record.h"
#include "vs-input.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gst/app/app.h>
#include <vizstream.h>

#define GST_CAT_DEFAULT vs_debug

/* Frames waiting for the disk in a writer, at most: past it frames are
 * dropped up to the next key frame (the file has a gap, never a broken
 * picture). */
#define WRITER_BACKLOG (32 << 20)
/* An event waits for a frame at least as late as itself (to go into the
 * file that frame is in), but no longer than this (a renderer that shows
 * nothing new). */
#define EVENT_HOLD GST_SECOND
#define MAX_PENDING_EVENTS 10000
#define MAX_EVENTS 256
/* A writer ending its file (index, duration) at the server's stop. */
#define FINISH_TIMEOUT (5 * GST_SECOND)

typedef struct
{
  GstClockTime rt;              /* when it came, running time */
  gchar *json;                  /* the event without its closing brace */
} RecEvent;

/* One file and its input; main loop, but bytes. */
typedef struct
{
  VsRecord *rec;
  gchar *path, *events_path;    /* the video file, the input beside it */
  GstElement *pipe, *appsrc;
  guint bus_watch;
  GstCaps *caps;                /* what it was opened for */
  GstClockTime start_rt;        /* its first frame's running time */
  GstClockTime last_rt;         /* its newest frame's */
  gint events_fd;               /* -1 once closed */
  guint64 frames, events;
  const gchar *why;             /* why it was closed */
  gint64 bytes;                 /* atomic: into its filesink */
} RecWriter;

struct _VsRecord
{
  /* set at the start */
  VsMedia *media;
  const VsConfig *cfg;
  guint mask;                   /* the input policy */
  gchar *stamp;                 /* the start, in every file's name */
  GSource *wake;                /* made ready from any thread */
  /* main loop */
  GstElement *bin, *queue, *appsink;    /* the leg; NULL once stopped */
  VsLeg leg;
  RecWriter *writer;            /* the file being written, or NULL */
  GList *closing;               /* RecWriter*: ending their files */
  const gchar *rotate;          /* why a new file is due (at a key frame) */
  gboolean need_key;            /* frames dropped: wait for a key frame */
  GQueue pending;               /* RecEvent*: waiting for a frame */
  guint next_index;
  guint files;
  guint64 closed_bytes;         /* of the files closed */
  guint64 events, events_lost, frames_dropped;
  gboolean failed;
  gchar *error;
  /* atomic, from the streaming thread */
  gint want_key;                /* the queue overflowed */
};

static void
event_free (RecEvent * ev)
{
  g_free (ev->json);
  g_free (ev);
}

/* Now, on the pipeline's running time: the clock of the frames' times. */
static GstClockTime
now_rt (VsRecord * rec)
{
  GstElement *pipe = vs_media_bin (rec->media);
  GstClock *clock = gst_element_get_clock (pipe);
  GstClockTime now, base;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (pipe);
  gst_object_unref (clock);
  return now > base ? now - base : 0;
}

/* "1.5 MiB": log lines stay ASCII (g_format_size has a no-break space). */
static gchar *
size_text (guint64 bytes)
{
  if (bytes >= 1 << 30)
    return g_strdup_printf ("%.1f GiB", bytes / (gdouble) (1 << 30));
  if (bytes >= 1 << 20)
    return g_strdup_printf ("%.1f MiB", bytes / (gdouble) (1 << 20));
  return g_strdup_printf ("%.0f KiB", bytes / 1024.0);
}

static const gchar *
base_name (const gchar * path)
{
  const gchar *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* ---- writers: one pipeline and two files each ---- */

static void rec_fail (VsRecord * rec, const gchar * why);

static void
writer_free (RecWriter * w)
{
  if (w->bus_watch)
    g_source_remove (w->bus_watch);
  if (w->pipe) {
    gst_element_set_state (w->pipe, GST_STATE_NULL);
    gst_object_unref (w->pipe);
  }
  if (w->events_fd >= 0)
    close (w->events_fd);
  gst_clear_caps (&w->caps);
  g_free (w->path);
  g_free (w->events_path);
  g_free (w);
}

static void
writer_log_closed (RecWriter * w)
{
  gdouble s = GST_CLOCK_TIME_IS_VALID (w->last_rt) ?
      (w->last_rt - w->start_rt) / 1e9 : 0;
  gchar *size = size_text (g_atomic_pointer_get (&w->bytes));

  vs_log (w->rec->cfg, "record: closed %s: %" G_GUINT64_FORMAT " frames, "
      "%s, %.1f s, %" G_GUINT64_FORMAT " events (%s)", w->path, w->frames,
      size, s, w->events, w->why);
  g_free (size);
}

/* The writer's file is whole (EOS reached the filesink). */
static void
writer_closed (VsRecord * rec, RecWriter * w)
{
  writer_log_closed (w);
  rec->closed_bytes += g_atomic_pointer_get (&w->bytes);
  rec->closing = g_list_remove (rec->closing, w);
  writer_free (w);
}

static gboolean
writer_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  RecWriter *w = data;
  VsRecord *rec = w->rec;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err;
    gchar *dbg, *why;

    gst_message_parse_error (msg, &err, &dbg);
    GST_INFO ("record %s: %s (%s)", w->path, err->message, dbg);
    why = g_strdup_printf ("cannot write %s: %s", w->path, err->message);
    w->bus_watch = 0;
    rec_fail (rec, why);
    g_free (why);
    g_error_free (err);
    g_free (dbg);
    return G_SOURCE_REMOVE;
  }
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    w->bus_watch = 0;
    writer_closed (rec, w);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static GstPadProbeReturn
bytes_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  RecWriter *w = data;
  g_atomic_pointer_add (&w->bytes,
      (gssize) gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)));
  return GST_PAD_PROBE_OK;
}

/* The error of a pipeline that did not start, from its bus. */
static gchar *
start_error (GstElement * pipe)
{
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gchar *why = NULL;

  if (msg) {
    GError *err;
    gst_message_parse_error (msg, &err, NULL);
    why = g_strdup (err->message);
    g_error_free (err);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return why ? why : g_strdup ("the writer does not start");
}

/* A new file pair, named after the start and numbered; none overwritten. */
static gboolean
writer_names (VsRecord * rec, RecWriter * w)
{
  for (guint tries = 0; tries < 1000; tries++) {
    gchar *base = g_strdup_printf ("%s/vizstream-%s-%03u",
        rec->cfg->record_dir, rec->stamp, ++rec->next_index);
    w->path = g_strconcat (base, ".mkv", NULL);
    w->events_path = g_strconcat (base, ".jsonl", NULL);
    g_free (base);
    if (!g_file_test (w->path, G_FILE_TEST_EXISTS)
        && !g_file_test (w->events_path, G_FILE_TEST_EXISTS))
      return TRUE;
    g_clear_pointer (&w->path, g_free);
    g_clear_pointer (&w->events_path, g_free);
  }
  return FALSE;
}

static RecWriter *
writer_open (VsRecord * rec, GstCaps * caps, GstClockTime start,
    GError ** error)
{
  gboolean h264 = rec->cfg->codec == VS_CODEC_H264;
  RecWriter *w = g_new0 (RecWriter, 1);
  GstElement *parse = NULL, *mux, *sink;
  GstBus *bus;
  GstPad *pad;
  gchar *why;

  w->rec = rec;
  w->events_fd = -1;
  w->start_rt = start;
  w->last_rt = GST_CLOCK_TIME_NONE;
  w->caps = gst_caps_ref (caps);
  if (!writer_names (rec, w)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "no free file name "
        "in %s", rec->cfg->record_dir);
    writer_free (w);
    return NULL;
  }
  /* Input holds what the controller typed: for its owner only. */
  w->events_fd = open (w->events_path, O_WRONLY | O_CREAT | O_EXCL |
      O_CLOEXEC, 0600);
  if (w->events_fd < 0) {
    gint e = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
        "cannot create %s: %s", w->events_path, g_strerror (e));
    writer_free (w);
    return NULL;
  }
  {
    const VsElementSpec specs[] = {
      {"appsrc", &w->appsrc}, {h264 ? "h264parse" : NULL, &parse},
      {"matroskamux", &mux}, {"filesink", &sink},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      unlink (w->events_path);
      writer_free (w);
      return NULL;
    }
  }
  w->pipe = gst_object_ref_sink (gst_pipeline_new ("record"));
  gst_bin_add_many (GST_BIN (w->pipe), w->appsrc, mux, sink, NULL);
  if (parse)
    gst_bin_add (GST_BIN (w->pipe), parse);
  /* Timestamps are the main pipeline's running times: the file starts at
   * 0 with its first frame (offset-to-zero), as the .jsonl's "time". */
  g_object_set (w->appsrc, "caps", caps, "format", GST_FORMAT_TIME,
      "stream-type", 0, "block", FALSE, "max-bytes", (guint64) 0, NULL);
  g_object_set (mux, "offset-to-zero", TRUE, "writing-app",
      "vizstream-server", NULL);
  /* Each buffer written at once: a crash loses no frame the muxer gave. */
  g_object_set (sink, "location", w->path, "buffer-mode", 2, "sync", FALSE,
      "async", FALSE, NULL);
  if (!(parse ? gst_element_link_many (w->appsrc, parse, mux, sink, NULL) :
          gst_element_link_many (w->appsrc, mux, sink, NULL))) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the recording's elements");
    unlink (w->events_path);
    writer_free (w);
    return NULL;
  }
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, bytes_probe, w, NULL);
  gst_object_unref (pad);
  if (gst_element_set_state (w->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    why = start_error (w->pipe);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
        "cannot write %s: %s", w->path, why);
    g_free (why);
    unlink (w->events_path);
    writer_free (w);
    return NULL;
  }
  bus = gst_element_get_bus (w->pipe);
  w->bus_watch = gst_bus_add_watch (bus, writer_bus, w);
  gst_object_unref (bus);
  rec->files++;
  vs_log (rec->cfg, "record: writing %s (input in %s)", w->path,
      base_name (w->events_path));
  return w;
}

/* One line of the .jsonl: the event and its time in the file. */
static void
writer_event (VsRecord * rec, RecWriter * w, RecEvent * ev)
{
  gdouble t = ev->rt > w->start_rt ? (ev->rt - w->start_rt) / 1e9 : 0;
  gchar *line = g_strdup_printf ("%s,\"time\":%.3f}\n", ev->json, t);
  gsize len = strlen (line), done = 0;

  while (w->events_fd >= 0 && done < len) {
    gssize n = write (w->events_fd, line + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      gchar *why = g_strdup_printf ("cannot write %s: %s", w->events_path,
          g_strerror (n < 0 ? errno : ENOSPC));
      g_free (line);
      rec_fail (rec, why);
      g_free (why);
      return;
    }
    done += n;
  }
  w->events++;
  g_free (line);
}

/* Events into the file being written: those a frame at least as late has
 * already gone into (all: every one). */
static void
flush_events (VsRecord * rec, gboolean all)
{
  GstClockTime now = all ? GST_CLOCK_TIME_NONE : now_rt (rec);
  RecEvent *ev;

  while (!rec->failed && rec->writer
      && (ev = g_queue_peek_head (&rec->pending))) {
    RecWriter *w = rec->writer;
    if (!all && !(GST_CLOCK_TIME_IS_VALID (w->last_rt) && ev->rt <= w->last_rt)
        && !(GST_CLOCK_TIME_IS_VALID (now) && now > ev->rt + EVENT_HOLD))
      break;
    g_queue_pop_head (&rec->pending);
    writer_event (rec, w, ev);
    event_free (ev);
  }
}

/* The file is complete up to (not with) next_start: the events before it
 * go in, then the muxer writes its index and duration. */
static void
writer_finish (VsRecord * rec, const gchar * why, GstClockTime next_start)
{
  RecWriter *w = rec->writer;
  RecEvent *ev;

  while (!rec->failed && (ev = g_queue_peek_head (&rec->pending))
      && (!GST_CLOCK_TIME_IS_VALID (next_start) || ev->rt < next_start)) {
    g_queue_pop_head (&rec->pending);
    writer_event (rec, w, ev);
    event_free (ev);
  }
  if (rec->failed)
    return;
  rec->writer = NULL;
  close (w->events_fd);
  w->events_fd = -1;
  w->why = why;
  rec->closing = g_list_append (rec->closing, w);
  gst_app_src_end_of_stream (GST_APP_SRC (w->appsrc));
}

/* ---- the leg on the main encode ---- */

static void
leg_stop (VsRecord * rec)
{
  if (!rec->bin)
    return;
  vs_leg_detach (&rec->leg);
  g_signal_handlers_disconnect_by_data (rec->queue, rec);
  vs_media_remove_branch (rec->media, rec->bin);
  gst_clear_object (&rec->bin);
  rec->queue = rec->appsink = NULL;
}

/* Recording ends here; the stream goes on. */
static void
rec_fail (VsRecord * rec, const gchar * why)
{
  if (rec->failed)
    return;
  rec->failed = TRUE;
  g_free (rec->error);
  rec->error = g_strdup (why);
  vs_log (rec->cfg, "record: stopped: %s (the stream goes on without the "
      "recording)", why);
  leg_stop (rec);
  if (rec->writer) {
    rec->writer->why = "stopped";
    writer_log_closed (rec->writer);
    rec->closed_bytes += g_atomic_pointer_get (&rec->writer->bytes);
    g_clear_pointer (&rec->writer, writer_free);
  }
  while (rec->closing) {
    RecWriter *w = rec->closing->data;
    rec->closing = g_list_delete_link (rec->closing, rec->closing);
    rec->closed_bytes += g_atomic_pointer_get (&w->bytes);
    writer_free (w);
  }
  rec->events_lost += g_queue_get_length (&rec->pending);
  g_queue_clear_full (&rec->pending, (GDestroyNotify) event_free);
}

static void
request_key (VsRecord * rec)
{
  if (rec->bin)
    vs_leg_request_key (&rec->leg);
}

/* A frame of the main encode (main loop). */
static void
frame_in (VsRecord * rec, GstSample * sample)
{
  GstBuffer *buf = gst_sample_get_buffer (sample);
  const GstSegment *seg = gst_sample_get_segment (sample);
  GstCaps *caps = gst_sample_get_caps (sample);
  gboolean key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  RecWriter *w = rec->writer;
  GstClockTime rt, dts;
  gboolean new_caps;
  GError *err = NULL;

  if (!seg || seg->format != GST_FORMAT_TIME || !caps)
    return;
  rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  dts = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
      GST_BUFFER_DTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return;
  /* Matroska keeps one format a file: a new size (or H.264 profile), a
   * new file. */
  new_caps = w && !gst_caps_is_equal (caps, w->caps);
  if (new_caps && !rec->rotate)
    rec->rotate = "new format";
  if (w && rec->rotate && key) {
    writer_finish (rec, rec->rotate, rt);
    rec->rotate = NULL;
    if (rec->failed)
      return;
    w = NULL;
  }
  if ((w && new_caps) || (rec->need_key && !key) || (!w && !key)) {
    rec->frames_dropped++;
    rec->need_key = TRUE;
    request_key (rec);
    return;
  }
  rec->need_key = FALSE;
  if (!w && !(w = rec->writer = writer_open (rec, caps, rt, &err))) {
    rec_fail (rec, err->message);
    g_error_free (err);
    return;
  }
  if (gst_app_src_get_current_level_bytes (GST_APP_SRC (w->appsrc)) >
      WRITER_BACKLOG) {
    GST_INFO ("record: the disk does not keep up, dropping to a key frame");
    rec->frames_dropped++;
    rec->need_key = TRUE;
    request_key (rec);
    return;
  }
  buf = gst_buffer_copy (buf);
  GST_BUFFER_PTS (buf) = rt;
  GST_BUFFER_DTS (buf) = dts;
  gst_app_src_push_buffer (GST_APP_SRC (w->appsrc), buf);
  w->frames++;
  w->last_rt = rt;
  if (!rec->rotate) {
    guint64 bytes = g_atomic_pointer_get (&w->bytes);
    if (bytes >= rec->cfg->record_max_bytes)
      rec->rotate = "max-size";
    else if (rt > w->start_rt
        && rt - w->start_rt >= rec->cfg->record_max_seconds * GST_SECOND)
      rec->rotate = "max-seconds";
    /* The key frame the next file starts with; the others' frames flow. */
    if (rec->rotate && rec->bin)
      vs_leg_request_key_relayed (&rec->leg);
  }
  flush_events (rec, FALSE);
}

static gboolean
on_wake (gpointer data)
{
  VsRecord *rec = data;
  GstSample *sample;

  if (g_atomic_int_compare_and_exchange (&rec->want_key, 1, 0))
    request_key (rec);
  while (rec->appsink && (sample = gst_app_sink_try_pull_sample (GST_APP_SINK
              (rec->appsink), 0))) {
    frame_in (rec, sample);
    gst_sample_unref (sample);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
wake_dispatch (GSource * source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

static GSourceFuncs wake_funcs = { NULL, NULL, wake_dispatch, NULL };

static GstFlowReturn
on_sample (GstAppSink * sink, gpointer data)
{
  VsRecord *rec = data;
  g_source_set_ready_time (rec->wake, 0);
  return GST_FLOW_OK;
}

/* The queue dropped frames: the file goes on from a key frame. */
static void
on_overrun (GstElement * queue, gpointer data)
{
  VsRecord *rec = data;

  if (vs_leg_overrun (&rec->leg)) {
    g_atomic_int_set (&rec->want_key, 1);
    g_source_set_ready_time (rec->wake, 0);
  }
}

static void
on_bin_error (const gchar * message, gpointer data)
{
  rec_fail (data, message);
}

static gboolean
leg_start (VsRecord * rec, VsEncodes * encodes, GError ** error)
{
  GstAppSinkCallbacks cb = { NULL, NULL, on_sample };
  GstPad *pad;

  {
    const VsElementSpec specs[] = {
      {"queue", &rec->queue}, {"appsink", &rec->appsink},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error))
      return FALSE;
  }
  rec->bin = gst_object_ref_sink (gst_bin_new ("record"));
  gst_bin_add_many (GST_BIN (rec->bin), rec->queue, rec->appsink, NULL);
  /* Never holds the encode back: a second of frames, then the oldest go. */
  g_object_set (rec->queue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) GST_SECOND, "leaky", 2, NULL);
  g_signal_connect (rec->queue, "overrun", G_CALLBACK (on_overrun), rec);
  /* Frames wait here for the main loop; when it is late, in the queue. */
  g_object_set (rec->appsink, "sync", FALSE, "async", FALSE, "max-buffers",
      30, "drop", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (rec->appsink), &cb, rec, NULL);
  gst_element_link (rec->queue, rec->appsink);
  pad = gst_element_get_static_pad (rec->queue, "sink");
  gst_element_add_pad (rec->bin, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);

  vs_leg_init (&rec->leg, encodes, rec->bin);
  rec->leg.main_ok = TRUE;      /* a file takes any profile */
  rec->leg.connected = 1;
  vs_media_add_branch (rec->media, rec->bin, on_bin_error, rec);
  pad = gst_element_get_static_pad (rec->queue, "src");
  vs_leg_attach (&rec->leg, pad);
  gst_object_unref (pad);
  vs_leg_request_key (&rec->leg);
  return TRUE;
}

/* ---- the recorder ---- */

VsRecord *
vs_record_new (VsMedia * media, VsEncodes * encodes, const VsConfig * cfg,
    GError ** error)
{
  VsRecord *rec = g_new0 (VsRecord, 1);
  GDateTime *now = g_date_time_new_now_local ();
  GstElement *mux = NULL, *parse = NULL, *sink = NULL, *src = NULL;
  gchar *size;

  rec->media = media;
  rec->cfg = cfg;
  rec->mask = vs_input_allowed_mask (cfg);
  rec->stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_date_time_unref (now);
  g_queue_init (&rec->pending);
  rec->wake = g_source_new (&wake_funcs, sizeof (GSource));
  g_source_set_callback (rec->wake, on_wake, rec, NULL);
  g_source_attach (rec->wake, NULL);
  /* What a writer needs, said now rather than at the first frame. */
  {
    const VsElementSpec specs[] = {
      {"appsrc", &src}, {cfg->codec == VS_CODEC_H264 ? "h264parse" : NULL,
          &parse}, {"matroskamux", &mux}, {"filesink", &sink},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      vs_record_free (rec);
      return NULL;
    }
    for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
      if (*specs[i].out)
        gst_object_unref (gst_object_ref_sink (*specs[i].out));
  }
  if (!leg_start (rec, encodes, error)) {
    vs_record_free (rec);
    return NULL;
  }
  size = size_text (cfg->record_max_bytes);
  vs_log (cfg, "record: into %s, a new file past %s or %u s",
      cfg->record_dir, size, cfg->record_max_seconds);
  g_free (size);
  return rec;
}

/* Waits for a writer to end its file: the server is stopping. */
static void
writer_wait (VsRecord * rec, RecWriter * w)
{
  GstBus *bus = gst_element_get_bus (w->pipe);
  GstMessage *msg;

  if (w->bus_watch) {
    g_source_remove (w->bus_watch);
    w->bus_watch = 0;
  }
  msg = gst_bus_timed_pop_filtered (bus, FINISH_TIMEOUT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (!msg || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    w->why = "server stopping; its end not written";
  writer_log_closed (w);
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
}

void
vs_record_free (VsRecord * rec)
{
  GstSample *sample;

  if (!rec)
    return;
  /* What the encode gave, up to now, goes into the file. */
  if (rec->bin) {
    vs_leg_detach (&rec->leg);
    while (!rec->failed && rec->appsink
        && (sample = gst_app_sink_try_pull_sample (GST_APP_SINK
                (rec->appsink), 0))) {
      frame_in (rec, sample);
      gst_sample_unref (sample);
    }
  }
  leg_stop (rec);
  if (rec->writer)
    writer_finish (rec, "server stopping", GST_CLOCK_TIME_NONE);
  while (rec->closing) {
    RecWriter *w = rec->closing->data;
    rec->closing = g_list_delete_link (rec->closing, rec->closing);
    writer_wait (rec, w);
    writer_free (w);
  }
  g_queue_clear_full (&rec->pending, (GDestroyNotify) event_free);
  g_source_destroy (rec->wake);
  g_source_unref (rec->wake);
  g_free (rec->stamp);
  g_free (rec->error);
  g_free (rec);
}

void
vs_record_input (VsRecord * rec, guint viewer_id, const gchar * text,
    gsize len)
{
  VzEvent *ev;
  VzJsonResult res;
  GstClockTime rt;
  guint width, height;
  gchar json[512];

  if (!rec || rec->failed || !rec->bin)
    return;
  ev = g_new (VzEvent, MAX_EVENTS);
  if (vz_events_from_json (text, len, ev, MAX_EVENTS, &res) != VZ_OK)
    res.events = 0;
  rt = now_rt (rec);
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    rt = rec->writer && GST_CLOCK_TIME_IS_VALID (rec->writer->last_rt) ?
        rec->writer->last_rt : 0;
  vs_media_source_size (rec->media, &width, &height);
  for (gsize i = 0; i < res.events; i++) {
    VzEvent *e = &ev[i];
    RecEvent *r;
    gint n;

    /* What reached the renderer, as interactsink gave it: the policy's
     * events, in its pixels, with their viewer. */
    if (!(rec->mask & (1u << (e->type - 1))))
      continue;
    if (!e->viewer_id)
      e->viewer_id = viewer_id;
    if (width && height) {
      e->x *= width;
      e->y *= height;
    }
    n = vz_event_to_json (e, json, sizeof json);
    if (n <= 1)
      continue;
    json[n - 1] = '\0';         /* "}": the time goes before it */
    if (g_queue_get_length (&rec->pending) >= MAX_PENDING_EVENTS) {
      event_free (g_queue_pop_head (&rec->pending));
      rec->events_lost++;
    }
    r = g_new (RecEvent, 1);
    r->rt = rt;
    r->json = g_strdup (json);
    g_queue_push_tail (&rec->pending, r);
    rec->events++;
  }
  g_free (ev);
  flush_events (rec, FALSE);
}

void
vs_record_tick (VsRecord * rec, GString * line)
{
  if (!rec)
    return;
  flush_events (rec, FALSE);
  if (!line)
    return;
  if (rec->failed)
    g_string_append (line, " | recording failed");
  else if (rec->writer)
    g_string_append_printf (line, " | recording %.1f MiB",
        g_atomic_pointer_get (&rec->writer->bytes) / (gdouble) (1 << 20));
}

static void
add_string (JsonBuilder * b, const gchar * name, const gchar * value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
vs_record_describe (VsRecord * rec, JsonBuilder * b)
{
  RecWriter *w = rec ? rec->writer : NULL;
  gint64 bytes = w ? g_atomic_pointer_get (&w->bytes) : 0;

  json_builder_set_member_name (b, "record");
  if (!rec) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_object (b);
  add_string (b, "state", rec->failed ? "failed" : w ? "recording" :
      "waiting for frames");
  add_string (b, "dir", rec->cfg->record_dir);
  add_string (b, "file", w ? w->path : NULL);
  add_string (b, "events_file", w ? w->events_path : NULL);
  add_int (b, "files", rec->files);
  add_int (b, "frames", w ? w->frames : 0);
  add_int (b, "bytes", bytes);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, w && GST_CLOCK_TIME_IS_VALID (w->last_rt) ?
      (w->last_rt - w->start_rt) / 1e9 : 0);
  add_int (b, "total_bytes", rec->closed_bytes + bytes);
  add_int (b, "events", rec->events);
  add_int (b, "events_lost", rec->events_lost);
  add_int (b, "frames_dropped", rec->frames_dropped);
  add_int (b, "overruns", g_atomic_int_get (&rec->leg.overruns));
  add_int (b, "max_bytes", rec->cfg->record_max_bytes);
  add_int (b, "max_seconds", rec->cfg->record_max_seconds);
  add_string (b, "last_error", rec->error);
  json_builder_end_object (b);
}
