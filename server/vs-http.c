/* vizstream-server: HTTP (vs-http.h). Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-http.h"
#include "vs-conns.h"

#include <string.h>

struct _VsHttp
{
  const VsConfig *cfg;
  VsMjpeg *mjpeg;
  VsHttpHooks hooks;
  SoupServer *soup;
  VsConns *conns;               /* timeouts, the per-address cap */
  gchar *url;
  guint64 rejected;
};

gboolean
vs_http_origin_allowed (gchar ** allowed, const gchar * origin,
    const gchar * host)
{
  GUri *uri;
  gboolean ok = FALSE;

  if (!origin)
    return TRUE;                /* not a browser: tools and tests */
  for (gchar ** a = allowed; a && *a; a++)
    if (g_str_equal (*a, "*") || g_str_equal (*a, origin))
      return TRUE;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (uri && host && g_uri_get_host (uri)) {
    gchar *want = g_uri_get_port (uri) > 0 ?
        g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri)) :
        g_strdup (g_uri_get_host (uri));
    ok = g_ascii_strcasecmp (want, host) == 0;
    g_free (want);
  }
  if (uri)
    g_uri_unref (uri);
  return ok;
}

/* ---- WebSocket ---- */

static void
ws_early_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsHttp *http = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const gchar *why = NULL;
  guint status = 0;

  if (!vs_http_origin_allowed (http->cfg->origins,
          soup_message_headers_get_one (h, "Origin"),
          soup_message_headers_get_one (h, "Host"))) {
    why = "origin not allowed (see --allow-origin)\n";
    status = 403;
  } else if (!http->hooks.can_accept (http->hooks.data)) {
    why = "too many viewers (see --max-viewers)\n";
    status = 503;
  }
  if (why) {
    http->rejected++;
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Connection", "close");
    soup_server_message_set_status (msg, status, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        why, strlen (why));
  }
}

static void
ws_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    SoupWebsocketConnection * ws, gpointer data)
{
  VsHttp *http = data;
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);
  gchar *address;

  if (G_IS_INET_SOCKET_ADDRESS (addr)) {
    gchar *ip = g_inet_address_to_string (g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (addr)));
    address = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port
        (G_INET_SOCKET_ADDRESS (addr)));
    g_free (ip);
  } else {
    address = g_strdup ("?");
  }
  http->hooks.websocket (ws, address, http->hooks.data);
  g_free (address);
}

/* ---- pages ---- */

static void
serve_status (VsHttp * http, SoupServerMessage * msg)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *n;
  gchar *text;

  json_builder_begin_object (b);
  http->hooks.status (b, http->hooks.data);
  json_builder_set_member_name (b, "rejected");
  json_builder_add_int_value (b, http->rejected);
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  text = json_to_string (n, TRUE);
  json_node_unref (n);
  g_object_unref (b);
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
serve_page (SoupServerMessage * msg, const gchar * path)
{
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  const gchar *type = NULL;
  gchar *rpath;
  GBytes *bytes;

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

static void
http_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsHttp *http = data;
  const gchar *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);

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
  if (g_str_equal (path, "/mjpeg"))
    vs_mjpeg_serve (http->mjpeg, msg);
  else if (g_str_equal (path, "/snapshot.jpg"))
    vs_mjpeg_snapshot (http->mjpeg, msg);
  else if (g_str_equal (path, "/status"))
    serve_status (http, msg);
  else
    serve_page (msg, path);
}

/* ---- life ---- */

static gboolean
listen_on (VsHttp * http, GError ** error)
{
  const VsConfig *cfg = http->cfg;
  GInetAddress *ia = g_inet_address_new_from_string (cfg->bind);
  GSocketAddress *sa;
  GSList *uris;
  gboolean ok;

  if (!ia) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "--bind wants an IP address, not '%s'", cfg->bind);
    return FALSE;
  }
  sa = g_inet_socket_address_new (ia, cfg->port);
  ok = soup_server_listen (http->soup, sa, 0, error);
  g_object_unref (sa);
  g_object_unref (ia);
  if (!ok) {
    g_prefix_error (error, "cannot listen on %s:%u: ", cfg->bind, cfg->port);
    return FALSE;
  }
  uris = soup_server_get_uris (http->soup);
  if (uris)
    http->url = g_strdup_printf ("http://%s:%d/", strchr (cfg->bind, ':') ?
        "[::1]" : g_str_equal (cfg->bind, "0.0.0.0") ? "127.0.0.1" :
        cfg->bind, g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return TRUE;
}

VsHttp *
vs_http_new (const VsConfig * cfg, VsMjpeg * mjpeg,
    const VsHttpHooks * hooks, GError ** error)
{
  VsHttp *http = g_new0 (VsHttp, 1);

  http->cfg = cfg;
  http->mjpeg = mjpeg;
  http->hooks = *hooks;
  http->soup = soup_server_new ("server-header", "vizstream-server", NULL);
  http->conns = vs_conns_new (http->soup, cfg);
  soup_server_add_early_handler (http->soup, "/ws", ws_early_cb, http, NULL);
  soup_server_add_websocket_handler (http->soup, "/ws", NULL, NULL, ws_cb,
      http, NULL);
  soup_server_add_handler (http->soup, NULL, http_cb, http, NULL);
  if (!listen_on (http, error)) {
    vs_http_free (http);
    return NULL;
  }
  vs_conns_listening (http->conns);
  return http;
}

void
vs_http_free (VsHttp * http)
{
  if (!http)
    return;
  vs_conns_free (http->conns);
  soup_server_disconnect (http->soup);
  g_object_unref (http->soup);
  g_free (http->url);
  g_free (http);
}

const gchar *
vs_http_url (VsHttp * http)
{
  return http->url;
}

guint64
vs_http_rejected (VsHttp * http)
{
  return http->rejected;
}
