/* vizstream-server: HTTP. The page (a GResource), /status, /mjpeg,
 * /snapshot.jpg, and /ws with its Origin check and viewer limit; a new
 * signalling connection goes up through VsHttpHooks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-mjpeg.h"

G_BEGIN_DECLS

typedef struct
{
  /* May another viewer join? (--max-viewers) */
  gboolean (*can_accept) (gpointer data);
  /* A page opened /ws (it is the server's now). */
  void (*websocket) (SoupWebsocketConnection * ws, const gchar * address,
      gpointer data);
  /* /status: the server's members of the object. */
  void (*status) (JsonBuilder * b, gpointer data);
  gpointer data;
} VsHttpHooks;

typedef struct _VsHttp VsHttp;

/* Listening on --bind:--port when it returns. */
VsHttp *vs_http_new (const VsConfig * cfg, VsMjpeg * mjpeg,
    const VsHttpHooks * hooks, GError ** error);
void vs_http_free (VsHttp * http);
const gchar *vs_http_url (VsHttp * http);
/* The --tls-cert and --tls-key pair for HTTPS and WSS, or NULL with an
 * error that names the option and file at fault. */
GTlsCertificate *vs_http_load_certificate (const VsConfig * cfg,
    GError ** error);
/* WebSocket upgrades refused (origin, viewer limit). */
guint64 vs_http_rejected (VsHttp * http);

/* A page from elsewhere must not drive the renderer: the Origin's host
 * must be the Host the page was served from, or one of allowed ("*" for
 * any). No Origin (not a browser) is allowed. */
gboolean vs_http_origin_allowed (gchar ** allowed, const gchar * origin,
    const gchar * host);

G_END_DECLS
