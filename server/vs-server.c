/* vizstream-server: the server's life. It makes the modules in their
 * order (docs/architecture.md), holds the viewers and who controls, and
 * answers what they report:
 *
 *   config -> media core -> encodes -> RTMP, Janus, recording, MJPEG -> HTTP
 *     -> viewers
 *
 * Everything runs on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-embed.h"
#include "vs-config.h"
#include "vs-http.h"
#include "vs-janus.h"
#include "vs-record.h"
#include "vs-rtmp.h"
#include "vs-roles.h"
#include "vs-signal.h"
#include "vs-viewer.h"

#include <stdio.h>
#include <unistd.h>
#include <glib-unix.h>

#define GST_CAT_DEFAULT vs_debug

typedef struct
{
  VsConfig cfg;
  VsMedia *media;
  VsEncodes *encodes;
  VsRtmpSet *rtmp;
  VsJanusSet *janus;
  VsRecord *record;             /* NULL without --record */
  VsMjpeg *mjpeg;
  VsHttp *http;
  VsViewerContext ctx;
  GList *viewers;               /* VsViewer*, oldest first, ref held */
  VsViewer *leader;             /* the one the main encode follows */
  guint next_id;
  GMainLoop *loop;
  guint tick_id;
  gboolean tty;
  gint exit_code;
  guint ticks;
  /* the renderer's messages (main loop): the newest, wrapped for pages;
   * whether it still waits for its broadcast (coalescing) */
  gchar *message;
  gboolean message_pending;
  guint message_timer;
  gint64 message_sent_us;
  guint64 messages_in, messages_out, messages_coalesced;
} VsServer;

/* Renderer messages go to pages at most this often; faster ones are
 * coalesced, the newest kept (docs/server.md "Messages"). */
#define MESSAGE_INTERVAL_US (50 * 1000)

/* ---- to viewers ---- */

static void
broadcast_text (VsServer * server, const gchar * text)
{
  for (GList * l = server->viewers; l; l = l->next)
    vs_viewer_send_text (l->data, text);
}

/* Who controls (vs-roles.c), told to each page that joined. */
static void
assign_roles (VsServer * server)
{
  guint n = g_list_length (server->viewers), i = 0;
  VsRoleSeat *seats = g_new0 (VsRoleSeat, MAX (n, 1));
  gint leader;
  GList *l;

  for (l = server->viewers; l; l = l->next, i++) {
    VsViewer *v = l->data;
    seats[i].joined = v->joined && !v->closed;
    seats[i].has_token = v->has_token;
    seats[i].view_only = v->view_only;
  }
  leader = vs_roles_assign (server->cfg.control, server->cfg.token != NULL,
      seats, n);
  server->leader = NULL;
  for (l = server->viewers, i = 0; l; l = l->next, i++) {
    if (seats[i].joined)
      vs_viewer_set_role (l->data, seats[i].controls);
    if ((gint) i == leader)
      server->leader = l->data;
  }
  g_free (seats);
}

static void
viewer_joined (VsViewer * viewer, gpointer data)
{
  VsServer *server = data;

  assign_roles (server);
  /* A late joiner gets the renderer's newest message: its state now. */
  if (server->message)
    vs_viewer_send_text (viewer, server->message);
}

static void
viewer_closed (VsViewer * viewer, gpointer data)
{
  VsServer *server = data;
  GList *l = g_list_find (server->viewers, viewer);

  if (!l)
    return;
  server->viewers = g_list_delete_link (server->viewers, l);
  assign_roles (server);
  vs_viewer_unref (viewer);
}

static void
viewer_input (VsViewer * viewer, const gchar * text, gsize len,
    gpointer data)
{
  VsServer *server = data;
  vs_record_input (server->record, viewer->id, text, len);
}

/* ---- media news ---- */

static void
renderer_state (const gchar * state, const gchar * why, gpointer data)
{
  VsServer *server = data;
  gchar *text;

  vs_log (&server->cfg, "renderer %s%s%s", state, why && *why ? ": " : "",
      why ? why : "");
  text = vs_signal_message ("renderer", "state", state);
  broadcast_text (server, text);
  g_free (text);
}

static gboolean
message_flush (gpointer data)
{
  VsServer *server = data;

  server->message_timer = 0;
  if (server->message_pending) {
    server->message_pending = FALSE;
    server->message_sent_us = g_get_monotonic_time ();
    server->messages_out++;
    broadcast_text (server, server->message);
  }
  return G_SOURCE_REMOVE;
}

