/* vizstream-server: serves the page, signals over WebSocket, and gives
 * each viewer a webrtcbin on the shared encode (vs-media.c). */
#include "vs-server.h"
#include "vs-signal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "config.h"

GST_DEBUG_CATEGORY (vs_debug);
#define GST_CAT_DEFAULT vs_debug

#define MAX_BAD_MESSAGES 20

struct _VsServer
{
  VsConfig cfg;
  SoupServer *soup;
  VsMedia *media;
  VsBroadcast *broadcast;
  GList *viewers;               /* VsViewer*, oldest first, ref held */
  guint next_id;
  GMainLoop *loop;
  guint tick_id;
  gboolean tty;
  gint exit_code;
  guint ticks;
  guint64 view_only_dropped;
  guint64 rejected;
  gchar *url;
};

typedef struct
{
  VsViewer viewer;
  gboolean hello;
  gboolean has_token;
  gboolean view_only;           /* asked by the page */
  gchar *transport;             /* webrtc, ws or mjpeg */
  guint bad_messages;
  gulong message_id, closed_id;
  gchar *address;
} VsViewerPriv;

/* ------------------------------------------------------------- viewers */

VsViewer *
vs_viewer_ref (VsViewer * viewer)
{
  g_atomic_int_inc (&viewer->ref);
  return viewer;
}

void
vs_viewer_unref (VsViewer * viewer)
{
  VsViewerPriv *priv = (VsViewerPriv *) viewer;

  if (!g_atomic_int_dec_and_test (&viewer->ref))
    return;
  g_clear_object (&viewer->ws);
  g_free (priv->address);
  g_free (priv->transport);
  g_free (priv);
}

const VsConfig *
vs_server_config (VsServer * server)
{
  return &server->cfg;
}

