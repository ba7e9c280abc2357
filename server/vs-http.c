/* vizstream-server: HTTP (vs-http.h). Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-http.h"
#include "vs-conns.h"
#include "vs-janus.h"
#include "vs-roles.h"

#include <string.h>

typedef struct
{
  gchar *name;
  gchar *ws_path;               /* /s/NAME/ws */
  VsHttpRoute r;
} Route;

struct _VsHttp
{
  const VsConfig *cfg;
  GHashTable *routes;           /* name -> Route* (owned) */
  GList *order;                 /* Route*, in the order added */
  SoupServer *soup;
  VsConns *conns;               /* timeouts, the per-address cap */
  gchar *url;
  guint64 rejected;
  VsHttpNewFunc new_func;       /* /new, or NULL */
  gpointer new_data;
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
    /* GUri gives an IPv6 host without the brackets that Host has. */
    const gchar *h = g_uri_get_host (uri);
    const gchar *l = strchr (h, ':') ? "[" : "", *r = *l ? "]" : "";
    gchar *want = g_uri_get_port (uri) > 0 ?
        g_strdup_printf ("%s%s%s:%d", l, h, r, g_uri_get_port (uri)) :
        g_strdup_printf ("%s%s%s", l, h, r);
    ok = g_ascii_strcasecmp (want, host) == 0;
    g_free (want);
  }
  if (uri)
    g_uri_unref (uri);
  return ok;
}

/* "ip:port" of the client (for logs and the viewer's name). */
static gchar *
peer_address (SoupServerMessage * msg)
{
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);
  gchar *ip, *out;

  if (!G_IS_INET_SOCKET_ADDRESS (addr))
    return g_strdup ("?");
  ip = g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (addr)));
  out = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port
      (G_INET_SOCKET_ADDRESS (addr)));
  g_free (ip);
  return out;
}

/* ---- routes ---- */

/* The route that answers at /: the only listed one (unlisted ones, the
 * sessions, are reached by their URL only and change nothing here). */
static Route *
root_route (VsHttp * http)
{
  Route *only = NULL;

  for (GList * l = http->order; l; l = l->next) {
    if (!((Route *) l->data)->r.listed)
      continue;
    if (only)
      return NULL;
    only = l->data;
  }
  return only;
}

/* The route a path names and the rest of the path ("/" and after):
 * /s/NAME/REST, or REST at / when one route answers there. */
static Route *
route_of (VsHttp * http, const gchar * path, const gchar ** rest)
{
  const gchar *slash;
  gchar *name;
  Route *route;

  if (!g_str_has_prefix (path, "/s/")) {
    *rest = path;
    return root_route (http);
  }
  slash = strchr (path + 3, '/');
  if (!slash)
    return NULL;
  name = g_strndup (path + 3, slash - (path + 3));
  route = g_hash_table_lookup (http->routes, name);
  g_free (name);
  *rest = slash;
  return route;
}

static void
set_text (SoupServerMessage * msg, guint status, const gchar * text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY,
      text, strlen (text));
}

/* ---- WebSocket ---- */

static void
ws_early_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsHttp *http = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const gchar *why = NULL, *rest;
  guint status = 0;
  Route *route = route_of (http, path, &rest);

  if (!route || !g_str_equal (rest, "/ws")) {
    why = "no such stream (see /)\n";
    status = 404;
  } else if (!vs_http_origin_allowed (http->cfg->origins,
          soup_message_headers_get_one (h, "Origin"),
          soup_message_headers_get_one (h, "Host"))) {
    why = "origin not allowed (see --allow-origin)\n";
    status = 403;
  } else if (!route->r.can_accept (route->r.data)) {
    why = "too many viewers (see --max-viewers)\n";
    status = 503;
  }
  if (why) {
    gchar *address = peer_address (msg);
    vs_log (http->cfg, "refused a viewer from %s: %.*s", address,
        (int) strlen (why) - 1, why);
    g_free (address);
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
  const gchar *rest;
  Route *route = route_of (http, path, &rest);
  gchar *address;

  if (!route) {
    /* Removed between the handshake and now. */
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "this stream has ended");
    return;
  }
  address = peer_address (msg);
  route->r.websocket (ws, address, route->r.data);
  g_free (address);
}

