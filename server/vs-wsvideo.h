/* vizstream-server: video over the viewer's WebSocket, for pages that
 * cannot do WebRTC, in one bin of its own:
 *
 *   [bin "wsviewerN"] queue(leaky, 300 ms) ! appsink
 *
 * hanging off an encode's tee (a VsLeg). Each encoded frame is one binary
 * message: a 24-byte header (docs/server.md) and the frame as the encoder
 * made it, for the page's WebCodecs VideoDecoder. At most WS_IN_FLIGHT
 * frames are unacknowledged: past that, frames are dropped until the next
 * key frame, which is asked for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-variant.h"

G_BEGIN_DECLS

typedef struct _VsWsVideo VsWsVideo;

/* failed (main loop) is called when an error comes from inside its bin. */
VsWsVideo *vs_ws_video_new (guint id, VsMedia * media, VsEncodes * encodes,
    SoupWebsocketConnection * ws, void (*failed) (const gchar * reason,
        gpointer data), gpointer data, GError ** error);
void vs_ws_video_close (VsWsVideo * wsv);
/* The page acknowledged frame seq. */
void vs_ws_video_ack (VsWsVideo * wsv, guint32 seq);
void vs_ws_video_describe (VsWsVideo * wsv, JsonBuilder * b);
void vs_ws_video_post_test_error (VsWsVideo * wsv);

G_END_DECLS
