/* vizstream-server: video over the WebSocket (vs-wsvideo.h).
 *
 * Threads: the appsink callback runs on the streaming thread; it copies
 * the frame and hands it to the main loop, holding a reference.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-wsvideo.h"

#include <string.h>
#include <gst/app/app.h>

#define GST_CAT_DEFAULT vs_debug

#define WS_IN_FLIGHT 6
#define WS_HEADER 24

struct _VsWsVideo
{
  gint ref;                     /* atomic */
  gboolean closed;              /* main loop */
  VsMedia *media;
  VsLeg leg;
  GstElement *bin, *queue, *appsink;
  SoupWebsocketConnection *ws;
  void (*failed) (const gchar * reason, gpointer data);
  gpointer data;
  /* main loop */
  guint32 seq, acked;
  guint64 dropped, bytes;
};

static VsWsVideo *
wsv_ref (VsWsVideo * wsv)
{
  g_atomic_int_inc (&wsv->ref);
  return wsv;
}

static void
wsv_unref (VsWsVideo * wsv)
{
  if (!g_atomic_int_dec_and_test (&wsv->ref))
    return;
  g_clear_object (&wsv->ws);
  gst_clear_object (&wsv->bin);
  g_free (wsv);
}

typedef struct
{
  VsWsVideo *wsv;
  GBytes *frame;                /* NULL: a key frame request */
  gboolean key;
} WsFrame;