static void
send_text (VsViewer * viewer, const gchar * text)
{
  if (viewer->ws && soup_websocket_connection_get_state (viewer->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (viewer->ws, text);
}

void
vs_viewer_send (VsViewer * viewer, JsonNode * message)
{
  gchar *text = json_to_string (message, FALSE);
  send_text (viewer, text);
  g_free (text);
}

static JsonNode *
message_new (const gchar * type, const gchar * key, const gchar * value)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *n;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  if (key) {
    json_builder_set_member_name (b, key);
    json_builder_add_string_value (b, value);
  }
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  g_object_unref (b);
  return n;
}

void
vs_viewer_send_error (VsViewer * viewer, const gchar * message)
{
  JsonNode *n = message_new ("error", "message", message);
  GST_INFO ("viewer %u: %s", viewer->id, message);
  vs_viewer_send (viewer, n);
  json_node_unref (n);
}

void
vs_server_broadcast (VsServer * server, JsonNode * message)
{
  gchar *text = json_to_string (message, FALSE);
  for (GList * l = server->viewers; l; l = l->next)
    send_text (l->data, text);
  g_free (text);
}

void
vs_server_fatal (VsServer * server, const gchar * message)
{
  g_printerr ("\nvizstream-server: %s\n", message);
  server->exit_code = 1;
  g_main_loop_quit (server->loop);
}

static gboolean
may_control (VsServer * server, VsViewerPriv * p)
{
  if (p->view_only)
    return FALSE;
  switch (server->cfg.control) {
    case VS_CONTROL_ALL:
      return TRUE;
    case VS_CONTROL_NONE:
      return FALSE;
    case VS_CONTROL_TOKEN:
      return p->has_token;
    case VS_CONTROL_FIRST:
    default:
      return TRUE;              /* if first, see assign_roles */
  }
}

/* Who controls: token holders (or everyone, or nobody, as configured);
 * by default the oldest viewer. The encoder follows the first controller,
 * or the oldest viewer when nobody controls. */
static void
assign_roles (VsServer * server)
{
  gboolean taken = FALSE;
  VsViewer *leader = NULL;

  for (GList * l = server->viewers; l; l = l->next) {
    VsViewer *v = l->data;
    VsViewerPriv *p = l->data;
    gboolean controls;

    if (!p->hello || v->closed)
      continue;
    controls = may_control (server, p);
    if (server->cfg.control == VS_CONTROL_FIRST && !server->cfg.token) {
      controls = controls && !taken;
    } else if (server->cfg.control == VS_CONTROL_FIRST) {
      /* first viewer, unless somebody holds the token */
      controls = p->has_token || (controls && !taken);
    }
    if (controls) {
      taken = TRUE;
      if (!leader)
        leader = v;
    }
    if (controls != v->controls || !v->media_priv) {
      JsonNode *n = message_new ("role", "role", controls ? "control" :
          "view");
      v->controls = controls;
      vs_viewer_send (v, n);
      json_node_unref (n);
    }
  }
  /* With --token and the default policy, a token holder takes control
   * from a first viewer that has none. */
  if (server->cfg.control == VS_CONTROL_FIRST && server->cfg.token) {
    gboolean token_present = FALSE;
    for (GList * l = server->viewers; l; l = l->next)
      token_present |= ((VsViewerPriv *) l->data)->has_token
          && ((VsViewerPriv *) l->data)->hello;
    if (token_present) {
      leader = NULL;
      for (GList * l = server->viewers; l; l = l->next) {
        VsViewer *v = l->data;
        VsViewerPriv *p = l->data;
        gboolean controls = p->hello && p->has_token && !p->view_only;
        if (controls && !leader)
          leader = v;
        if (p->hello && controls != v->controls) {
          JsonNode *n = message_new ("role", "role", controls ? "control" :
              "view");
          v->controls = controls;
          vs_viewer_send (v, n);
          json_node_unref (n);
        }
      }
    }
  }
  if (!leader) {
    for (GList * l = server->viewers; l; l = l->next)
      if (((VsViewerPriv *) l->data)->hello) {
        leader = l->data;
        break;
      }
  }
  if (server->media)
    vs_media_set_leader (server->media, leader);
}

void
vs_viewer_close (VsViewer * viewer, const gchar * reason)
{
  VsServer *server = viewer->server;
  VsViewerPriv *p = (VsViewerPriv *) viewer;
  GList *l;

  if (viewer->closed)
    return;
  viewer->closed = TRUE;
  if (!server->cfg.quiet)
    g_printerr ("\nvizstream-server: viewer %u (%s) left%s%s\n", viewer->id,
        p->address, reason ? ": " : "", reason ? reason : "");
  if (viewer->ws) {
    g_signal_handler_disconnect (viewer->ws, p->message_id);
    g_signal_handler_disconnect (viewer->ws, p->closed_id);
    if (reason)
      vs_viewer_send_error (viewer, reason);
    if (soup_websocket_connection_get_state (viewer->ws) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (viewer->ws,
          reason ? SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION :
          SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
  }
  if (server->media)
    vs_media_remove_viewer (server->media, viewer);
  l = g_list_find (server->viewers, viewer);
  if (l) {
    server->viewers = g_list_delete_link (server->viewers, l);
    assign_roles (server);
    vs_viewer_unref (viewer);
  }
}

void
vs_viewer_input (VsViewer * viewer, const gchar * text, gsize len)
{
  VsServer *server = viewer->server;
  GError *err = NULL;

  viewer->bytes_in += len;
  if (!viewer->controls) {
    /* View-only: dropped and counted, the page knows its role. */
    viewer->events_dropped++;
    server->view_only_dropped++;
    return;
  }
  if (len > server->cfg.max_message || (!server->cfg.allow_resize
          && g_strstr_len (text, len, "ResizeRequest"))) {
    viewer->events_dropped++;
    return;
  }
  /* A token bucket per viewer: --max-input-rate messages a second, as
   * many at once; a flood is cut down here and costs nobody else. */
  {
    gint64 now = g_get_monotonic_time ();
    gdouble rate = server->cfg.max_input_rate;
    if (!viewer->input_refill_us)
      viewer->input_tokens = rate;
    else
      viewer->input_tokens = MIN (rate, viewer->input_tokens +
          (now - viewer->input_refill_us) * rate / G_TIME_SPAN_SECOND);
    viewer->input_refill_us = now;
    if (viewer->input_tokens < 1.0) {
      viewer->events_rate_limited++;
      viewer->events_dropped++;
      return;
    }
    viewer->input_tokens -= 1.0;
  }
  viewer->events_in++;
  if (!vs_media_push_input (server->media, viewer, text, len, &err)) {
    viewer->events_dropped++;
    if (err) {
      GST_INFO ("viewer %u input: %s", viewer->id, err->message);
      g_error_free (err);
    }
  }
}

static void
send_welcome (VsServer * server, VsViewer * viewer)
{
  const VsConfig *cfg = &server->cfg;
  JsonBuilder *b = json_builder_new ();
  JsonNode *n;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "welcome");
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, viewer->id);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, cfg->codec == VS_CODEC_H264 ? "h264" :
      "vp8");
  json_builder_set_member_name (b, "resize");
  json_builder_add_boolean_value (b, cfg->allow_resize);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  /* The page's own ICE servers: the same STUN and TURN servers. */
  json_builder_set_member_name (b, "ice_servers");
  json_builder_begin_array (b);
  if (cfg->stun) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "urls");
    /* stun://host:port -> stun:host:port */
    {
      gchar *u = g_strconcat ("stun:", cfg->stun + strlen ("stun://"), NULL);
      json_builder_add_string_value (b, u);
      g_free (u);
    }
    json_builder_end_object (b);
  }
  for (gchar ** t = cfg->turn; t && *t; t++) {
    GUri *uri = g_uri_parse (*t, G_URI_FLAGS_HAS_PASSWORD, NULL);
    if (!uri)
      continue;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "urls");
    {
      gchar *u = g_strdup_printf ("%s:%s:%d%s", g_uri_get_scheme (uri),
          g_uri_get_host (uri), g_uri_get_port (uri) > 0 ?
          g_uri_get_port (uri) : 3478, g_uri_get_query (uri) ?
          (strstr (g_uri_get_query (uri), "transport=tcp") ?
              "?transport=tcp" : "") : "");
      json_builder_add_string_value (b, u);
      g_free (u);
    }
    if (g_uri_get_user (uri)) {
      json_builder_set_member_name (b, "username");
      json_builder_add_string_value (b, g_uri_get_user (uri));
    }
    if (g_uri_get_password (uri)) {
      json_builder_set_member_name (b, "credential");
      json_builder_add_string_value (b, g_uri_get_password (uri));
    }
    json_builder_end_object (b);
    g_uri_unref (uri);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  vs_viewer_send (viewer, n);
  json_node_unref (n);
  g_object_unref (b);
}

