/* vizstream-server: one stream. Everything that belongs to one renderer
 * (one segment, or --pipeline, or an embedder's source):
 *
 *   media core -> encodes -> RTMP, Janus, recording, MJPEG
 *     -> viewers, who controls, the renderer's messages
 *
 * and the URLs vs-http.c answers for it (vs_stream_route). An error in
 * its pipeline outside every branch ends this stream only
 * (VsStreamHooks.failed); the server (vs-server.c) holds the streams by
 * name. Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vs-http.h"

G_BEGIN_DECLS

typedef struct _VsStream VsStream;

/* What a stream is made from (copied). */
typedef struct
{
  const gchar *name;            /* vs_config_stream_name_ok: /s/NAME/ */
  const gchar *segment;         /* the renderer's segment; NULL with
                                 * --pipeline or an embedder */
  const gchar *token;           /* its own token; NULL: the server's */
  gboolean unlisted;            /* not on / nor /status: by its URL only */
  const gchar *restart;         /* a session's: where a new one starts,
                                 * relative to its page, told to the pages
                                 * when it ends; NULL: none */
} VsStreamSpec;

typedef struct
{
  /* Its pipeline failed outside every branch: it cannot go on. Called
   * from the pipeline's bus watch: free it later, not from here. */
  void (*failed) (VsStream * stream, const gchar * message, gpointer data);
  gpointer data;
} VsStreamHooks;

/* What a stream did in the last second (the status line). */
typedef struct
{
  gdouble fps, kbps;
  guint target;                 /* the main encode's bitrate, kbit/s */
  guint viewers, controlling;
} VsStreamTick;

/* Makes and starts it: cfg is the server's (kept by reference; it must
 * outlive the stream). NULL with the reason in error. */
VsStream *vs_stream_new (const VsConfig * cfg, const VsStreamSpec * spec,
    const VsStreamHooks * hooks, GError ** error);
/* Ends it: each page is told reason ({"type":"ended"}), then everything
 * is given back (viewers, branches, pipeline, timers). */
void vs_stream_free (VsStream * stream, const gchar * reason);

const gchar *vs_stream_name (VsStream * stream);
/* Its URLs for vs_http_add_route. */
void vs_stream_route (VsStream * stream, VsHttpRoute * route);
const gchar *vs_stream_encoder_name (VsStream * stream);
guint vs_stream_n_viewers (VsStream * stream);
/* Once a second: the controller, the encodes' figures; line gets the
 * RTMP, Janus, recording and MJPEG parts (NULL: quiet). */
void vs_stream_tick (VsStream * stream, VsStreamTick * out, GString * line);

G_END_DECLS
