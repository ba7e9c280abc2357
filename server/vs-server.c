/* vizstream-server: the server's life (vs-server.h). It holds the
 * options, HTTP, the main loop and the streams by name, and answers what
 * they report:
 *
 *   config -> HTTP (routes) -> streams (vs-stream.c: media core, encodes,
 *     RTMP, Janus, recording, MJPEG, viewers)
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
#include "vs-server.h"
#include "vs-sessions.h"

#include <stdio.h>
#include <unistd.h>
#include <glib-unix.h>

#define GST_CAT_DEFAULT vs_debug

struct _VsServer
{
  VsConfig cfg;
  VsHttp *http;
  GHashTable *streams;          /* name -> VsStream* (owned) */
  GList *order;                 /* VsStream*, in the order added */
  GHashTable *failed;           /* name -> why: to remove (idle) */
  guint failed_idle;
  gboolean run_empty;
  VsSessions *sessions;         /* --launch, or NULL */
  GMainLoop *loop;
  guint tick_id;
  gboolean tty;
  gint exit_code;
  guint ticks;
};

/* ---- streams ---- */

static void stream_failed (VsStream * stream, const gchar * message,
    gpointer data);

VsStream *
vs_server_find_stream (VsServer * server, const gchar * name)
{
  return g_hash_table_lookup (server->streams, name);
}

guint
vs_server_n_streams (VsServer * server)
{
  return g_hash_table_size (server->streams);
}

void
vs_server_set_run_empty (VsServer * server, gboolean run_empty)
{
  server->run_empty = run_empty;
  /* Streams made on demand: each log line says whose it is. */
  server->cfg.log_stream_name |= run_empty;
}

gboolean
vs_server_add_stream (VsServer * server, const VsStreamSpec * spec,
    GError ** error)
{
  VsStreamHooks hooks = { stream_failed, server };
  VsHttpRoute route;
  VsStream *stream;

  if (!vs_config_stream_name_ok (spec->name)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "a stream's name wants 1 to 64 of A-Z a-z 0-9 _ -, not '%s'",
        spec->name ? spec->name : "");
    return FALSE;
  }
  if (g_hash_table_contains (server->streams, spec->name)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
        "there is a stream named '%s' already", spec->name);
    return FALSE;
  }
  if (!(stream = vs_stream_new (&server->cfg, spec, &hooks, error))) {
    g_prefix_error (error, "stream '%s': ", spec->name);
    return FALSE;
  }
  g_hash_table_insert (server->streams, (gpointer) vs_stream_name (stream),
      stream);
  server->order = g_list_append (server->order, stream);
  vs_stream_route (stream, &route);
  vs_http_add_route (server->http, vs_stream_name (stream), &route);
  if (server->cfg.log_stream_name)
    vs_log (&server->cfg, "stream %s added (segment '%s')", spec->name,
        spec->segment ? spec->segment : "-");
  return TRUE;
}

gboolean
vs_server_remove_stream (VsServer * server, const gchar * name,
    const gchar * reason)
{
  VsStream *stream = g_hash_table_lookup (server->streams, name);
  gchar *copy;

  if (!stream)
    return FALSE;
  copy = g_strdup (name);
  /* Its URLs first: nobody joins a stream on its way out. */
  vs_http_remove_route (server->http, copy);
  server->order = g_list_remove (server->order, stream);
  g_hash_table_steal (server->streams, copy);
  g_hash_table_remove (server->failed, copy);
  vs_log (&server->cfg, "stream %s removed%s%s", copy, reason ? ": " : "",
      reason ? reason : "");
  vs_stream_free (stream, reason ? reason : "this stream has ended");
  g_free (copy);
  return TRUE;
}

/* Failed streams go once the bus watch that told us has returned. */
static gboolean
remove_failed (gpointer data)
{
  VsServer *server = data;
  GHashTableIter it;
  gpointer name, why;

  server->failed_idle = 0;
  while (g_hash_table_size (server->failed)) {
    gchar *n, *reason;
    g_hash_table_iter_init (&it, server->failed);
    g_hash_table_iter_next (&it, &name, &why);
    n = g_strdup (name);
    reason = g_strdup_printf ("the stream failed: %s", (gchar *) why);
    g_printerr ("%svizstream-server: stream %s failed: %s\n",
        server->tty ? "\n" : "", n, (gchar *) why);
    g_hash_table_remove (server->failed, n);
    vs_server_remove_stream (server, n, reason);
    g_free (reason);
    g_free (n);
  }
  if (!server->order && !server->run_empty) {
    g_printerr ("vizstream-server: no stream left\n");
    server->exit_code = 1;
    g_main_loop_quit (server->loop);
  }
  return G_SOURCE_REMOVE;
}

static void
stream_failed (VsStream * stream, const gchar * message, gpointer data)
{
  VsServer *server = data;

  /* The only stream of a server started with one: the server stops, as
   * it always has (the exit status says so). */
  if (server->cfg.n_streams == 1 && !server->run_empty) {
    g_printerr ("%svizstream-server: %s\n", server->tty ? "\n" : "",
        message);
    server->exit_code = 1;
    g_main_loop_quit (server->loop);
    return;
  }
  if (!g_hash_table_contains (server->failed, vs_stream_name (stream)))
    g_hash_table_insert (server->failed, g_strdup (vs_stream_name (stream)),
        g_strdup (message));
  if (!server->failed_idle)
    server->failed_idle = g_idle_add (remove_failed, server);
}

/* ---- tick ---- */