static void
renderer_message (const gchar * json, gpointer data)
{
  VsServer *server = data;
  gint64 wait;

  /* The library checked the text is one JSON object: it goes in as is. */
  server->messages_in++;
  if (server->message_pending)
    server->messages_coalesced++;
  g_free (server->message);
  server->message = g_strdup_printf ("{\"type\":\"message\",\"data\":%s}",
      json);
  server->message_pending = TRUE;
  if (server->message_timer)
    return;
  wait = server->message_sent_us + MESSAGE_INTERVAL_US
      - g_get_monotonic_time ();
  if (server->message_sent_us == 0 || wait <= 0)
    message_flush (server);
  else
    server->message_timer = g_timeout_add ((guint) (wait / 1000) + 1,
        message_flush, server);
}

static void
source_size (guint width, guint height, gpointer data)
{
  VsServer *server = data;
  if (server->encodes)
    vs_encodes_source_size (server->encodes);
}

static void
fatal (const gchar * message, gpointer data)
{
  VsServer *server = data;
  g_printerr ("%svizstream-server: %s\n", server->tty ? "\n" : "", message);
  server->exit_code = 1;
  g_main_loop_quit (server->loop);
}

/* ---- HTTP news ---- */

static gboolean
can_accept (gpointer data)
{
  VsServer *server = data;
  return g_list_length (server->viewers) < server->cfg.max_viewers;
}

static void
websocket (SoupWebsocketConnection * ws, const gchar * address,
    gpointer data)
{
  VsServer *server = data;
  server->viewers = g_list_append (server->viewers,
      vs_viewer_new (&server->ctx, ++server->next_id, ws, address));
}

