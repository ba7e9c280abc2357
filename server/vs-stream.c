/* vizstream-server: one stream (vs-stream.h). It makes its modules in
 * their order (docs/architecture.md), holds its viewers and who controls,
 * and answers what they report:
 *
 *   media core -> encodes -> RTMP, Janus, recording, MJPEG -> viewers
 *
 * Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-stream.h"
#include "vs-janus.h"
#include "vs-record.h"
#include "vs-rtmp.h"
#include "vs-roles.h"
#include "vs-signal.h"
#include "vs-viewer.h"

#include <string.h>

struct _VsStream
{
  gchar *name, *segment, *token, *restart;
  gboolean listed;
  VsConfig cfg;                 /* the server's, with the three above */
  VsStreamHooks hooks;
  VsMedia *media;
  VsEncodes *encodes;
  VsRtmpSet *rtmp;
  VsJanusSet *janus;
  VsRecord *record;             /* NULL without --record */
  VsMjpeg *mjpeg;
  VsViewerContext ctx;
  GList *viewers;               /* VsViewer*, oldest first, ref held */
  VsViewer *leader;             /* the one the main encode follows */
  guint next_id;
  /* the renderer's messages: the newest, wrapped for pages; whether it
   * still waits for its broadcast (coalescing) */
  gchar *message;
  gboolean message_pending;
  guint message_timer;
  gint64 message_sent_us;
  guint64 messages_in, messages_out, messages_coalesced;
};

/* Renderer messages go to pages at most this often; faster ones are
 * coalesced, the newest kept (docs/server.md "Messages"). */
#define MESSAGE_INTERVAL_US (50 * 1000)

/* ---- to viewers ---- */

static void
broadcast_text (VsStream * stream, const gchar * text)
{
  for (GList * l = stream->viewers; l; l = l->next)
    vs_viewer_send_text (l->data, text);
}

/* Who controls (vs-roles.c), told to each page that joined. */
static void
assign_roles (VsStream * stream)
{
  guint n = g_list_length (stream->viewers), i = 0;
  VsRoleSeat *seats = g_new0 (VsRoleSeat, MAX (n, 1));
  gint leader;
  GList *l;

  for (l = stream->viewers; l; l = l->next, i++) {
    VsViewer *v = l->data;
    seats[i].joined = v->joined && !v->closed;
    seats[i].has_token = v->has_token;
    seats[i].view_only = v->view_only;
  }
  leader = vs_roles_assign (stream->cfg.control, stream->cfg.token != NULL,
      seats, n);
  stream->leader = NULL;
  for (l = stream->viewers, i = 0; l; l = l->next, i++) {
    if (seats[i].joined)
      vs_viewer_set_role (l->data, seats[i].controls);
    if ((gint) i == leader)
      stream->leader = l->data;
  }
  g_free (seats);
}

static void
viewer_joined (VsViewer * viewer, gpointer data)
{
  VsStream *stream = data;

  assign_roles (stream);
  /* A late joiner gets the renderer's newest message: its state now. */
  if (stream->message)
    vs_viewer_send_text (viewer, stream->message);
}

static void
viewer_closed (VsViewer * viewer, gpointer data)
{
  VsStream *stream = data;
  GList *l = g_list_find (stream->viewers, viewer);

  if (!l)
    return;
  stream->viewers = g_list_delete_link (stream->viewers, l);
  assign_roles (stream);
  vs_viewer_unref (viewer);
}

static void
viewer_input (VsViewer * viewer, const gchar * text, gsize len,
    gpointer data)
{
  VsStream *stream = data;
  vs_record_input (stream->record, viewer->id, text, len);
}

/* ---- media news ---- */

static void
renderer_state (const gchar * state, const gchar * why, gpointer data)
{
  VsStream *stream = data;
  gchar *text;

  vs_log (&stream->cfg, "renderer %s%s%s", state, why && *why ? ": " : "",
      why ? why : "");
  text = vs_signal_message ("renderer", "state", state);
  broadcast_text (stream, text);
  g_free (text);
}

static gboolean
message_flush (gpointer data)
{
  VsStream *stream = data;

  stream->message_timer = 0;
  if (stream->message_pending) {
    stream->message_pending = FALSE;
    stream->message_sent_us = g_get_monotonic_time ();
    stream->messages_out++;
    broadcast_text (stream, stream->message);
  }
  return G_SOURCE_REMOVE;
}