static void
handle_hello (VsServer * server, VsViewer * viewer, VsSignal * sig)
{
  VsViewerPriv *p = (VsViewerPriv *) viewer;
  const gchar *token = sig->token;
  GError *err = NULL;

  if (p->hello) {
    vs_viewer_send_error (viewer, "hello: already said");
    return;
  }
  p->hello = TRUE;
  p->view_only = sig->view_only;
  p->transport = g_strdup (sig->transport);
  if (token && *token) {
    if (server->cfg.token && g_str_equal (token, server->cfg.token))
      p->has_token = TRUE;
    else
      vs_viewer_send_error (viewer, "the token is not valid: view only");
  }
  send_welcome (server, viewer);
  assign_roles (server);
  /* MJPEG pages take /mjpeg; this connection carries their input. */
  if (g_str_equal (p->transport, "mjpeg"))
    vs_media_add_input_viewer (server->media, viewer);
  else if (!(g_str_equal (p->transport, "ws") ?
          vs_media_add_ws_viewer (server->media, viewer, &err) :
          vs_media_add_viewer (server->media, viewer, &err))) {
    vs_viewer_close (viewer, err->message);
    g_error_free (err);
    return;
  }
  if (!server->cfg.quiet)
    g_printerr ("\nvizstream-server: viewer %u (%s) joined over %s, %s\n",
        viewer->id, p->address, p->transport,
        viewer->controls ? "controlling" : "view only");
}

static void
bad_message (VsViewer * viewer, const gchar * why)
{
  VsViewerPriv *p = (VsViewerPriv *) viewer;
  vs_viewer_send_error (viewer, why);
  if (++p->bad_messages >= MAX_BAD_MESSAGES)
    vs_viewer_close (viewer, "too many malformed messages");
}

static void
on_ws_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer data)
{
  VsViewer *viewer = data;
  VsViewerPriv *p = data;
  VsServer *server = viewer->server;
  VsSignal sig;
  gsize len;
  const gchar *text = g_bytes_get_data (message, &len);
  GError *err = NULL;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    bad_message (viewer, "signalling messages are JSON text");
    return;
  }
  if (!vs_signal_parse (text, len, &sig, &err)) {
    bad_message (viewer, err->message);
    g_error_free (err);
    return;
  }
  vs_viewer_ref (viewer);
  if (sig.type == VS_SIGNAL_HELLO) {
    handle_hello (server, viewer, &sig);
  } else if (!p->hello) {
    bad_message (viewer, "say hello first");
  } else if (sig.type == VS_SIGNAL_ANSWER) {
    vs_media_set_remote_answer (server->media, viewer, sig.sdp, &err);
    if (err) {
      gchar *m = g_strdup_printf ("answer: %s", err->message);
      bad_message (viewer, m);
      g_free (m);
      g_clear_error (&err);
    }
  } else if (sig.type == VS_SIGNAL_ICE) {
    if (*sig.candidate)         /* the empty candidate ends gathering */
      vs_media_add_remote_candidate (server->media, viewer, sig.mline,
          sig.candidate);
  } else if (sig.type == VS_SIGNAL_PING) {
    gchar *pong = g_strdup_printf ("{\"type\":\"pong\",\"t\":%.3f,"
        "\"server_ms\":%.3f}", sig.t, g_get_real_time () / 1000.0);
    send_text (viewer, pong);
    g_free (pong);
  } else if (sig.type == VS_SIGNAL_ACK) {
    vs_media_ws_ack (server->media, viewer, sig.n);
  } else if (sig.type == VS_SIGNAL_INPUT) {
    /* Input over the WebSocket (pages without a data channel). */
    if (g_str_equal (p->transport, "webrtc"))
      bad_message (viewer, "input: on the data channel, not here");
    else
      vs_viewer_input (viewer, sig.data, strlen (sig.data));
  }
  vs_viewer_unref (viewer);
  vs_signal_clear (&sig);
}

