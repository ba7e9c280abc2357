/* vizstream-server: who controls the renderer, as a pure function of the
 * viewers (oldest first) and the policy (docs/server.md, "Control").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "vs-config.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean joined;              /* said hello (and is not closed) */
  gboolean has_token;
  gboolean view_only;           /* asked by its page */
  gboolean controls;            /* out */
} VsRoleSeat;

/* Fills seats[i].controls (docs/server.md, "Control": with a token
 * configured only its holders control, whatever the policy); returns the index of the viewer the main
 * encode follows (the first controller, else the oldest joined viewer),
 * or -1 when nobody joined. */
gint vs_roles_assign (VsControlPolicy policy, gboolean token_configured,
    VsRoleSeat * seats, guint n);

/* Whether a viewer's token is the server's, compared in a time that does
 * not tell where they differ. */
gboolean vs_roles_token_matches (const gchar * expected, const gchar * given);

G_END_DECLS
