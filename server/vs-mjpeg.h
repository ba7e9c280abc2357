/* vizstream-server: MJPEG (/mjpeg) and snapshots (/snapshot.jpg).
 *
 *   raw tee ! [bin "mjpeg"] queue(1, leaky) ! valve ! [fps cap]
 *       ! videoconvertscale ! jpegenc ! appsink
 *
 * open while somebody watches /mjpeg or asks for /snapshot.jpg. A client
 * gets the newest frame when it has taken the previous one: a slow client
 * skips frames, nothing queues up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-media.h"

G_BEGIN_DECLS

typedef struct _VsMjpeg VsMjpeg;

VsMjpeg *vs_mjpeg_new (VsMedia * media, const VsConfig * cfg,
    GError ** error);
void vs_mjpeg_free (VsMjpeg * m);
/* GET /mjpeg: takes the connection from libsoup. */
void vs_mjpeg_serve (VsMjpeg * m, SoupServerMessage * msg);
/* GET /snapshot.jpg: the newest picture, or the next one. */
void vs_mjpeg_snapshot (VsMjpeg * m, SoupServerMessage * msg);
void vs_mjpeg_tick (VsMjpeg * m, GString * line);
void vs_mjpeg_describe (VsMjpeg * m, JsonBuilder * b);

G_END_DECLS