static void
on_ws_closed (SoupWebsocketConnection * ws, gpointer data)
{
  VsViewer *viewer = data;
  vs_viewer_close (viewer, NULL);
}

static gchar *
request_origin_host (SoupServerMessage * msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  return g_strdup (soup_message_headers_get_one (h, "Host"));
}

/* A page from elsewhere must not drive the renderer: the Origin's host
 * must be the Host the page was served from, or one --allow-origin names. */
static gboolean
origin_allowed (VsServer * server, SoupServerMessage * msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const gchar *origin = soup_message_headers_get_one (h, "Origin");
  gchar *host;
  GUri *uri;
  gboolean ok = FALSE;

  if (!origin)
    return TRUE;                /* not a browser: tools and tests */
  for (gchar ** a = server->cfg.origins; a && *a; a++)
    if (g_str_equal (*a, "*") || g_str_equal (*a, origin))
      return TRUE;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  host = request_origin_host (msg);
  if (uri && host && g_uri_get_host (uri)) {
    gchar *want = g_uri_get_port (uri) > 0 ?
        g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri)) :
        g_strdup (g_uri_get_host (uri));
    ok = g_ascii_strcasecmp (want, host) == 0;
    g_free (want);
  }
  if (uri)
    g_uri_unref (uri);
  g_free (host);
  return ok;
}

static void
ws_early_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsServer *server = data;
  const gchar *why = NULL;

  if (!origin_allowed (server, msg))
    why = "origin not allowed (see --allow-origin)\n";
  else if (g_list_length (server->viewers) >= server->cfg.max_viewers)
    why = "too many viewers (see --max-viewers)\n";
  if (why) {
    server->rejected++;
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Connection", "close");
    soup_server_message_set_status (msg, why[0] == 'o' ? 403 : 503, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        why, strlen (why));
  }
}

static void
ws_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    SoupWebsocketConnection * ws, gpointer data)
{
  VsServer *server = data;
  VsViewerPriv *p = g_new0 (VsViewerPriv, 1);
  VsViewer *viewer = &p->viewer;
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);

  viewer->ref = 1;
  viewer->id = ++server->next_id;
  viewer->server = server;
  viewer->ws = g_object_ref (ws);
  viewer->joined_us = g_get_monotonic_time ();
  if (G_IS_INET_SOCKET_ADDRESS (addr)) {
    gchar *ip = g_inet_address_to_string (g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (addr)));
    p->address = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port
        (G_INET_SOCKET_ADDRESS (addr)));
    g_free (ip);
  } else {
    p->address = g_strdup ("?");
  }
  soup_websocket_connection_set_max_incoming_payload_size (ws,
      server->cfg.max_message);
  soup_websocket_connection_set_keepalive_interval (ws, 5);
  p->message_id = g_signal_connect (ws, "message", G_CALLBACK (on_ws_message),
      viewer);
  p->closed_id = g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed),
      viewer);
  server->viewers = g_list_append (server->viewers, viewer);
}

/* ------------------------------------------------------------------ HTTP */