static gboolean
tick_cb (gpointer data)
{
  VsServer *server = data;
  GString *line = server->cfg.quiet ? NULL : g_string_new (NULL);
  GString *each = g_string_new (NULL);
  VsStreamTick sum = { 0 }, t;
  guint n = 0;

  server->ticks++;
  for (GList * l = server->order; l; l = l->next, n++) {
    vs_stream_tick (l->data, &t, line);
    sum.fps = t.fps;
    sum.kbps += t.kbps;
    sum.target = t.target;
    sum.viewers += t.viewers;
    sum.controlling += t.controlling;
    g_string_append_printf (each, "%s%s %.1f fps", n ? ", " : "",
        vs_stream_name (l->data), t.fps);
  }
  /* On a terminal one line kept up to date; in a log a line every 10 s. */
  if (line && (server->tty || server->ticks % 10 == 0)) {
    if (n == 1)
      g_printerr ("%svizstream-server: %u viewer%s (%u controlling) | "
          "%.1f fps | %.0f kbit/s (target %u)%s %s", server->tty ? "\r" : "",
          sum.viewers, sum.viewers == 1 ? "" : "s", sum.controlling, sum.fps,
          sum.kbps, sum.target, line->str, server->tty ? "   " : "\n");
    else
      g_printerr ("%svizstream-server: %u streams | %u viewer%s "
          "(%u controlling) | %.0f kbit/s | %s%s %s", server->tty ? "\r" :
          "", n, sum.viewers, sum.viewers == 1 ? "" : "s", sum.controlling,
          sum.kbps, each->str, line->str, server->tty ? "   " : "\n");
  }
  if (line)
    g_string_free (line, TRUE);
  g_string_free (each, TRUE);
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

/* HTTP, then the command line's streams; FALSE with the reason in error. */
/* The table of streams as sessions see it (vs-sessions.h). */
static gboolean
sessions_add (const VsStreamSpec * spec, GError ** error, gpointer data)
{
  return vs_server_add_stream (data, spec, error);
}

static void
sessions_remove (const gchar * name, const gchar * reason, gpointer data)
{
  vs_server_remove_stream (data, name, reason);
}

static VsStream *
sessions_find (const gchar * name, gpointer data)
{
  return vs_server_find_stream (data, name);
}

static gboolean
server_start (VsServer * server, GError ** error)
{
  server->streams = g_hash_table_new (g_str_hash, g_str_equal);
  server->failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  if (!(server->http = vs_http_new (&server->cfg, error)))
    return FALSE;
  for (guint i = 0; i < server->cfg.n_streams; i++) {
    const VsConfigStream *cs = &server->cfg.streams[i];
    VsStreamSpec spec = { cs->name, cs->segment, cs->token, FALSE };
    if (!vs_server_add_stream (server, &spec, error))
      return FALSE;
  }
  if (server->cfg.launch) {
    VsSessionsStreams streams = { sessions_add, sessions_remove,
      sessions_find, server
    };
    vs_server_set_run_empty (server, TRUE);
    server->sessions = vs_sessions_new (&streams, &server->cfg, server->http);
  }
  return TRUE;
}

static void
server_stop (VsServer * server)
{
  /* Sessions first: their pages are told (nothing takes them back) and
   * every renderer is ended and reaped. */
  g_clear_pointer (&server->sessions, vs_sessions_free);
  /* The last first; no page is told anything (a restarted server takes
   * them back). */
  while (server->order) {
    VsStream *stream = g_list_last (server->order)->data;
    vs_http_remove_route (server->http, vs_stream_name (stream));
    g_hash_table_remove (server->streams, vs_stream_name (stream));
    server->order = g_list_remove (server->order, stream);
    vs_stream_free (stream, NULL);
  }
  g_clear_pointer (&server->http, vs_http_free);
  if (server->failed_idle)
    g_source_remove (server->failed_idle);
  server->failed_idle = 0;
  g_clear_pointer (&server->failed, g_hash_table_unref);
  g_clear_pointer (&server->streams, g_hash_table_unref);
}

int
vs_server_main (int argc, char **argv, const VsEmbed * embed)
{
  VsServer server = { 0 };
  GError *err = NULL;
  guint sigint, sigterm;
  VsStream *first;

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

  /* With several streams each log line says whose it is. */
  server.cfg.log_stream_name = server.cfg.n_streams > 1;
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
  first = server.order ? server.order->data : NULL;
  if (!first) {
    g_print ("vizstream-server: serving %s (sessions on demand at new: "
        "--launch, up to %u; %s)\n", vs_http_url (server.http),
        server.cfg.max_sessions, server.cfg.codec == VS_CODEC_H264 ? "H.264" :
        "VP8");
  } else if (server.cfg.n_streams == 1) {
    g_print ("vizstream-server: serving %s (segment '%s', %s with %s)\n",
        vs_http_url (server.http), server.cfg.segment ? server.cfg.segment :
        "-", server.cfg.codec == VS_CODEC_H264 ? "H.264" : "VP8",
        vs_stream_encoder_name (first));
  } else {
    GString *names = g_string_new (NULL);
    for (GList * l = server.order; l; l = l->next)
      g_string_append_printf (names, "%s%s", names->len ? ", " : "",
          vs_stream_name (l->data));
    g_print ("vizstream-server: serving %s (%u streams at s/NAME/: %s; %s "
        "with %s)\n", vs_http_url (server.http), server.cfg.n_streams,
        names->str, server.cfg.codec == VS_CODEC_H264 ? "H.264" : "VP8",
        vs_stream_encoder_name (first));
    g_string_free (names, TRUE);
  }

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