/* ---- pages ---- */

/* /status tells who watches and from where: with a token configured it
 * wants "Authorization: Bearer T", T the control token or the status
 * token (docs/security.md). A stream's own token opens its /status;
 * the list of all wants the server's (any listed stream's token closes
 * it; an unlisted one, a session, is not in it). */
static gboolean
status_allowed (VsHttp * http, SoupServerMessage * msg, Route * route)
{
  const VsConfig *cfg = http->cfg;
  const gchar *auth;
  gboolean any = cfg->token || cfg->status_token;

  if (route)
    any |= route->r.cfg->token != NULL;
  else
    for (GList * l = http->order; l; l = l->next)
      any |= ((Route *) l->data)->r.listed
          && ((Route *) l->data)->r.cfg->token != NULL;
  if (!any)
    return TRUE;
  auth = soup_message_headers_get_one (soup_server_message_get_request_headers
      (msg), "Authorization");
  if (!auth || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return FALSE;
  auth += 7;
  while (*auth == ' ')
    auth++;
  return vs_roles_token_matches (cfg->token, auth)
      || vs_roles_token_matches (cfg->status_token, auth)
      || (route && vs_roles_token_matches (route->r.cfg->token, auth));
}

static void
route_status (Route * route, JsonBuilder * b)
{
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, route->name);
  route->r.status (b, route->r.data);
}

/* route: its /status; NULL: /status, every listed stream (one: as its
 * own, the server's /status before there were several). */
static void
serve_status (VsHttp * http, SoupServerMessage * msg, Route * route)
{
  JsonBuilder *b;
  JsonNode *n;
  gchar *text;

  if (!route)
    route = root_route (http);
  if (!status_allowed (http, msg, route)) {
    static const gchar why[] = "/status wants Authorization: Bearer TOKEN\n";
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "WWW-Authenticate", "Bearer realm=\"vizstream\"");
    soup_server_message_set_status (msg, 401, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        why, strlen (why));
    return;
  }
  b = json_builder_new ();

  json_builder_begin_object (b);
  if (route) {
    route_status (route, b);
  } else {
    json_builder_set_member_name (b, "streams");
    json_builder_begin_array (b);
    for (GList * l = http->order; l; l = l->next) {
      if (!((Route *) l->data)->r.listed)
        continue;
      json_builder_begin_object (b);
      route_status (l->data, b);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
  }
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
  } else if (g_str_equal (path, "/vizstream.js")
      || g_str_equal (path, "/token.js")) {
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

/* / with several streams (or none): links to each listed one, relative
 * so that they work under a proxy's sub-path. */
static void
serve_list (VsHttp * http, SoupServerMessage * msg)
{
  GString *out = g_string_new ("<!DOCTYPE html>\n<html lang=\"en\">\n"
      "<head><meta charset=\"utf-8\"><title>vizstream</title>"
      "<link rel=\"icon\" href=\"data:,\"></head>\n<body>\n"
      "<h1>Streams</h1>\n<ul id=\"streams\">\n");
  guint n = 0;

  for (GList * l = http->order; l; l = l->next) {
    Route *route = l->data;
    gchar *name;
    if (!route->r.listed)
      continue;
    /* Names are A-Z a-z 0-9 _ - already; escaped all the same. */
    name = g_markup_escape_text (route->name, -1);
    g_string_append_printf (out, "<li><a href=\"s/%s/\">%s</a></li>\n",
        name, name);
    g_free (name);
    n++;
  }
  g_string_append_printf (out, "</ul>\n%s", n || http->new_func ? "" :
      "<p>No stream now.</p>\n");
  /* A POST: no prefetch or crawler starts a renderer by following it. */
  if (http->new_func)
    g_string_append_printf (out, "<form method=\"post\" action=\"new\">"
        "%s<button type=\"submit\">Start a new session</button></form>\n",
        http->cfg->token ? "<input type=\"password\" name=\"token\" "
        "placeholder=\"token\" required> " : "");
  g_string_append (out, "</body>\n</html>\n");
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Content-Security-Policy", "default-src 'none'");
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/html; charset=utf-8",
      SOUP_MEMORY_TAKE, out->str, out->len);
  g_string_free (out, FALSE);
}

