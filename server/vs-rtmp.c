/* vizstream-server: RTMP pushes (vs-rtmp.h).
 *
 * Threads: raw_sample runs on the raw branch's streaming thread and takes
 * each push's appsrc under its lock; everything else on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-rtmp.h"

#include <gst/app/app.h>

#define GST_CAT_DEFAULT vs_debug

typedef struct
{
  VsRtmpSet *set;
  gchar *url;
  gchar *shown;                 /* url without its stream key (logs, status) */
  GMutex lock;                  /* guards pipe (set), appsrc */
  GstElement *pipe;             /* NULL while waiting to retry */
  GstElement *appsrc;
  guint bus_watch;
  guint retry_id;
  guint backoff;                /* seconds */
  gint64 bytes;                 /* atomic, into rtmp2sink */
  gint64 tick_bytes;
  gint64 live_since_us;
  guint restarts;
  gdouble kbps;
  gchar *state;
  gchar *error;
} VsRtmp;

struct _VsRtmpSet
{
  VsMedia *media;
  const VsConfig *cfg;
  GPtrArray *urls;              /* VsRtmp* */
  GstElement *branch;           /* queue ! appsink on the raw tee */
};

static void
set_state (VsRtmp * r, const gchar * state, const gchar * why)
{
  if (g_strcmp0 (r->state, state) == 0)
    return;
  g_free (r->state);
  r->state = g_strdup (state);
  vs_log (r->set->cfg, "rtmp %s: %s%s%s", r->shown, state,
      why ? ": " : "", why ? why : "");
}

static void rtmp_start (VsRtmp * r);

static gboolean
rtmp_retry (gpointer data)
{
  VsRtmp *r = data;
  r->retry_id = 0;
  r->restarts++;
  rtmp_start (r);
  return G_SOURCE_REMOVE;
}

static void
rtmp_stop (VsRtmp * r)
{
  GstElement *pipe = r->pipe;

  g_mutex_lock (&r->lock);
  gst_clear_object (&r->appsrc);
  r->pipe = NULL;
  g_mutex_unlock (&r->lock);
  if (r->bus_watch) {
    g_source_remove (r->bus_watch);
    r->bus_watch = 0;
  }
  if (pipe) {
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
  }
}

static void
rtmp_fail (VsRtmp * r, const gchar * why)
{
  gchar *state, **parts;

  rtmp_stop (r);
  /* An element's message may quote the URL, key and all. */
  parts = g_strsplit (why, r->url, -1);
  g_free (r->error);
  r->error = g_strjoinv (r->shown, parts);
  g_strfreev (parts);
  /* 1, 2, 4 ... 30 s; back to 1 after a good run. */
  if (r->live_since_us && g_get_monotonic_time () - r->live_since_us >
      30 * G_TIME_SPAN_SECOND)
    r->backoff = 0;
  r->live_since_us = 0;
  r->backoff = r->backoff ? MIN (r->backoff * 2, 30) : 1;
  state = g_strdup_printf ("reconnecting in %u s", r->backoff);
  set_state (r, state, r->error);
  g_free (state);
  r->retry_id = g_timeout_add_seconds (r->backoff, rtmp_retry, r);
}

static gboolean
rtmp_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  VsRtmp *r = data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err;
    gchar *dbg;
    gst_message_parse_error (msg, &err, &dbg);
    GST_INFO ("rtmp %s: %s (%s)", r->shown, err->message, dbg);
    rtmp_fail (r, err->message);
    g_error_free (err);
    g_free (dbg);
    return G_SOURCE_REMOVE;     /* rtmp_stop removed the watch */
  }
  return G_SOURCE_CONTINUE;
}

static GstPadProbeReturn
rtmp_bytes_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsRtmp *r = data;
  g_atomic_pointer_add (&r->bytes,
      (gssize) gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)));
  return GST_PAD_PROBE_OK;
}

