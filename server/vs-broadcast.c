/* vizstream-server: RTMP pushes (to nginx-rtmp and the like) and MJPEG.
 *
 * RTMP: each --rtmp URL is its own small pipeline,
 *   appsrc ! videoconvertscale ! I420 ! x264enc (key frame every 2 s)
 *     ! h264parse ! flvmux ! rtmp2sink
 * fed with raw frames from an appsink on the main pipeline's raw tee. A
 * failing RTMP server therefore stops only its own pipeline, which is
 * rebuilt with backoff; viewers never notice.
 *
 * MJPEG: raw tee ! queue(1, leaky) ! valve ! [fps cap] ! videoconvertscale
 *   ! jpegenc ! appsink, open while somebody watches /mjpeg or asks for
 *   /snapshot.jpg. A client gets the newest frame when it has taken the
 *   previous one: a slow client skips frames, nothing queues up. */
#include "vs-server.h"

#include <string.h>
#include <gst/app/app.h>

GST_DEBUG_CATEGORY_EXTERN (vs_debug);
#define GST_CAT_DEFAULT vs_debug

#define BOUNDARY "vizstreamframe"

typedef struct
{
  VsBroadcast *bc;
  gchar *url;
  GMutex lock;
  GstElement *pipe;             /* NULL while waiting to retry */
  GstElement *appsrc;           /* under lock */
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

typedef struct
{
  VsBroadcast *bc;
  GIOStream *stream;            /* the connection, taken from libsoup */
  GCancellable *cancel;
  gboolean busy;                /* a frame still being written */
  GBytes *writing;
  guint64 sent, skipped;
} VsMjpegClient;

struct _VsBroadcast
{
  VsServer *server;
  VsMedia *media;
  const VsConfig *cfg;
  GPtrArray *rtmp;
  GstElement *raw_queue, *raw_sink;     /* frames for the RTMP pipelines */
  GstElement *jq, *jvalve, *jconvert, *jcaps, *jenc, *jsink;
  GstClockTime jnext_pts;
  GList *mjpeg_clients;
  GList *snapshot_waiters;      /* SoupServerMessage* */
  GBytes *last_jpeg;
  gint64 last_jpeg_us;
  guint64 jpegs;
};

static void
set_state (VsRtmp * r, const gchar * state, const gchar * why)
{
  if (g_strcmp0 (r->state, state) == 0)
    return;
  g_free (r->state);
  r->state = g_strdup (state);
  if (!r->bc->cfg->quiet)
    g_printerr ("\nvizstream-server: rtmp %s: %s%s%s\n", r->url, state,
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
  gchar *state;

  rtmp_stop (r);
  g_free (r->error);
  r->error = g_strdup (why);
  /* 1, 2, 4 ... 30 s; back to 1 after a good run. */
  if (r->live_since_us && g_get_monotonic_time () - r->live_since_us >
      30 * G_TIME_SPAN_SECOND)
    r->backoff = 0;
  r->live_since_us = 0;
  r->backoff = r->backoff ? MIN (r->backoff * 2, 30) : 1;
  state = g_strdup_printf ("reconnecting in %u s", r->backoff);
  set_state (r, state, why);
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
    GST_INFO ("rtmp %s: %s (%s)", r->url, err->message, dbg);
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
  const VsConfig *cfg = r->bc->cfg;
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
  VsBroadcast *bc = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);

  if (!sample)
    return GST_FLOW_OK;
  for (guint i = 0; i < bc->rtmp->len; i++) {
    VsRtmp *r = g_ptr_array_index (bc->rtmp, i);
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

/* ------------------------------------------------------------------ MJPEG */

static void
jpeg_users_changed (VsBroadcast * bc)
{
  gboolean on = bc->mjpeg_clients || bc->snapshot_waiters;
  g_object_set (bc->jvalve, "drop", !on, NULL);
}

static void mjpeg_client_free (VsMjpegClient * c);

static void
mjpeg_written (GObject * out, GAsyncResult * res, gpointer data)
{
  VsMjpegClient *c = data;
  GError *err = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (out), res, NULL,
          &err)) {
    /* Gone (or cancelled at shutdown): forget it. */
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      VsBroadcast *bc = c->bc;
      bc->mjpeg_clients = g_list_remove (bc->mjpeg_clients, c);
      mjpeg_client_free (c);
      jpeg_users_changed (bc);
    }
    g_error_free (err);
    return;
  }
  c->busy = FALSE;
  g_clear_pointer (&c->writing, g_bytes_unref);
}