static gboolean
frame_send (gpointer data)
{
  WsFrame *f = data;
  VsWsVideo *wsv = f->wsv;

  if (wsv->closed || soup_websocket_connection_get_state (wsv->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN) {
    /* gone */
  } else if (!f->frame) {
    vs_leg_request_key (&wsv->leg);
  } else if (wsv->seq - wsv->acked >= WS_IN_FLIGHT) {
    /* Too much in flight: drop, and start again at a key frame. */
    wsv->dropped++;
    if (!g_atomic_int_get (&wsv->leg.need_key))
      vs_leg_request_key (&wsv->leg);
  } else if (g_atomic_int_get (&wsv->leg.need_key) && !f->key) {
    /* Room again, but the key frame asked for may have been dropped
     * above: ask again (the encode sends one per 200 ms at most). */
    wsv->dropped++;
    vs_leg_request_key (&wsv->leg);
  } else {
    gsize len;
    guint8 *d = (guint8 *) g_bytes_get_data (f->frame, &len);
    if (f->key)
      g_atomic_int_set (&wsv->leg.need_key, 0);
    wsv->seq++;
    GST_WRITE_UINT32_LE (d + 4, wsv->seq);
    wsv->bytes += len;
    soup_websocket_connection_send_binary (wsv->ws, d, len);
  }
  if (f->frame)
    g_bytes_unref (f->frame);
  wsv_unref (wsv);
  g_free (f);
  return G_SOURCE_REMOVE;
}

static GstFlowReturn
on_sample (GstAppSink * sink, gpointer data)
{
  VsWsVideo *wsv = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  const GstSegment *seg;
  VsTiming t = { 0, 0, 0 };
  GstBuffer *buf;
  GstMapInfo map;
  WsFrame *f;
  guint8 *d;

  if (!sample)
    return GST_FLOW_OK;
  buf = gst_sample_get_buffer (sample);
  seg = gst_sample_get_segment (sample);
  if (seg && seg->format == GST_FORMAT_TIME)
    vs_media_lookup_timing (wsv->media, gst_segment_to_running_time (seg,
            GST_FORMAT_TIME, GST_BUFFER_PTS (buf)), &t);
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    d = g_malloc0 (WS_HEADER + map.size);
    f = g_new0 (WsFrame, 1);
    f->key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
    d[0] = 1;                   /* version */
    d[1] = f->key ? 1 : 0;
    GST_WRITE_UINT32_LE (d + 8, (guint32) t.frame);
    GST_WRITE_DOUBLE_LE (d + 16, t.unix_ns / 1e6);
    memcpy (d + WS_HEADER, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    f->wsv = wsv_ref (wsv);
    f->frame = g_bytes_new_take (d, WS_HEADER + map.size);
    g_main_context_invoke (NULL, frame_send, f);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void
on_overrun (GstElement * queue, gpointer data)
{
  VsWsVideo *wsv = data;
  WsFrame *f;

  if (!vs_leg_overrun (&wsv->leg))
    return;
  f = g_new0 (WsFrame, 1);
  f->wsv = wsv_ref (wsv);
  g_main_context_invoke (NULL, frame_send, f);
}

static void
on_bin_error (const gchar * message, gpointer data)
{
  VsWsVideo *wsv = data;
  if (!wsv->closed)
    wsv->failed (message, wsv->data);
}

VsWsVideo *
vs_ws_video_new (guint id, VsMedia * media, VsEncodes * encodes,
    SoupWebsocketConnection * ws, void (*failed) (const gchar * reason,
        gpointer data), gpointer data, GError ** error)
{
  VsWsVideo *wsv = g_new0 (VsWsVideo, 1);
  GstAppSinkCallbacks cb = { NULL, NULL, on_sample };
  gchar name[32];
  GstPad *pad;

  wsv->ref = 1;
  wsv->media = media;
  wsv->ws = g_object_ref (ws);
  wsv->failed = failed;
  wsv->data = data;
  g_snprintf (name, sizeof name, "wsviewer%u", id);
  wsv->bin = gst_object_ref_sink (gst_bin_new (name));
  {
    const VsElementSpec specs[] = {
      {"queue", &wsv->queue}, {"appsink", &wsv->appsink}
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      wsv_unref (wsv);
      return NULL;
    }
  }
  g_object_set (wsv->queue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) 300 * GST_MSECOND, "leaky", 2, NULL);
  g_signal_connect (wsv->queue, "overrun", G_CALLBACK (on_overrun), wsv);
  g_object_set (wsv->appsink, "sync", FALSE, "async", FALSE, "max-buffers", 4,
      "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (wsv->appsink), &cb, wsv, NULL);
  gst_bin_add_many (GST_BIN (wsv->bin), wsv->queue, wsv->appsink, NULL);
  gst_element_link (wsv->queue, wsv->appsink);
  pad = gst_element_get_static_pad (wsv->queue, "sink");
  gst_element_add_pad (wsv->bin, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);

  vs_leg_init (&wsv->leg, encodes, wsv->bin);
  g_atomic_int_set (&wsv->leg.connected, 1);
  vs_media_add_branch (media, wsv->bin, on_bin_error, wsv);
  pad = gst_element_get_static_pad (wsv->queue, "src");
  vs_leg_attach (&wsv->leg, pad);
  gst_object_unref (pad);
  vs_leg_request_key (&wsv->leg);
  return wsv;
}

void
vs_ws_video_close (VsWsVideo * wsv)
{
  if (!wsv || wsv->closed)
    return;
  wsv->closed = TRUE;
  vs_leg_detach (&wsv->leg);
  g_signal_handlers_disconnect_by_data (wsv->queue, wsv);
  vs_media_remove_branch (wsv->media, wsv->bin);
  wsv_unref (wsv);
}

void
vs_ws_video_ack (VsWsVideo * wsv, guint32 seq)
{
  if (seq <= wsv->seq && seq > wsv->acked)
    wsv->acked = seq;
}

void
vs_ws_video_describe (VsWsVideo * wsv, JsonBuilder * b)
{
  json_builder_set_member_name (b, "connected");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "variant");
  json_builder_add_string_value (b, vs_leg_variant_name (&wsv->leg));
  json_builder_set_member_name (b, "overruns");
  json_builder_add_int_value (b, g_atomic_int_get (&wsv->leg.overruns));
  json_builder_set_member_name (b, "ws_frames");
  json_builder_add_int_value (b, wsv->seq);
  json_builder_set_member_name (b, "ws_dropped");
  json_builder_add_int_value (b, wsv->dropped);
  json_builder_set_member_name (b, "ws_bytes");
  json_builder_add_int_value (b, wsv->bytes);
}

void
vs_ws_video_post_test_error (VsWsVideo * wsv)
{
  GError *err = g_error_new_literal (GST_STREAM_ERROR,
      GST_STREAM_ERROR_FAILED, "test hook: an error inside a viewer's bin");
  gst_element_post_message (wsv->queue,
      gst_message_new_error (GST_OBJECT (wsv->queue), err, "test_error"));
  g_error_free (err);
}
