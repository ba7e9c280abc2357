/* vizstream-server: sessions, renderers on demand (--launch). A visit to
 * /new starts one (vs-launch.h): a fresh id, the segment
 * vizstream-session-ID, the renderer run; the answer waits until its
 * segment is valid, then the stream is added, unlisted, at /s/ID/ with a
 * token of its own, and the answer is 303 to s/ID/#token=T (the creator
 * controls; /s/ID/ alone is the spectators' view). A session ends when
 * nobody has watched it for --session-idle-timeout seconds, when its
 * renderer exits (the pages are told, with a link to start another), and
 * with the server. docs/server.md "Sessions". Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vs-stream.h"

G_BEGIN_DECLS

typedef struct _VsSessions VsSessions;

/* What sessions need of the server's table of streams (vs-server.h says
 * what each does; the server, above this module, hands them in). */
typedef struct
{
  gboolean (*add) (const VsStreamSpec * spec, GError ** error,
      gpointer data);
  void (*remove) (const gchar * name, const gchar * reason, gpointer data);
  VsStream *(*find) (const gchar * name, gpointer data);
  gpointer data;
} VsSessionsStreams;

/* Answers /new from now on (cfg->launch is set; cfg, the streams' owner
 * and http outlive it). */
VsSessions *vs_sessions_new (const VsSessionsStreams * streams,
    const VsConfig * cfg, VsHttp * http);
/* The server's stop: every session's stream removed (its pages told),
 * waiting creators answered 503, every renderer ended and reaped before
 * it returns. */
void vs_sessions_free (VsSessions * sessions);
guint vs_sessions_count (VsSessions * sessions);

/* Session ids are 32 lower-case hex digits (vs_launch_new_session_id). */
#define VS_SESSION_DEFAULT_WIDTH 1280
#define VS_SESSION_DEFAULT_HEIGHT 720
#define VS_SESSION_MIN_SIZE 16
#define VS_SESSION_MAX_SIZE 4096

G_END_DECLS