static void
rtmp_start (VsRtmp * r)
{
  const VsConfig *cfg = r->set->cfg;
  GError *err = NULL;
  GstElement *pipe, *sink, *src;
  GstPad *pad;
  gchar *desc;
  guint fps = MAX (cfg->max_fps, 1);

  /* Key frames every --rtmp-key-interval s, a steady bitrate: what RTMP
   * and HLS segmenters want (the WebRTC encode adapts instead). */
  desc = g_strdup_printf ("appsrc name=src is-live=true format=time "
      "do-timestamp=true max-buffers=2 leaky-type=downstream "
      "! videoconvertscale n-threads=2 ! video/x-raw,format=I420 "
      "! x264enc tune=zerolatency speed-preset=ultrafast threads=2 "
      "bitrate=%u vbv-buf-capacity=1000 key-int-max=%u "
      "! video/x-h264,profile=main ! h264parse "
      "! flvmux streamable=true name=mux ! rtmp2sink name=sink",
      cfg->rtmp_bitrate, fps * cfg->rtmp_key_interval);
  pipe = gst_parse_launch (desc, &err);
  g_free (desc);
  if (!pipe) {
    rtmp_fail (r, err->message);
    g_error_free (err);
    return;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  gst_util_set_object_arg (G_OBJECT (sink), "location", r->url);
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, rtmp_bytes_probe, r,
      NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  {
    GstBus *bus = gst_element_get_bus (pipe);
    r->bus_watch = gst_bus_add_watch (bus, rtmp_bus, r);
    gst_object_unref (bus);
  }
  g_mutex_lock (&r->lock);
  r->pipe = pipe;
  r->appsrc = src;
  g_mutex_unlock (&r->lock);
  set_state (r, "connecting", NULL);
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    rtmp_fail (r, "the RTMP pipeline does not start");
}

/* Raw frames for the RTMP pipelines (streaming thread). */
static GstFlowReturn
raw_sample (GstAppSink * sink, gpointer data)
{
  VsRtmpSet *set = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);

  if (!sample)
    return GST_FLOW_OK;
  for (guint i = 0; i < set->urls->len; i++) {
    VsRtmp *r = g_ptr_array_index (set->urls, i);
    GstElement *src = NULL;
    g_mutex_lock (&r->lock);
    if (r->appsrc)
      src = gst_object_ref (r->appsrc);
    g_mutex_unlock (&r->lock);
    if (src) {
      GstBuffer *buf = gst_buffer_copy (gst_sample_get_buffer (sample));
      GstSample *s;
      /* appsrc stamps it on its own clock. */
      GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
      s = gst_sample_new (buf, gst_sample_get_caps (sample), NULL, NULL);
      gst_app_src_push_sample (GST_APP_SRC (src), s);
      gst_sample_unref (s);
      gst_buffer_unref (buf);
      gst_object_unref (src);
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

VsRtmpSet *
vs_rtmp_new (VsMedia * media, const VsConfig * cfg, GError ** error)
{
  VsRtmpSet *set = g_new0 (VsRtmpSet, 1);
  GstAppSinkCallbacks cb = { NULL, NULL, raw_sample };
  GstElement *queue, *sink;
  GstPad *pad;

  set->media = media;
  set->cfg = cfg;
  set->urls = g_ptr_array_new ();
  if (!cfg->rtmp || !cfg->rtmp[0])
    return set;
  {
    const VsElementSpec specs[] = { {"queue", &queue}, {"appsink", &sink} };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      vs_rtmp_free (set);
      return NULL;
    }
  }
  set->branch = gst_bin_new ("rtmp-raw");
  g_object_set (queue, "max-size-buffers", 1, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, "leaky", 2, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 1,
      "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, set, NULL);
  gst_bin_add_many (GST_BIN (set->branch), queue, sink, NULL);
  gst_element_link (queue, sink);
  pad = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (set->branch, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);
  for (gchar ** u = cfg->rtmp; *u; u++) {
    VsRtmp *r = g_new0 (VsRtmp, 1);
    r->set = set;
    r->url = g_strdup (*u);
    r->shown = vs_config_redact_url (*u);
    g_mutex_init (&r->lock);
    g_ptr_array_add (set->urls, r);
    rtmp_start (r);
  }
  vs_media_add_branch (media, set->branch, NULL, NULL);
  if (!vs_media_link_raw (media, set->branch)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the RTMP branch to the source");
    vs_rtmp_free (set);
    return NULL;
  }
  return set;
}

void
vs_rtmp_free (VsRtmpSet * set)
{
  if (!set)
    return;
  /* The raw branch first: its streaming thread walks the pushes. */
  if (set->branch)
    vs_media_remove_branch (set->media, set->branch);
  for (guint i = 0; i < set->urls->len; i++) {
    VsRtmp *r = g_ptr_array_index (set->urls, i);
    if (r->retry_id)
      g_source_remove (r->retry_id);
    rtmp_stop (r);
    g_mutex_clear (&r->lock);
    g_free (r->url);
    g_free (r->shown);
    g_free (r->state);
    g_free (r->error);
    g_free (r);
  }
  g_ptr_array_unref (set->urls);
  g_free (set);
}

/* Once a second: states for the status line and /status. */
void
vs_rtmp_tick (VsRtmpSet * set, GString * line)
{
  for (guint i = 0; i < set->urls->len; i++) {
    VsRtmp *r = g_ptr_array_index (set->urls, i);
    gint64 bytes = g_atomic_pointer_get (&r->bytes);
    r->kbps = (bytes - r->tick_bytes) * 8 / 1000.0;
    if (r->pipe && bytes > r->tick_bytes) {
      if (!r->live_since_us)
        r->live_since_us = g_get_monotonic_time ();
      set_state (r, "live", NULL);
    }
    r->tick_bytes = bytes;
    if (line)
      g_string_append_printf (line, " | rtmp %s", r->state);
  }
}

void
vs_rtmp_describe (VsRtmpSet * set, JsonBuilder * b)
{
  json_builder_set_member_name (b, "rtmp");
  json_builder_begin_array (b);
  for (guint i = 0; i < set->urls->len; i++) {
    VsRtmp *r = g_ptr_array_index (set->urls, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "url");
    json_builder_add_string_value (b, r->shown);
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, r->state);
    json_builder_set_member_name (b, "restarts");
    json_builder_add_int_value (b, r->restarts);
    json_builder_set_member_name (b, "kbps");
    json_builder_add_double_value (b, r->kbps);
    json_builder_set_member_name (b, "last_error");
    json_builder_add_string_value (b, r->error);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}