static void
mjpeg_send (VsBroadcast * bc, VsMjpegClient * c)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bc->last_jpeg, &len);
  GByteArray *part = g_byte_array_sized_new (len + 128);
  gchar *head = g_strdup_printf ("--" BOUNDARY "\r\nContent-Type: image/jpeg"
      "\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n", len);

  g_byte_array_append (part, (const guint8 *) head, strlen (head));
  g_byte_array_append (part, data, len);
  g_byte_array_append (part, (const guint8 *) "\r\n", 2);
  g_free (head);
  c->writing = g_byte_array_free_to_bytes (part);
  c->busy = TRUE;
  c->sent++;
  g_output_stream_write_all_async (g_io_stream_get_output_stream
      (c->stream), g_bytes_get_data (c->writing, NULL),
      g_bytes_get_size (c->writing), G_PRIORITY_DEFAULT, c->cancel,
      mjpeg_written, c);
}

typedef struct
{
  VsBroadcast *bc;
  GBytes *jpeg;
} NewJpeg;

static gboolean
new_jpeg (gpointer data)
{
  NewJpeg *nj = data;
  VsBroadcast *bc = nj->bc;

  if (bc->last_jpeg)
    g_bytes_unref (bc->last_jpeg);
  bc->last_jpeg = nj->jpeg;
  bc->last_jpeg_us = g_get_monotonic_time ();
  bc->jpegs++;
  g_free (nj);
  for (GList * l = bc->mjpeg_clients; l; l = l->next) {
    VsMjpegClient *c = l->data;
    if (c->busy)
      c->skipped++;
    else
      mjpeg_send (bc, c);
  }
  while (bc->snapshot_waiters) {
    SoupServerMessage *msg = bc->snapshot_waiters->data;
    bc->snapshot_waiters = g_list_delete_link (bc->snapshot_waiters,
        bc->snapshot_waiters);
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
        g_bytes_get_data (bc->last_jpeg, NULL),
        g_bytes_get_size (bc->last_jpeg));
    soup_server_message_unpause (msg);
    g_object_unref (msg);
  }
  jpeg_users_changed (bc);
  return G_SOURCE_REMOVE;
}

static GstFlowReturn
jpeg_sample (GstAppSink * sink, gpointer data)
{
  VsBroadcast *bc = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstMapInfo map;
  NewJpeg *nj;

  if (!sample)
    return GST_FLOW_OK;
  if (gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ)) {
    nj = g_new0 (NewJpeg, 1);
    nj->bc = bc;
    nj->jpeg = g_bytes_new (map.data, map.size);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    g_main_context_invoke (NULL, new_jpeg, nj);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static GstPadProbeReturn
jpeg_rate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsBroadcast *bc = data;
  return vs_rate_cap_pass (&bc->jnext_pts,
      GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)), bc->cfg->mjpeg_fps) ?
      GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static void
mjpeg_client_free (VsMjpegClient * c)
{
  g_io_stream_close (c->stream, NULL, NULL);
  g_object_unref (c->stream);
  g_object_unref (c->cancel);
  if (c->writing)
    g_bytes_unref (c->writing);
  g_free (c);
}

static void
mjpeg_head_written (GObject * out, GAsyncResult * res, gpointer data)
{
  VsMjpegClient *c = data;
  VsBroadcast *bc = c->bc;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (out), res, NULL,
          NULL)) {
    bc->mjpeg_clients = g_list_remove (bc->mjpeg_clients, c);
    mjpeg_client_free (c);
    jpeg_users_changed (bc);
    return;
  }
  c->busy = FALSE;
  /* The newest picture at once, when there is a recent one. */
  if (bc->last_jpeg && g_get_monotonic_time () - bc->last_jpeg_us <
      G_TIME_SPAN_SECOND)
    mjpeg_send (bc, c);
}

/* /mjpeg: the connection is taken from libsoup and written to directly,
 * one part per frame, a frame only when the previous one is out. */
void
vs_broadcast_mjpeg (VsBroadcast * bc, SoupServerMessage * msg)
{
  static const gchar head[] = "HTTP/1.1 200 OK\r\n"
      "Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
      "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
      "Connection: close\r\n\r\n";
  VsMjpegClient *c;

  if (g_list_length (bc->mjpeg_clients) >= bc->cfg->max_viewers) {
    soup_server_message_set_status (msg, 503, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        "too many viewers\n", 17);
    return;
  }
  c = g_new0 (VsMjpegClient, 1);
  c->bc = bc;
  c->cancel = g_cancellable_new ();
  c->stream = soup_server_message_steal_connection (msg);
  c->busy = TRUE;
  bc->mjpeg_clients = g_list_append (bc->mjpeg_clients, c);
  jpeg_users_changed (bc);
  g_output_stream_write_all_async (g_io_stream_get_output_stream
      (c->stream), head, strlen (head), G_PRIORITY_DEFAULT, c->cancel,
      mjpeg_head_written, c);
}

