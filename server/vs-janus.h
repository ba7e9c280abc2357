/* vizstream-server: Janus edges and their spectators' page.
 *
 * Each --janus-rtp HOST:PORT is a leg on the main encode's tee,
 *
 *   queue (leaky) ! rtph264pay (or rtpvp8pay) ! rtpsession
 *       ! udpsink HOST:PORT        (RTP)
 *       ! udpsink HOST:PORT+1      (RTCP sender reports)
 *   udpsrc ! rtpsession            (RTCP from Janus: PLI, FIR)
 *
 * on one UDP socket, so that Janus, which answers to the address its RTCP
 * came from, reaches the encoder with its key-frame requests. No encode of
 * its own; a Janus that is absent or restarts costs only its packets.
 * /watch is the spectators' page: janus.js playing --janus-mountpoint from
 * one of the --janus-url edges.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include "vs-variant.h"

G_BEGIN_DECLS

typedef struct _VsJanusSet VsJanusSet;

VsJanusSet *vs_janus_new (VsMedia * media, VsEncodes * encodes,
    const VsConfig * cfg);
void vs_janus_free (VsJanusSet * set);
/* Once a second: states (one log line per change), the status line. */
void vs_janus_tick (VsJanusSet * set, GString * line);
void vs_janus_describe (VsJanusSet * set, JsonBuilder * b);

/* /watch and what it loads (watch/watch.js, watch/watch.css, watch/config,
 * watch/janus.js, watch/adapter.js): TRUE when path is one of them
 * (answered). */
gboolean vs_janus_serve (const VsConfig * cfg, SoupServerMessage * msg,
    const gchar * path);

G_END_DECLS