static void
http_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsServer *server = data;
  const gchar *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  const gchar *type = NULL;
  gchar *rpath;
  GBytes *bytes;

  if (g_strcmp0 (method, "GET") != 0 && g_strcmp0 (method, "HEAD") != 0) {
    soup_server_message_set_status (msg, 405, NULL);
    return;
  }
  soup_message_headers_replace (rh, "Cache-Control", "no-cache");
  soup_message_headers_replace (rh, "X-Content-Type-Options", "nosniff");
  /* libsoup 3.2 (Debian 12) never closes an idle keep-alive connection
   * that the client closed: one file descriptor lost per connection
   * (fixed upstream in 3.3, commit d20c6601). One request per connection
   * costs a page three TCP handshakes and leaks nothing. */
  soup_message_headers_replace (rh, "Connection", "close");
  if (g_str_equal (path, "/mjpeg")) {
    vs_broadcast_mjpeg (server->broadcast, msg);
    return;
  }
  if (g_str_equal (path, "/snapshot.jpg")) {
    vs_broadcast_snapshot (server->broadcast, msg);
    return;
  }
  if (g_str_equal (path, "/status")) {
    JsonBuilder *b = json_builder_new ();
    JsonNode *n;
    gchar *text;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "segment");
    json_builder_add_string_value (b, server->cfg.segment);
    json_builder_set_member_name (b, "codec");
    json_builder_add_string_value (b, server->cfg.codec == VS_CODEC_H264 ?
        "h264" : "vp8");
    json_builder_set_member_name (b, "view_only_dropped");
    json_builder_add_int_value (b, server->view_only_dropped);
    json_builder_set_member_name (b, "rejected");
    json_builder_add_int_value (b, server->rejected);
    vs_media_describe (server->media, b);
    vs_broadcast_describe (server->broadcast, b);
    json_builder_set_member_name (b, "viewers");
    json_builder_begin_array (b);
    for (GList * l = server->viewers; l; l = l->next) {
      VsViewer *v = l->data;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, v->id);
      json_builder_set_member_name (b, "role");
      json_builder_add_string_value (b, v->controls ? "control" : "view");
      json_builder_set_member_name (b, "events");
      json_builder_add_int_value (b, v->events_in);
      json_builder_set_member_name (b, "events_dropped");
      json_builder_add_int_value (b, v->events_dropped);
      json_builder_set_member_name (b, "events_rate_limited");
      json_builder_add_int_value (b, v->events_rate_limited);
      vs_media_describe_viewer (server->media, v, b);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    n = json_builder_get_root (b);
    text = json_to_string (n, TRUE);
    json_node_unref (n);
    g_object_unref (b);
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "application/json",
        SOUP_MEMORY_TAKE, text, strlen (text));
    return;
  }
  if (g_str_equal (path, "/") || g_str_equal (path, "/index.html")) {
    path = "/index.html";
    type = "text/html; charset=utf-8";
  } else if (g_str_equal (path, "/vizstream.js")) {
    type = "text/javascript; charset=utf-8";
  } else if (g_str_equal (path, "/vizstream.css")) {
    type = "text/css; charset=utf-8";
  }
  if (!type) {
    soup_server_message_set_status (msg, 404, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        "not found\n", 10);
    return;
  }
  rpath = g_strconcat ("/org/vizstream/server/page", path, NULL);
  bytes = g_resources_lookup_data (rpath, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_free (rpath);
  if (!bytes) {
    soup_server_message_set_status (msg, 500, NULL);
    return;
  }
  soup_message_headers_replace (rh, "Content-Security-Policy",
      "default-src 'self'; connect-src 'self' ws: wss:; "
      "style-src 'self'; img-src 'self' data:; media-src 'self' blob:");
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY,
      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_bytes_unref (bytes);
}

/* ---------------------------------------------------------------- status */

static gboolean
tick_cb (gpointer data)
{
  VsServer *server = data;
  gdouble fps = 0, kbps = 0;
  guint target = 0, controlling = 0, n = 0;
  GString *line;

  vs_media_tick (server->media, &fps, &kbps, &target);
  server->ticks++;
  if (server->cfg.quiet) {
    vs_broadcast_tick (server->broadcast, NULL);
    return G_SOURCE_CONTINUE;
  }
  for (GList * l = server->viewers; l; l = l->next) {
    n++;
    controlling += ((VsViewer *) l->data)->controls;
  }
  line = g_string_new (NULL);
  vs_broadcast_tick (server->broadcast, line);
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
  return G_SOURCE_REMOVE;
}

/* --------------------------------------------------------------- options */