static gboolean
snapshot_timeout (gpointer data)
{
  SoupServerMessage *msg = data;
  VsBroadcast *bc = g_object_get_data (G_OBJECT (msg), "vs-broadcast");
  GList *l = g_list_find (bc->snapshot_waiters, msg);

  if (l) {
    bc->snapshot_waiters = g_list_delete_link (bc->snapshot_waiters, l);
    soup_server_message_set_status (msg, 503, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        "no frame from the renderer yet\n", 31);
    soup_server_message_unpause (msg);
    g_object_unref (msg);
    jpeg_users_changed (bc);
  }
  return G_SOURCE_REMOVE;
}

void
vs_broadcast_snapshot (VsBroadcast * bc, SoupServerMessage * msg)
{
  if (bc->last_jpeg && g_get_monotonic_time () - bc->last_jpeg_us <
      200 * G_TIME_SPAN_MILLISECOND) {
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
        g_bytes_get_data (bc->last_jpeg, NULL),
        g_bytes_get_size (bc->last_jpeg));
    return;
  }
  /* The next frame (the encode starts for it). */
  g_object_set_data (G_OBJECT (msg), "vs-broadcast", bc);
  bc->snapshot_waiters = g_list_append (bc->snapshot_waiters,
      g_object_ref (msg));
  soup_server_message_pause (msg);
  jpeg_users_changed (bc);
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, 3, snapshot_timeout,
      g_object_ref (msg), g_object_unref);
}

/* ------------------------------------------------------------------- life */

static GstElement *
add_branch_queue (GstElement * pipeline)
{
  GstElement *q = gst_element_factory_make ("queue", NULL);
  g_object_set (q, "max-size-buffers", 1, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, "leaky", 2, NULL);
  gst_bin_add (GST_BIN (pipeline), q);
  return q;
}

