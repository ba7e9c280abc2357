/* vizstream-server: RTMP pushes (to nginx-rtmp and the like).
 *
 * Each --rtmp URL is its own small pipeline,
 *   appsrc ! videoconvertscale ! I420 ! x264enc (key frame every 2 s)
 *     ! h264parse ! flvmux ! rtmp2sink
 * fed with raw frames from one appsink on the raw tee. A failing RTMP
 * server stops only its own pipeline, rebuilt with backoff; viewers never
 * notice.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include "vs-media.h"

G_BEGIN_DECLS

typedef struct _VsRtmpSet VsRtmpSet;

VsRtmpSet *vs_rtmp_new (VsMedia * media, const VsConfig * cfg,
    GError ** error);
void vs_rtmp_free (VsRtmpSet * set);
void vs_rtmp_tick (VsRtmpSet * set, GString * line);
void vs_rtmp_describe (VsRtmpSet * set, JsonBuilder * b);

G_END_DECLS
