/* vizstream-server: a controlling viewer's input on its way to the
 * renderer: appsrc ! interactsink (segment, normalized coordinates, the
 * input policy as interactsink's allowed-events), or, for a program that
 * embeds the server, parsed here with the same policy and handed to it.
 *
 * The policy works on parsed events, never on raw text: an event name
 * written with JSON escapes is the same event.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "vs-config.h"

G_BEGIN_DECLS

typedef struct _VsInput VsInput;

/* The event types a controlling viewer may send, as a mask of
 * 1 << (VzEventType - 1): everything but ResizeRequest unless
 * --allow-resize. */
guint vs_input_allowed_mask (const VsConfig * cfg);

VsInput *vs_input_new (const VsConfig * cfg, guint viewer_id);
/* FALSE (error set) when the message could not be delivered at all. */
gboolean vs_input_push (VsInput * input, const gchar * text, gsize len,
    GError ** error);
/* Events refused by the policy so far. */
guint64 vs_input_refused (VsInput * input);
void vs_input_free (VsInput * input);

G_END_DECLS
