/* vizstream-server: HTTP. Each stream is a route at /s/NAME/ with the
 * page (a GResource), /status, /mjpeg, /snapshot.jpg, and /ws with its
 * Origin check and viewer limit; a new signalling connection goes up
 * through its VsHttpRoute. With exactly one (listed) route, its URLs are
 * also at /; otherwise / lists the streams and /status shows them all.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-mjpeg.h"

G_BEGIN_DECLS

/* One stream's URLs (filled in by the server, the module above). */
typedef struct
{
  const VsConfig *cfg;          /* the stream's: its token */
  VsMjpeg *mjpeg;
  gboolean listed;              /* on / and /status (else by its URL only) */
  /* May another viewer join? (--max-viewers) */
  gboolean (*can_accept) (gpointer data);
  /* A page opened its /ws (the connection is the stream's now). */
  void (*websocket) (SoupWebsocketConnection * ws, const gchar * address,
      gpointer data);
  /* its /status: the stream's members of the object. */
  void (*status) (JsonBuilder * b, gpointer data);
  gpointer data;
} VsHttpRoute;

typedef struct _VsHttp VsHttp;

/* Listening on --bind:--port when it returns; no routes yet. */
VsHttp *vs_http_new (const VsConfig * cfg, GError ** error);
/* /s/NAME/ and what it holds, answered from now on (name checked by the
 * caller: vs_config_stream_name_ok, unique). */
void vs_http_add_route (VsHttp * http, const gchar * name,
    const VsHttpRoute * route);
/* Gone from now on: its URLs answer 404. Open WebSockets are the
 * stream's to close. */
void vs_http_remove_route (VsHttp * http, const gchar * name);
void vs_http_free (VsHttp * http);
const gchar *vs_http_url (VsHttp * http);
/* The --tls-cert and --tls-key pair for HTTPS and WSS, or NULL with an
 * error that names the option and file at fault. */
GTlsCertificate *vs_http_load_certificate (const VsConfig * cfg,
    GError ** error);
/* /new (GET or POST; renderers on demand, vs-sessions.h): func answers
 * it (it may pause the message). query: the URL's query, or a POST's
 * form; NULL when there is none. Without a handler /new is 404. */
typedef void (*VsHttpNewFunc) (SoupServerMessage * msg, GHashTable * query,
    gpointer data);
void vs_http_set_new_handler (VsHttp * http, VsHttpNewFunc func,
    gpointer data);

/* WebSocket upgrades refused (origin, viewer limit). */
guint64 vs_http_rejected (VsHttp * http);

/* A page from elsewhere must not drive the renderer: the Origin's host
 * must be the Host the page was served from, or one of allowed ("*" for
 * any). No Origin (not a browser) is allowed. */
gboolean vs_http_origin_allowed (gchar ** allowed, const gchar * origin,
    const gchar * host);

G_END_DECLS
