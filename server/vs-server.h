/* vizstream-server: the server. It holds the options, HTTP (and its
 * connections), the main loop, the status line and a table of streams
 * by name (vs-stream.h), each at /s/NAME/.
 *
 * Streams come from the command line (--segment, repeatable) and may be
 * added and removed while the server runs, on the main loop
 * (docs/architecture.md "Streams"):
 *
 *   VsStreamSpec spec = { .name = "alice", .segment = "vz-alice" };
 *   if (!vs_server_add_stream (server, &spec, &error)) ...
 *   ...
 *   vs_server_remove_stream (server, "alice", "the session ended");
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vs-stream.h"

G_BEGIN_DECLS

typedef struct _VsServer VsServer;

/* Makes the stream, starts its pipeline and answers its URLs from now on
 * (/s/NAME/; at / too while it is the only listed stream). FALSE, with
 * a message for the user in error, when the name is not
 * [A-Za-z0-9_-]{1,64}, is taken, or the stream cannot start (a missing
 * element; a renderer not there yet is no error: its page waits). */
gboolean vs_server_add_stream (VsServer * server, const VsStreamSpec * spec,
    GError ** error);
/* Ends it now: its pages get {"type":"ended","reason":REASON} and their
 * connection closes with REASON; its URLs answer 404; its pipeline,
 * viewers, timers are given back. FALSE when there is no such stream.
 * Not from inside one of the stream's own callbacks. */
gboolean vs_server_remove_stream (VsServer * server, const gchar * name,
    const gchar * reason);
/* The stream named so, or NULL. */
VsStream *vs_server_find_stream (VsServer * server, const gchar * name);
guint vs_server_n_streams (VsServer * server);

/* When a stream fails (its pipeline, outside every viewer) it is removed
 * and its pages told; when the last one is gone the server stops with
 * status 1, unless told here that it may run without streams (a server
 * that makes streams on demand). Also names the stream in every log line
 * of the streams added after it. */
void vs_server_set_run_empty (VsServer * server, gboolean run_empty);

G_END_DECLS