static gboolean
parse_kbps (const gchar * s, guint * out)
{
  gchar *end;
  gdouble v = g_ascii_strtod (s, &end);
  if (end == s || v <= 0)
    return FALSE;
  if (*end == 'M' || *end == 'm')
    v *= 1000, end++;
  else if (*end == 'k' || *end == 'K')
    end++;
  if (*end != '\0' || v > 100000)
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

int
vs_server_main (int argc, char **argv, const VsEmbed * embed)
{
  VsServer server = { 0 };
  VsConfig *cfg = &server.cfg;
  gchar *codec = NULL, *bitrate = NULL, *control = NULL, *max_size = NULL;
  gint port = 8080, max_fps = 30, max_viewers = 16, max_message = 65536,
      timeout = 20, rtmp_key = 2, mjpeg_quality = 80, mjpeg_fps = 15,
      max_input_rate = 250;
  gchar *rtmp_bitrate = NULL;
  gboolean no_adapt = FALSE, version = FALSE;
  GError *err = NULL;
  GOptionContext *ctx;
  GSList *uris;
  const GOptionEntry entries[] = {
    {"segment", 's', 0, G_OPTION_ARG_STRING, &cfg->segment,
        "The renderer's shared segment (frames in, events out)", "NAME"},
    {"port", 'p', 0, G_OPTION_ARG_INT, &port,
        "HTTP port (default 8080; 0 picks a free one)", "PORT"},
    {"bind", 'b', 0, G_OPTION_ARG_STRING, &cfg->bind,
        "Address to listen on (default 127.0.0.1; 0.0.0.0 for all)", "ADDR"},
    {"codec", 'c', 0, G_OPTION_ARG_STRING, &codec,
        "h264 (default) or vp8", "CODEC"},
    {"encoder", 0, 0, G_OPTION_ARG_STRING, &cfg->encoder,
        "Encoder element (default: a hardware one that works, else x264enc "
          "or vp8enc)", "ELEMENT"},
    {"bitrate", 0, 0, G_OPTION_ARG_STRING, &bitrate,
        "Starting and largest bitrate, kbit/s (e.g. 2000, 800k, 4M; "
          "default 2500)", "RATE"},
    {"max-fps", 0, 0, G_OPTION_ARG_INT, &max_fps,
        "Frames per second at most (default 30)", "FPS"},
    {"max-size", 0, 0, G_OPTION_ARG_STRING, &max_size,
        "Largest frame sent, e.g. 1280x720 (default: the renderer's)", "WxH"},
    {"profile", 0, 0, G_OPTION_ARG_STRING, &cfg->profile,
        "low: 640x360 at 15 fps in about 300 kbit/s, for slow links",
        "PROFILE"},
    {"no-adapt", 0, 0, G_OPTION_ARG_NONE, &no_adapt,
        "Keep the bitrate fixed (no congestion control)", NULL},
    {"stun", 0, 0, G_OPTION_ARG_STRING, &cfg->stun,
        "STUN server, stun://host:port", "URI"},
    {"turn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->turn,
        "TURN server, turn(s)://user:password@host:port (repeatable)", "URI"},
    {"ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->ice_addresses,
        "Gather ICE candidates only on this local address (repeatable)",
        "ADDR"},
    {"token", 0, 0, G_OPTION_ARG_STRING, &cfg->token,
        "Viewers presenting this token (?token=...) control", "TOKEN"},
    {"control", 0, 0, G_OPTION_ARG_STRING, &control,
        "Who controls: first (default), all, token, none", "POLICY"},
    {"allow-resize", 0, 0, G_OPTION_ARG_NONE, &cfg->allow_resize,
        "Let the controlling page ask the renderer for its window size",
        NULL},
    {"allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->origins,
        "Also accept pages from this origin (repeatable; * for any)",
        "ORIGIN"},
    {"max-viewers", 0, 0, G_OPTION_ARG_INT, &max_viewers,
        "Viewers at once (default 16)", "N"},
    {"max-message", 0, 0, G_OPTION_ARG_INT, &max_message,
        "Largest signalling or input message, bytes (default 65536)", "BYTES"},
    {"max-input-rate", 0, 0, G_OPTION_ARG_INT, &max_input_rate,
        "Input messages a viewer may send per second (default 250)", "N"},
    {"negotiation-timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
        "Seconds a viewer has to connect (default 20)", "S"},
    {"pipeline", 0, 0, G_OPTION_ARG_STRING, &cfg->pipeline_desc,
        "A source description instead of shmframesrc, e.g. "
          "'videotestsrc is-live=true'", "DESC"},
    {"rtmp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->rtmp,
        "Also push H.264 to this RTMP URL, e.g. rtmp://127.0.0.1/live/viz "
          "(repeatable; reconnects by itself)", "URL"},
    {"rtmp-bitrate", 0, 0, G_OPTION_ARG_STRING, &rtmp_bitrate,
        "RTMP bitrate, kbit/s (default 2500)", "RATE"},
    {"rtmp-key-interval", 0, 0, G_OPTION_ARG_INT, &rtmp_key,
        "Seconds between RTMP key frames (default 2)", "S"},
    {"mjpeg-quality", 0, 0, G_OPTION_ARG_INT, &mjpeg_quality,
        "JPEG quality of /mjpeg and /snapshot.jpg, 1..100 (default 80)", "Q"},
    {"mjpeg-fps", 0, 0, G_OPTION_ARG_INT, &mjpeg_fps,
        "Frames per second on /mjpeg at most (default 15)", "FPS"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &cfg->quiet,
        "No status line", NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL},
    {NULL}
  };

  setvbuf (stdout, NULL, _IOLBF, 0);
  ctx = g_option_context_new ("- stream a renderer to browsers over WebRTC");
  g_option_context_set_summary (ctx,
      "Serves a page on http://BIND:PORT/ that shows the renderer publishing "
      "into the shared\nsegment NAME and sends the page's mouse, wheel, "
      "keyboard and touch events back to it.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("vizstream-server: %s (see --help)\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (version) {
    g_print ("vizstream-server %s\n", PACKAGE_VERSION);
    return 0;
  }
  GST_DEBUG_CATEGORY_INIT (vs_debug, "vizstream-server", 0,
      "vizstream-server");

  cfg->codec = VS_CODEC_H264;
  if (codec && g_ascii_strcasecmp (codec, "vp8") == 0)
    cfg->codec = VS_CODEC_VP8;
  else if (codec && g_ascii_strcasecmp (codec, "h264") != 0) {
    g_printerr ("vizstream-server: --codec wants h264 or vp8\n");
    return 2;
  }
  cfg->bitrate = 2500;
  cfg->min_bitrate = 150;
  cfg->max_fps = 30;
  if (cfg->profile && g_str_equal (cfg->profile, "low")) {
    cfg->bitrate = 300;
    cfg->min_bitrate = 80;
    cfg->max_fps = 15;
    cfg->max_width = 640;
    cfg->max_height = 360;
    max_fps = MIN (max_fps, 15);
  } else if (cfg->profile && !g_str_equal (cfg->profile, "default")) {
    g_printerr ("vizstream-server: --profile wants low or default\n");
    return 2;
  }
  if (bitrate && !parse_kbps (bitrate, &cfg->bitrate)) {
    g_printerr ("vizstream-server: --bitrate wants kbit/s such as 2000, 800k "
        "or 4M\n");
    return 2;
  }
  cfg->max_bitrate = cfg->bitrate;
  cfg->min_bitrate = MIN (cfg->min_bitrate, cfg->bitrate);
  if (max_fps < 1 || max_fps > 240) {
    g_printerr ("vizstream-server: --max-fps wants 1..240\n");
    return 2;
  }
  cfg->max_fps = max_fps;
  if (max_size) {
    guint w, h;
    if (sscanf (max_size, "%ux%u", &w, &h) != 2 || w < 16 || h < 16) {
      g_printerr ("vizstream-server: --max-size wants WxH, e.g. 1280x720\n");
      return 2;
    }
    cfg->max_width = w;
    cfg->max_height = h;
  }
  cfg->control = VS_CONTROL_FIRST;
  if (control) {
    if (g_str_equal (control, "first"))
      cfg->control = VS_CONTROL_FIRST;
    else if (g_str_equal (control, "all"))
      cfg->control = VS_CONTROL_ALL;
    else if (g_str_equal (control, "token"))
      cfg->control = VS_CONTROL_TOKEN;
    else if (g_str_equal (control, "none"))
      cfg->control = VS_CONTROL_NONE;
    else {
      g_printerr ("vizstream-server: --control wants first, all, token or "
          "none\n");
      return 2;
    }
  }
  if (cfg->control == VS_CONTROL_TOKEN && !cfg->token) {
    g_printerr ("vizstream-server: --control token needs --token\n");
    return 2;
  }
  if (port < 0 || port > 65535 || max_viewers < 1 || max_message < 1024
      || timeout < 1) {
    g_printerr ("vizstream-server: --port, --max-viewers, --max-message or "
        "--negotiation-timeout out of range\n");
    return 2;
  }
  cfg->embed = embed;
  if (!cfg->segment && !cfg->pipeline_desc && !(embed && embed->make_source)) {
    g_printerr ("vizstream-server: which renderer? --segment NAME (or "
        "--pipeline DESC); see --help\n");
    return 2;
  }
  if (cfg->stun && !g_str_has_prefix (cfg->stun, "stun://")) {
    g_printerr ("vizstream-server: --stun wants stun://host:port\n");
    return 2;
  }
  for (gchar ** t = cfg->turn; t && *t; t++) {
    if (!g_str_has_prefix (*t, "turn://") && !g_str_has_prefix (*t,
            "turns://")) {
      g_printerr ("vizstream-server: --turn wants turn(s)://user:pass@host:"
          "port, not '%s'\n", *t);
      return 2;
    }
  }
  cfg->rtmp_bitrate = 2500;
  if (rtmp_bitrate && !parse_kbps (rtmp_bitrate, &cfg->rtmp_bitrate)) {
    g_printerr ("vizstream-server: --rtmp-bitrate wants kbit/s\n");
    return 2;
  }
  for (gchar ** u = cfg->rtmp; u && *u; u++) {
    if (!g_str_has_prefix (*u, "rtmp://") && !g_str_has_prefix (*u,
            "rtmps://")) {
      g_printerr ("vizstream-server: --rtmp wants rtmp://host[:port]/app/"
          "stream, not '%s'\n", *u);
      return 2;
    }
  }
  if (rtmp_key < 1 || rtmp_key > 60 || mjpeg_quality < 1
      || mjpeg_quality > 100 || mjpeg_fps < 1 || mjpeg_fps > 120) {
    g_printerr ("vizstream-server: --rtmp-key-interval (1..60), "
        "--mjpeg-quality (1..100) or --mjpeg-fps (1..120) out of range\n");
    return 2;
  }
  if (max_input_rate < 1 || max_input_rate > 100000) {
    g_printerr ("vizstream-server: --max-input-rate wants 1..100000\n");
    return 2;
  }
  cfg->max_input_rate = max_input_rate;
  cfg->rtmp_key_interval = rtmp_key;
  cfg->mjpeg_quality = mjpeg_quality;
  cfg->mjpeg_fps = mjpeg_fps;
  cfg->port = port;
  cfg->max_viewers = max_viewers;
  cfg->max_message = max_message;
  cfg->negotiation_timeout = timeout;
  cfg->adapt = !no_adapt;
  if (!cfg->bind)
    cfg->bind = g_strdup ("127.0.0.1");

  server.loop = g_main_loop_new (NULL, FALSE);
  server.tty = isatty (2);
  server.media = vs_media_new (&server, cfg, &err);
  if (!server.media) {
    g_printerr ("vizstream-server: %s\n", err->message);
    return 1;
  }

  server.broadcast = vs_broadcast_new (&server, server.media, cfg, &err);
  if (!server.broadcast) {
    g_printerr ("vizstream-server: %s\n", err->message);
    return 1;
  }

  server.soup = soup_server_new ("server-header", "vizstream-server", NULL);
  soup_server_add_early_handler (server.soup, "/ws", ws_early_cb, &server,
      NULL);
  soup_server_add_websocket_handler (server.soup, "/ws", NULL, NULL, ws_cb,
      &server, NULL);
  soup_server_add_handler (server.soup, NULL, http_cb, &server, NULL);
  {
    GInetAddress *ia = g_inet_address_new_from_string (cfg->bind);
    GSocketAddress *sa;
    if (!ia) {
      g_printerr ("vizstream-server: --bind wants an IP address, not '%s'\n",
          cfg->bind);
      return 2;
    }
    sa = g_inet_socket_address_new (ia, cfg->port);
    if (!soup_server_listen (server.soup, sa, 0, &err)) {
      g_printerr ("vizstream-server: cannot listen on %s:%u: %s\n", cfg->bind,
          cfg->port, err->message);
      return 1;
    }
    g_object_unref (sa);
    g_object_unref (ia);
  }
  uris = soup_server_get_uris (server.soup);
  if (uris) {
    GUri *u = uris->data;
    gint p = g_uri_get_port (u);
    server.url = g_strdup_printf ("http://%s:%d/", strchr (cfg->bind, ':') ?
        "[::1]" : g_str_equal (cfg->bind, "0.0.0.0") ? "127.0.0.1" :
        cfg->bind, p);
  }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_print ("vizstream-server: serving %s (segment '%s', %s with %s)\n",
      server.url, cfg->segment ? cfg->segment : "-",
      cfg->codec == VS_CODEC_H264 ? "H.264" : "VP8",
      vs_media_encoder_name (server.media));

  server.tick_id = g_timeout_add_seconds (1, tick_cb, &server);
  g_unix_signal_add (SIGINT, quit_cb, &server);
  g_unix_signal_add (SIGTERM, quit_cb, &server);
  g_main_loop_run (server.loop);

  if (!cfg->quiet)
    g_printerr ("\nvizstream-server: stopping\n");
  while (server.viewers)
    vs_viewer_close (server.viewers->data, NULL);
  g_source_remove (server.tick_id);
  soup_server_disconnect (server.soup);
  g_object_unref (server.soup);
  vs_broadcast_free (server.broadcast);
  vs_media_free (server.media);
  g_main_loop_unref (server.loop);
  g_free (server.url);
  return server.exit_code;
}