/* A stream's URLs: rest is the path under /s/NAME (or / for the only
 * one). */
static void
serve_route (VsHttp * http, Route * route, SoupServerMessage * msg,
    const gchar * rest)
{
  if (g_str_equal (rest, "/mjpeg"))
    vs_mjpeg_serve (route->r.mjpeg, msg);
  else if (g_str_equal (rest, "/snapshot.jpg"))
    vs_mjpeg_snapshot (route->r.mjpeg, msg);
  else if (g_str_equal (rest, "/status"))
    serve_status (http, msg, route);
  else if (!vs_janus_serve (route->r.cfg, msg, rest))
    serve_page (msg, rest);
}

static void
http_cb (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  VsHttp *http = data;
  const gchar *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  const gchar *rest;
  Route *route;

  if (http->new_func && g_str_equal (path, "/new")
      && (g_str_equal (method, "GET") || g_str_equal (method, "POST"))) {
    GHashTable *form = NULL;
    const gchar *type;
    SoupMessageBody *body = soup_server_message_get_request_body (msg);

    soup_message_headers_replace (rh, "Cache-Control", "no-store");
    soup_message_headers_replace (rh, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace (rh, "Connection", "close");
    type = soup_message_headers_get_content_type
        (soup_server_message_get_request_headers (msg), NULL);
    if (g_str_equal (method, "POST") && body->length
        && g_strcmp0 (type, "application/x-www-form-urlencoded") == 0) {
      gchar *text = g_strndup (body->data, body->length);
      form = soup_form_decode (text);
      g_free (text);
    }
    http->new_func (msg, form ? form : query, http->new_data);
    if (form)
      g_hash_table_unref (form);
    return;
  }
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
  route = route_of (http, path, &rest);
  if (route) {
    serve_route (http, route, msg, rest);
  } else if (g_str_has_prefix (path, "/s/") && !strchr (path + 3, '/')
      && g_hash_table_contains (http->routes, path + 3)) {
    /* /s/NAME: the page's relative URLs want the slash. Relative, so
     * that it holds under a proxy's sub-path. */
    gchar *to = g_strconcat (path + 3, "/", NULL);
    soup_message_headers_replace (rh, "Location", to);
    g_free (to);
    set_text (msg, 301, "moved\n");
  } else if (g_str_has_prefix (path, "/s/")) {
    set_text (msg, 404, "no such stream (see /)\n");
  } else if (g_str_equal (path, "/status")) {
    serve_status (http, msg, NULL);
  } else if (g_str_equal (path, "/") || g_str_equal (path, "/index.html")) {
    serve_list (http, msg);
  } else {
    set_text (msg, 404, http->order ? "several streams here: each at "
        "/s/NAME/ (see /)\n" : "not found\n");
  }
}

/* ---- life ---- */

GTlsCertificate *
vs_http_load_certificate (const VsConfig * cfg, GError ** error)
{
  GTlsCertificate *cert;
  GError *err = NULL;

  /* The certificate alone first, so that the error names the file at
   * fault. */
  cert = g_tls_certificate_new_from_file (cfg->tls_cert, &err);
  if (cert) {
    g_object_unref (cert);
    cert = g_tls_certificate_new_from_files (cfg->tls_cert, cfg->tls_key,
        &err);
    if (!cert)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "--tls-key wants the PEM private key of --tls-cert, not '%s' (%s)",
          cfg->tls_key, err->message);
  } else if (g_error_matches (err, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "--tls-cert needs GLib's TLS support: install glib-networking (%s)",
        err->message);
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "--tls-cert wants a PEM certificate, not '%s' (%s)", cfg->tls_cert,
        err->message);
  }
  g_clear_error (&err);
  return cert;
}