static void
renderer_message (const gchar * json, gpointer data)
{
  VsStream *stream = data;
  gint64 wait;

  /* The library checked the text is one JSON object: it goes in as is. */
  stream->messages_in++;
  if (stream->message_pending)
    stream->messages_coalesced++;
  g_free (stream->message);
  stream->message = g_strdup_printf ("{\"type\":\"message\",\"data\":%s}",
      json);
  stream->message_pending = TRUE;
  if (stream->message_timer)
    return;
  wait = stream->message_sent_us + MESSAGE_INTERVAL_US
      - g_get_monotonic_time ();
  if (stream->message_sent_us == 0 || wait <= 0)
    message_flush (stream);
  else
    stream->message_timer = g_timeout_add ((guint) (wait / 1000) + 1,
        message_flush, stream);
}

static void
source_size (guint width, guint height, gpointer data)
{
  VsStream *stream = data;
  if (stream->encodes)
    vs_encodes_source_size (stream->encodes);
}

static void
fatal (const gchar * message, gpointer data)
{
  VsStream *stream = data;
  stream->hooks.failed (stream, message, stream->hooks.data);
}

/* ---- HTTP news ---- */

static gboolean
can_accept (gpointer data)
{
  VsStream *stream = data;
  return g_list_length (stream->viewers) < stream->cfg.max_viewers;
}

static void
websocket (SoupWebsocketConnection * ws, const gchar * address,
    gpointer data)
{
  VsStream *stream = data;
  stream->viewers = g_list_append (stream->viewers,
      vs_viewer_new (&stream->ctx, ++stream->next_id, ws, address));
}

