/* vizstream-server: one viewer: its signalling connection (/ws), the
 * messages it sends (parsed by vs-signal.c), its transport (WebRTC,
 * video over the WebSocket, or input only for MJPEG pages) and its input
 * on the way to the renderer (rate limit, then vs-input.c's policy).
 *
 * Who controls is decided above (vs-server.c with vs-roles.c) and given
 * with vs_viewer_set_role(); news goes up through VsViewerHooks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-input.h"
#include "vs-webrtc.h"
#include "vs-wsvideo.h"

G_BEGIN_DECLS

typedef struct _VsViewer VsViewer;

typedef struct
{
  /* It said hello: roles are to be assigned again (main loop). */
  void (*joined) (VsViewer * viewer, gpointer data);
  /* It is gone (main loop): drop it from the list, assign roles again. */
  void (*closed) (VsViewer * viewer, gpointer data);
  /* Input it sent as the controlling viewer, handed to the renderer (main
   * loop): for the recording. May be NULL. */
  void (*input) (VsViewer * viewer, const gchar * text, gsize len,
      gpointer data);
  gpointer data;
} VsViewerHooks;

/* What every viewer shares, owned by the server. */
typedef struct
{
  const VsConfig *cfg;
  VsMedia *media;
  VsEncodes *encodes;
  VsViewerHooks hooks;
  guint64 view_only_dropped;    /* input from viewers that do not control */
} VsViewerContext;

/* Read by the server; written here (main loop). */
struct _VsViewer
{
  gint ref;                     /* atomic */
  guint id;
  VsViewerContext *ctx;
  SoupWebsocketConnection *ws;
  gchar *address;
  gchar *transport;             /* after hello: webrtc, ws or mjpeg */
  gchar *h264_main;             /* after hello: VsSignal's, or NULL */
  gboolean joined;              /* said hello */
  gboolean has_token;
  gboolean view_only;           /* asked by the page */
  gboolean controls;
  gboolean role_sent;
  gboolean closed;
  gint64 joined_us;
  guint bad_messages;
  gulong message_id, closed_id;
  guint64 events_in, events_dropped, bytes_in, events_rate_limited;
  gdouble input_tokens;         /* token bucket, --max-input-rate */
  gint64 input_refill_us;
  VsWebrtcPeer *rtc;
  VsWsVideo *wsv;
  VsInput *input;
};

VsViewer *vs_viewer_new (VsViewerContext * ctx, guint id,
    SoupWebsocketConnection * ws, const gchar * address);
VsViewer *vs_viewer_ref (VsViewer * viewer);
void vs_viewer_unref (VsViewer * viewer);
/* Ends the session: transport, input, connection (reason to its page). */
void vs_viewer_close (VsViewer * viewer, const gchar * reason);

void vs_viewer_send_text (VsViewer * viewer, const gchar * text);
void vs_viewer_send_error (VsViewer * viewer, const gchar * message);
/* Tells the page its role when it changed (or was never told). */
void vs_viewer_set_role (VsViewer * viewer, gboolean controls);
/* Its WebRTC leg with this tick's link figures, or NULL. */
VsLeg *vs_viewer_measure (VsViewer * viewer);
VsLeg *vs_viewer_leg (VsViewer * viewer);
void vs_viewer_describe (VsViewer * viewer, JsonBuilder * b);

G_END_DECLS
