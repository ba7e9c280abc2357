/* vizstream-server: MJPEG and snapshots (vs-mjpeg.h).
 *
 * Threads: jpeg_sample and the rate probe run on the branch's streaming
 * thread; the picture is handed to the main loop, where everything else
 * runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-mjpeg.h"
#include "vs-adapt.h"

#include <string.h>
#include <gst/app/app.h>

#define GST_CAT_DEFAULT vs_debug

#define BOUNDARY "vizstreamframe"

typedef struct
{
  VsMjpeg *bc;
  GIOStream *stream;            /* the connection, taken from libsoup */
  GCancellable *cancel;
  gboolean busy;                /* a frame still being written */
  GBytes *writing;
  guint64 sent, skipped;
} VsMjpegClient;

struct _VsMjpeg
{
  VsMedia *media;
  const VsConfig *cfg;
  GstElement *branch;           /* [bin] queue ! valve ! ... ! appsink */
  GstElement *jvalve;
  guint64 jnext_pts;            /* the rate probe's */
  GList *mjpeg_clients;
  GList *snapshot_waiters;      /* SoupServerMessage* */
  GBytes *last_jpeg;
  gint64 last_jpeg_us;
  guint64 jpegs;
};

static void
jpeg_users_changed (VsMjpeg * bc)
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
      VsMjpeg *bc = c->bc;
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
mjpeg_send (VsMjpeg * bc, VsMjpegClient * c)
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
  VsMjpeg *bc;
  GBytes *jpeg;
} NewJpeg;

static gboolean
new_jpeg (gpointer data)
{
  NewJpeg *nj = data;
  VsMjpeg *bc = nj->bc;

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
  VsMjpeg *bc = data;
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
  VsMjpeg *bc = data;
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
  VsMjpeg *bc = c->bc;

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
vs_mjpeg_serve (VsMjpeg * bc, SoupServerMessage * msg)
{
  static const gchar head[] = "HTTP/1.1 200 OK\r\n"
      "Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
      "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
      "Connection: close\r\n\r\n";
  VsMjpegClient *c;

  if (g_list_length (bc->mjpeg_clients) >= bc->cfg->max_viewers) {
    vs_log (bc->cfg, "refused an /mjpeg client: too many (see "
        "--max-viewers)");
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
  VsMjpeg *bc = g_object_get_data (G_OBJECT (msg), "vs-mjpeg");
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
vs_mjpeg_snapshot (VsMjpeg * bc, SoupServerMessage * msg)
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
  g_object_set_data (G_OBJECT (msg), "vs-mjpeg", bc);
  bc->snapshot_waiters = g_list_append (bc->snapshot_waiters,
      g_object_ref (msg));
  soup_server_message_pause (msg);
  jpeg_users_changed (bc);
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, 3, snapshot_timeout,
      g_object_ref (msg), g_object_unref);
}

VsMjpeg *
vs_mjpeg_new (VsMedia * media, const VsConfig * cfg, GError ** error)
{
  VsMjpeg *bc = g_new0 (VsMjpeg, 1);
  GstAppSinkCallbacks cb = { NULL, NULL, jpeg_sample };
  GstElement *q, *convert, *caps, *enc, *sink;
  GstCaps *c;
  GstPad *pad;

  bc->media = media;
  bc->cfg = cfg;
  bc->jnext_pts = GST_CLOCK_TIME_NONE;
  {
    const VsElementSpec specs[] = {
      {"queue", &q}, {"valve", &bc->jvalve}, {"videoconvertscale", &convert},
      {"capsfilter", &caps}, {"jpegenc", &enc}, {"appsink", &sink},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      g_free (bc);
      return NULL;
    }
  }
  g_object_set (q, "max-size-buffers", 1, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, "leaky", 2, NULL);
  g_object_set (bc->jvalve, "drop", TRUE, NULL);
  g_object_set (convert, "n-threads", 2, NULL);
  c = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420",
      NULL);
  g_object_set (caps, "caps", c, NULL);
  gst_caps_unref (c);
  g_object_set (enc, "quality", cfg->mjpeg_quality, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 1,
      "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, bc, NULL);
  bc->branch = gst_bin_new ("mjpeg");
  gst_bin_add_many (GST_BIN (bc->branch), q, bc->jvalve, convert, caps, enc,
      sink, NULL);
  gst_element_link_many (q, bc->jvalve, convert, caps, enc, sink, NULL);
  pad = gst_element_get_static_pad (q, "sink");
  gst_element_add_pad (bc->branch, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (bc->jvalve, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, jpeg_rate_probe, bc,
      NULL);
  gst_object_unref (pad);
  vs_media_add_branch (media, bc->branch, NULL, NULL);
  if (!vs_media_link_raw (media, bc->branch)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the MJPEG branch to the source");
    vs_mjpeg_free (bc);
    return NULL;
  }
  return bc;
}

void
vs_mjpeg_free (VsMjpeg * bc)
{
  if (!bc)
    return;
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
  vs_media_remove_branch (bc->media, bc->branch);
  if (bc->last_jpeg)
    g_bytes_unref (bc->last_jpeg);
  g_free (bc);
}

void
vs_mjpeg_tick (VsMjpeg * bc, GString * line)
{
  if (line && bc->mjpeg_clients)
    g_string_append_printf (line, " | %u mjpeg",
        g_list_length (bc->mjpeg_clients));
}

void
vs_mjpeg_describe (VsMjpeg * bc, JsonBuilder * b)
{
  guint64 skipped = 0;

  for (GList * l = bc->mjpeg_clients; l; l = l->next)
    skipped += ((VsMjpegClient *) l->data)->skipped;
  json_builder_set_member_name (b, "mjpeg");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "clients");
  json_builder_add_int_value (b, g_list_length (bc->mjpeg_clients));
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, bc->jpegs);
  json_builder_set_member_name (b, "skipped");
  json_builder_add_int_value (b, skipped);
  json_builder_end_object (b);
}