static void
status (JsonBuilder * b, gpointer data)
{
  VsStream *stream = data;

  json_builder_set_member_name (b, "segment");
  json_builder_add_string_value (b, stream->segment);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, stream->cfg.codec == VS_CODEC_H264 ?
      "h264" : "vp8");
  json_builder_set_member_name (b, "view_only_dropped");
  json_builder_add_int_value (b, stream->ctx.view_only_dropped);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "received");
  json_builder_add_int_value (b, stream->messages_in);
  json_builder_set_member_name (b, "broadcast");
  json_builder_add_int_value (b, stream->messages_out);
  json_builder_set_member_name (b, "coalesced");
  json_builder_add_int_value (b, stream->messages_coalesced);
  json_builder_end_object (b);
  vs_media_describe (stream->media, b);
  vs_encodes_describe (stream->encodes, b);
  vs_rtmp_describe (stream->rtmp, b);
  vs_janus_describe (stream->janus, b);
  vs_record_describe (stream->record, b);
  vs_mjpeg_describe (stream->mjpeg, b);
  json_builder_set_member_name (b, "viewers");
  json_builder_begin_array (b);
  for (GList * l = stream->viewers; l; l = l->next) {
    json_builder_begin_object (b);
    vs_viewer_describe (l->data, b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

void
vs_stream_route (VsStream * stream, VsHttpRoute * route)
{
  memset (route, 0, sizeof *route);
  route->cfg = &stream->cfg;
  route->mjpeg = stream->mjpeg;
  route->listed = stream->listed;
  route->can_accept = can_accept;
  route->websocket = websocket;
  route->status = status;
  route->data = stream;
}

/* ---- tick ---- */

/* Once a second: the controller over the WebRTC links measured now. */
static void
adapt (VsStream * stream)
{
  GPtrArray *legs = g_ptr_array_new ();
  VsLeg *leader = stream->leader ? vs_viewer_leg (stream->leader) : NULL;

  for (GList * l = stream->viewers; l; l = l->next) {
    VsLeg *leg = vs_viewer_measure (l->data);
    if (leg)
      g_ptr_array_add (legs, leg);
  }
  if (stream->cfg.adapt)
    vs_encodes_adapt (stream->encodes, (VsLeg **) legs->pdata, legs->len,
        leader, stream->leader != NULL);
  g_ptr_array_unref (legs);
}

void
vs_stream_tick (VsStream * stream, VsStreamTick * out, GString * line)
{
  memset (out, 0, sizeof *out);
  adapt (stream);
  vs_encodes_tick (stream->encodes, &out->fps, &out->kbps, &out->target);
  for (GList * l = stream->viewers; l; l = l->next) {
    out->viewers++;
    out->controlling += ((VsViewer *) l->data)->controls;
  }
  vs_rtmp_tick (stream->rtmp, line);
  vs_janus_tick (stream->janus, line);
  vs_record_tick (stream->record, line);
  if (line)
    vs_mjpeg_tick (stream->mjpeg, line);
}

/* ---- life ---- */

const gchar *
vs_stream_name (VsStream * stream)
{
  return stream->name;
}

const gchar *
vs_stream_encoder_name (VsStream * stream)
{
  return vs_encodes_encoder_name (stream->encodes);
}

guint
vs_stream_n_viewers (VsStream * stream)
{
  return g_list_length (stream->viewers);
}

VsStream *
vs_stream_new (const VsConfig * cfg, const VsStreamSpec * spec,
    const VsStreamHooks * hooks, GError ** error)
{
  VsStream *stream = g_new0 (VsStream, 1);
  VsMediaHooks mh = { renderer_state, source_size, renderer_message,
    fatal, stream
  };

  stream->name = g_strdup (spec->name);
  stream->segment = g_strdup (spec->segment);
  stream->token = g_strdup (spec->token ? spec->token : cfg->token);
  stream->listed = !spec->unlisted;
  stream->restart = g_strdup (spec->restart);
  stream->hooks = *hooks;
  /* The server's settings, strings shared (it outlives us), with ours. */
  stream->cfg = *cfg;
  stream->cfg.segment = stream->segment;
  stream->cfg.token = stream->token;
  stream->cfg.stream_name = stream->name;
  stream->cfg.streams = NULL;
  stream->cfg.n_streams = 0;

  stream->ctx.cfg = &stream->cfg;
  stream->ctx.hooks.joined = viewer_joined;
  stream->ctx.hooks.closed = viewer_closed;
  stream->ctx.hooks.input = viewer_input;
  stream->ctx.hooks.data = stream;
  if (!(stream->media = vs_media_new (&stream->cfg, &mh, error))
      || !(stream->encodes = vs_encodes_new (stream->media, &stream->cfg,
              error))
      || !(stream->mjpeg = vs_mjpeg_new (stream->media, &stream->cfg, error))
      || !(stream->rtmp = vs_rtmp_new (stream->media, &stream->cfg, error))
      || !(stream->janus = vs_janus_new (stream->media, stream->encodes,
              &stream->cfg))
      || (cfg->record_dir && !(stream->record = vs_record_new (stream->media,
                  stream->encodes, &stream->cfg, error)))
      || !vs_media_start (stream->media, error)) {
    vs_stream_free (stream, NULL);
    return NULL;
  }
  stream->ctx.media = stream->media;
  stream->ctx.encodes = stream->encodes;
  return stream;
}

void
vs_stream_free (VsStream * stream, const gchar * reason)
{
  gchar *ended, *close_reason = NULL;
  const gchar *end;

  if (!stream)
    return;
  ended = reason ? vs_signal_ended (reason, stream->restart) : NULL;
  if (reason) {
    /* A WebSocket close reason holds 123 bytes: cut on a character. */
    close_reason = g_strndup (reason, 120);
    g_utf8_validate (close_reason, -1, &end);
    close_reason[end - close_reason] = '\0';
  }
  while (stream->viewers) {
    VsViewer *v = stream->viewers->data;
    if (ended)
      vs_viewer_send_text (v, ended);
    vs_viewer_close (v, close_reason);
  }
  g_free (close_reason);
  g_free (ended);
  g_clear_pointer (&stream->rtmp, vs_rtmp_free);
  g_clear_pointer (&stream->janus, vs_janus_free);
  g_clear_pointer (&stream->record, vs_record_free);
  g_clear_pointer (&stream->mjpeg, vs_mjpeg_free);
  /* The encodes' elements are the pipeline's. */
  g_clear_pointer (&stream->media, vs_media_free);
  g_clear_pointer (&stream->encodes, vs_encodes_free);
  if (stream->message_timer)
    g_source_remove (stream->message_timer);
  g_free (stream->message);
  g_free (stream->name);
  g_free (stream->segment);
  g_free (stream->restart);
  if (stream->token)
    explicit_bzero (stream->token, strlen (stream->token));
  g_free (stream->token);
  g_free (stream);
}