static gboolean
listen_on (VsHttp * http, GError ** error)
{
  const VsConfig *cfg = http->cfg;
  GInetAddress *ia = g_inet_address_new_from_string (cfg->bind);
  SoupServerListenOptions options = 0;
  GSocketAddress *sa;
  GSList *uris;
  gboolean ok;

  if (!ia) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "--bind wants an IP address, not '%s'", cfg->bind);
    return FALSE;
  }
  if (cfg->tls_cert) {
    GTlsCertificate *cert = vs_http_load_certificate (cfg, error);
    if (!cert) {
      g_object_unref (ia);
      return FALSE;
    }
    g_object_set (http->soup, "tls-certificate", cert, NULL);
    g_object_unref (cert);
    options = SOUP_SERVER_LISTEN_HTTPS;
  }
  sa = g_inet_socket_address_new (ia, cfg->port);
  ok = soup_server_listen (http->soup, sa, options, error);
  g_object_unref (sa);
  g_object_unref (ia);
  if (!ok) {
    g_prefix_error (error, "cannot listen on %s:%u: ", cfg->bind, cfg->port);
    return FALSE;
  }
  uris = soup_server_get_uris (http->soup);
  if (uris) {
    /* Where a browser on this machine finds the page. */
    const gchar *host = g_str_equal (cfg->bind, "0.0.0.0") ? "127.0.0.1" :
        g_str_equal (cfg->bind, "::") ? "::1" : cfg->bind;
    gboolean v6 = strchr (host, ':') != NULL;
    http->url = g_strdup_printf ("%s://%s%s%s:%d/", cfg->tls_cert ? "https" :
        "http", v6 ? "[" : "", host, v6 ? "]" : "",
        g_uri_get_port (uris->data));
  }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return TRUE;
}

static void
route_free (Route * route)
{
  g_free (route->name);
  g_free (route->ws_path);
  g_free (route);
}

void
vs_http_add_route (VsHttp * http, const gchar * name,
    const VsHttpRoute * r)
{
  Route *route = g_new0 (Route, 1);

  g_return_if_fail (!g_hash_table_contains (http->routes, name));
  route->name = g_strdup (name);
  route->ws_path = g_strdup_printf ("/s/%s/ws", name);
  route->r = *r;
  g_hash_table_insert (http->routes, route->name, route);
  http->order = g_list_append (http->order, route);
  soup_server_add_early_handler (http->soup, route->ws_path, ws_early_cb,
      http, NULL);
  soup_server_add_websocket_handler (http->soup, route->ws_path, NULL, NULL,
      ws_cb, http, NULL);
}

void
vs_http_remove_route (VsHttp * http, const gchar * name)
{
  Route *route = g_hash_table_lookup (http->routes, name);

  if (!route)
    return;
  /* Both of its handlers, the early one too. */
  soup_server_remove_handler (http->soup, route->ws_path);
  http->order = g_list_remove (http->order, route);
  g_hash_table_remove (http->routes, name);
}

VsHttp *
vs_http_new (const VsConfig * cfg, GError ** error)
{
  VsHttp *http = g_new0 (VsHttp, 1);

  http->cfg = cfg;
  http->routes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) route_free);
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
  g_list_free (http->order);
  g_hash_table_unref (http->routes);
  g_free (http->url);
  g_free (http);
}

const gchar *
vs_http_url (VsHttp * http)
{
  return http->url;
}

void
vs_http_set_new_handler (VsHttp * http, VsHttpNewFunc func, gpointer data)
{
  http->new_func = func;
  http->new_data = data;
}

guint64
vs_http_rejected (VsHttp * http)
{
  return http->rejected;
}