static void
status (JsonBuilder * b, gpointer data)
{
  VsServer *server = data;

  json_builder_set_member_name (b, "segment");
  json_builder_add_string_value (b, server->cfg.segment);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, server->cfg.codec == VS_CODEC_H264 ?
      "h264" : "vp8");
  json_builder_set_member_name (b, "view_only_dropped");
  json_builder_add_int_value (b, server->ctx.view_only_dropped);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "received");
  json_builder_add_int_value (b, server->messages_in);
  json_builder_set_member_name (b, "broadcast");
  json_builder_add_int_value (b, server->messages_out);
  json_builder_set_member_name (b, "coalesced");
  json_builder_add_int_value (b, server->messages_coalesced);
  json_builder_end_object (b);
  vs_media_describe (server->media, b);
  vs_encodes_describe (server->encodes, b);
  vs_rtmp_describe (server->rtmp, b);
  vs_janus_describe (server->janus, b);
  vs_record_describe (server->record, b);
  vs_mjpeg_describe (server->mjpeg, b);
  json_builder_set_member_name (b, "viewers");
  json_builder_begin_array (b);
  for (GList * l = server->viewers; l; l = l->next) {
    json_builder_begin_object (b);
    vs_viewer_describe (l->data, b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* ---- tick ---- */

/* Once a second: the controller over the WebRTC links measured now. */
static void
adapt (VsServer * server)
{
  GPtrArray *legs = g_ptr_array_new ();
  VsLeg *leader = server->leader ? vs_viewer_leg (server->leader) : NULL;

  for (GList * l = server->viewers; l; l = l->next) {
    VsLeg *leg = vs_viewer_measure (l->data);
    if (leg)
      g_ptr_array_add (legs, leg);
  }
  if (server->cfg.adapt)
    vs_encodes_adapt (server->encodes, (VsLeg **) legs->pdata, legs->len,
        leader, server->leader != NULL);
  g_ptr_array_unref (legs);
}

static gboolean
tick_cb (gpointer data)
{
  VsServer *server = data;
  gdouble fps = 0, kbps = 0;
  guint target = 0, controlling = 0, n = 0;
  GString *line;

  adapt (server);
  vs_encodes_tick (server->encodes, &fps, &kbps, &target);
  server->ticks++;
  if (server->cfg.quiet) {
    vs_rtmp_tick (server->rtmp, NULL);
    vs_janus_tick (server->janus, NULL);
    vs_record_tick (server->record, NULL);
    return G_SOURCE_CONTINUE;
  }
  for (GList * l = server->viewers; l; l = l->next) {
    n++;
    controlling += ((VsViewer *) l->data)->controls;
  }
  line = g_string_new (NULL);
  vs_rtmp_tick (server->rtmp, line);
  vs_janus_tick (server->janus, line);
  vs_record_tick (server->record, line);
  vs_mjpeg_tick (server->mjpeg, line);
  /* On a terminal one line kept up to date; in a log a line every 10 s. */
  if (server->tty || server->ticks % 10 == 0)
    g_printerr ("%svizstream-server: %u viewer%s (%u controlling) | "
        "%.1f fps | %.0f kbit/s (target %u)%s %s", server->tty ? "\r" : "",
        n, n == 1 ? "" : "s", controlling, fps, kbps, target, line->str,
        server->tty ? "   " : "\n");
  g_string_free (line, TRUE);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer data)
{
  VsServer *server = data;
  g_main_loop_quit (server->loop);
  return G_SOURCE_CONTINUE;     /* removed when the loop is left */
}

/* ---- life ---- */

/* The modules in their order; FALSE with the reason in error. */
static gboolean
server_start (VsServer * server, GError ** error)
{
  const VsConfig *cfg = &server->cfg;
  VsMediaHooks mh = { renderer_state, source_size, renderer_message,
    fatal, server
  };
  VsHttpHooks hh = { can_accept, websocket, status, server };

  if (!(server->media = vs_media_new (cfg, &mh, error))
      || !(server->encodes = vs_encodes_new (server->media, cfg, error))
      || !(server->mjpeg = vs_mjpeg_new (server->media, cfg, error))
      || !(server->rtmp = vs_rtmp_new (server->media, cfg, error))
      || !(server->janus = vs_janus_new (server->media, server->encodes,
              cfg))
      || (cfg->record_dir && !(server->record = vs_record_new (server->media,
                  server->encodes, cfg, error)))
      || !vs_media_start (server->media, error))
    return FALSE;
  server->ctx.cfg = cfg;
  server->ctx.media = server->media;
  server->ctx.encodes = server->encodes;
  server->ctx.hooks.joined = viewer_joined;
  server->ctx.hooks.closed = viewer_closed;
  server->ctx.hooks.input = viewer_input;
  server->ctx.hooks.data = server;
  return (server->http = vs_http_new (cfg, server->mjpeg, &hh, error)) != NULL;
}

static void
server_stop (VsServer * server)
{
  while (server->viewers)
    vs_viewer_close (server->viewers->data, NULL);
  g_clear_pointer (&server->http, vs_http_free);
  g_clear_pointer (&server->rtmp, vs_rtmp_free);
  g_clear_pointer (&server->janus, vs_janus_free);
  g_clear_pointer (&server->record, vs_record_free);
  g_clear_pointer (&server->mjpeg, vs_mjpeg_free);
  /* The encodes' elements are the pipeline's. */
  g_clear_pointer (&server->media, vs_media_free);
  g_clear_pointer (&server->encodes, vs_encodes_free);
  if (server->message_timer)
    g_source_remove (server->message_timer);
  server->message_timer = 0;
  g_clear_pointer (&server->message, g_free);
}

int
vs_server_main (int argc, char **argv, const VsEmbed * embed)
{
  VsServer server = { 0 };
  GError *err = NULL;
  guint sigint, sigterm;

  setvbuf (stdout, NULL, _IOLBF, 0);
  switch (vs_config_parse (&server.cfg, argc, (const gchar * const *) argv,
          embed, &err)) {
    case VS_CONFIG_EXIT:
      g_print ("vizstream-server %s\n", PACKAGE_VERSION);
      vs_config_clear (&server.cfg);
      return 0;
    case VS_CONFIG_BAD:
      g_printerr ("vizstream-server: %s (see --help)\n", err->message);
      g_error_free (err);
      vs_config_clear (&server.cfg);
      return 2;
    case VS_CONFIG_RUN:
      break;
  }
  /* A certificate that cannot be used is a bad command line too: said
   * before anything starts. */
  if (server.cfg.tls_cert) {
    GTlsCertificate *cert = vs_http_load_certificate (&server.cfg, &err);
    if (!cert) {
      g_printerr ("vizstream-server: %s\n", err->message);
      g_error_free (err);
      vs_config_clear (&server.cfg);
      return 2;
    }
    g_object_unref (cert);
  }
  GST_DEBUG_CATEGORY_INIT (vs_debug, "vizstream-server", 0,
      "vizstream-server");

  server.loop = g_main_loop_new (NULL, FALSE);
  server.tty = isatty (2);
  if (!server_start (&server, &err)) {
    g_printerr ("vizstream-server: %s\n", err->message);
    g_error_free (err);
    server_stop (&server);
    g_main_loop_unref (server.loop);
    vs_config_clear (&server.cfg);
    return 1;
  }
  g_print ("vizstream-server: serving %s (segment '%s', %s with %s)\n",
      vs_http_url (server.http), server.cfg.segment ? server.cfg.segment :
      "-", server.cfg.codec == VS_CODEC_H264 ? "H.264" : "VP8",
      vs_encodes_encoder_name (server.encodes));

  server.tick_id = g_timeout_add_seconds (1, tick_cb, &server);
  sigint = g_unix_signal_add (SIGINT, quit_cb, &server);
  sigterm = g_unix_signal_add (SIGTERM, quit_cb, &server);
  g_main_loop_run (server.loop);

  if (!server.cfg.quiet)
    g_printerr ("%svizstream-server: stopping\n", server.tty ? "\n" : "");
  g_source_remove (server.tick_id);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  server_stop (&server);
  g_main_loop_unref (server.loop);
  vs_config_clear (&server.cfg);
  return server.exit_code;
}