VsBroadcast *
vs_broadcast_new (VsServer * server, VsMedia * media, const VsConfig * cfg,
    GError ** error)
{
  VsBroadcast *bc = g_new0 (VsBroadcast, 1);
  GstElement *pipeline = vs_media_pipeline (media);
  GstElement *rawtee = vs_media_rawtee (media);
  GstAppSinkCallbacks jcb = { NULL, NULL, jpeg_sample };
  GstAppSinkCallbacks rcb = { NULL, NULL, raw_sample };
  GstCaps *caps;
  GstPad *pad;

  bc->server = server;
  bc->media = media;
  bc->cfg = cfg;
  bc->rtmp = g_ptr_array_new ();
  bc->jnext_pts = GST_CLOCK_TIME_NONE;

  /* MJPEG */
  bc->jq = add_branch_queue (pipeline);
  bc->jvalve = gst_element_factory_make ("valve", NULL);
  bc->jconvert = gst_element_factory_make ("videoconvertscale", NULL);
  bc->jcaps = gst_element_factory_make ("capsfilter", NULL);
  bc->jenc = gst_element_factory_make ("jpegenc", NULL);
  bc->jsink = gst_element_factory_make ("appsink", NULL);
  if (!bc->jvalve || !bc->jconvert || !bc->jcaps || !bc->jenc || !bc->jsink) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "jpegenc or appsink missing (gstreamer1.0-plugins-good, -base)");
    return NULL;
  }
  g_object_set (bc->jvalve, "drop", TRUE, NULL);
  g_object_set (bc->jconvert, "n-threads", 2, NULL);
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
      NULL);
  g_object_set (bc->jcaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (bc->jenc, "quality", cfg->mjpeg_quality, NULL);
  g_object_set (bc->jsink, "sync", FALSE, "async", FALSE, "max-buffers", 1,
      "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (bc->jsink), &jcb, bc, NULL);
  gst_bin_add_many (GST_BIN (pipeline), bc->jvalve, bc->jconvert, bc->jcaps,
      bc->jenc, bc->jsink, NULL);
  gst_element_link_many (bc->jq, bc->jvalve, bc->jconvert, bc->jcaps,
      bc->jenc, bc->jsink, NULL);
  pad = gst_element_get_static_pad (bc->jvalve, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, jpeg_rate_probe, bc,
      NULL);
  gst_object_unref (pad);

  /* RTMP */
  if (cfg->rtmp && cfg->rtmp[0]) {
    bc->raw_queue = add_branch_queue (pipeline);
    bc->raw_sink = gst_element_factory_make ("appsink", NULL);
    g_object_set (bc->raw_sink, "sync", FALSE, "async", FALSE, "max-buffers",
        1, "drop", TRUE, NULL);
    gst_app_sink_set_callbacks (GST_APP_SINK (bc->raw_sink), &rcb, bc, NULL);
    gst_bin_add (GST_BIN (pipeline), bc->raw_sink);
    gst_element_link (bc->raw_queue, bc->raw_sink);
    for (gchar ** u = cfg->rtmp; *u; u++) {
      VsRtmp *r = g_new0 (VsRtmp, 1);
      r->bc = bc;
      r->url = g_strdup (*u);
      g_mutex_init (&r->lock);
      g_ptr_array_add (bc->rtmp, r);
      rtmp_start (r);
    }
  }
  {
    GstElement *els[] = { bc->jsink, bc->jenc, bc->jcaps, bc->jconvert,
      bc->jvalve, bc->jq, bc->raw_sink, bc->raw_queue
    };
    for (gsize i = 0; i < G_N_ELEMENTS (els); i++)
      if (els[i])
        gst_element_sync_state_with_parent (els[i]);
    /* Linked to the running tee only now that they run: a tee pushing
     * into a queue still in NULL gets FLUSHING and stops the source. */
    gst_element_link (rawtee, bc->jq);
    if (bc->raw_queue)
      gst_element_link (rawtee, bc->raw_queue);
  }
  return bc;
}

void
vs_broadcast_free (VsBroadcast * bc)
{
  if (!bc)
    return;
  for (guint i = 0; i < bc->rtmp->len; i++) {
    VsRtmp *r = g_ptr_array_index (bc->rtmp, i);
    if (r->retry_id)
      g_source_remove (r->retry_id);
    rtmp_stop (r);
    g_mutex_clear (&r->lock);
    g_free (r->url);
    g_free (r->state);
    g_free (r->error);
    g_free (r);
  }
  g_ptr_array_unref (bc->rtmp);
  while (bc->mjpeg_clients) {
    VsMjpegClient *c = bc->mjpeg_clients->data;
    bc->mjpeg_clients = g_list_delete_link (bc->mjpeg_clients,
        bc->mjpeg_clients);
    g_cancellable_cancel (c->cancel);
    mjpeg_client_free (c);
  }
  while (bc->snapshot_waiters) {
    SoupServerMessage *msg = bc->snapshot_waiters->data;
    bc->snapshot_waiters = g_list_delete_link (bc->snapshot_waiters,
        bc->snapshot_waiters);
    soup_server_message_set_status (msg, 503, NULL);
    soup_server_message_unpause (msg);
    g_object_unref (msg);
  }
  if (bc->last_jpeg)
    g_bytes_unref (bc->last_jpeg);
  g_free (bc);
}

/* Once a second: RTMP states for the status line and /status. */
void
vs_broadcast_tick (VsBroadcast * bc, GString * line)
{
  for (guint i = 0; i < bc->rtmp->len; i++) {
    VsRtmp *r = g_ptr_array_index (bc->rtmp, i);
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
  if (line && bc->mjpeg_clients)
    g_string_append_printf (line, " | %u mjpeg",
        g_list_length (bc->mjpeg_clients));
}

void
vs_broadcast_describe (VsBroadcast * bc, JsonBuilder * b)
{
  json_builder_set_member_name (b, "rtmp");
  json_builder_begin_array (b);
  for (guint i = 0; i < bc->rtmp->len; i++) {
    VsRtmp *r = g_ptr_array_index (bc->rtmp, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "url");
    json_builder_add_string_value (b, r->url);
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
  json_builder_set_member_name (b, "mjpeg");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "clients");
  json_builder_add_int_value (b, g_list_length (bc->mjpeg_clients));
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, bc->jpegs);
  json_builder_set_member_name (b, "skipped");
  {
    guint64 skipped = 0;
    for (GList * l = bc->mjpeg_clients; l; l = l->next)
      skipped += ((VsMjpegClient *) l->data)->skipped;
    json_builder_add_int_value (b, skipped);
  }
  json_builder_end_object (b);
}
