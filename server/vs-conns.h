/* vizstream-server: connections. Every connection libsoup accepts has
 * --request-timeout seconds to send a whole request (its headers, from a
 * fresh or a kept-alive connection), a kept-alive connection waits
 * --idle-timeout seconds for its next request, and one address holds at
 * most --max-connections-per-address at once: one over it is closed as
 * soon as it is accepted. Connections taken from libsoup (WebSocket,
 * /mjpeg) count until they close but no timer applies to them. Refusals
 * are logged, a line for the first from an address and then a summary at
 * most every few seconds. Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "vs-config.h"

G_BEGIN_DECLS

typedef struct _VsConns VsConns;

/* Watches soup's connections from now on (its request signals). */
VsConns *vs_conns_new (SoupServer * soup, const VsConfig * cfg);
/* Once soup listens: its accept queue made longer. */
void vs_conns_listening (VsConns * conns);
/* Before soup_server_disconnect: forgets every connection, closes none. */
void vs_conns_free (VsConns * conns);

G_END_DECLS
