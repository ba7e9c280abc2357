/* vizstream-server: who controls (vs-roles.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-roles.h"

gint
vs_roles_assign (VsControlPolicy policy, gboolean token_configured,
    VsRoleSeat * seats, guint n)
{
  gboolean taken = FALSE, token_present = FALSE;
  gint leader = -1, oldest = -1;

  for (guint i = 0; i < n; i++)
    token_present |= seats[i].joined && seats[i].has_token;
  for (guint i = 0; i < n; i++) {
    VsRoleSeat *s = &seats[i];
    gboolean controls = FALSE;

    s->controls = FALSE;
    if (!s->joined)
      continue;
    if (oldest < 0)
      oldest = i;
    switch (policy) {
      case VS_CONTROL_ALL:
        controls = !s->view_only;
        break;
      case VS_CONTROL_NONE:
        controls = FALSE;
        break;
      case VS_CONTROL_TOKEN:
        controls = !s->view_only && s->has_token;
        break;
      case VS_CONTROL_FIRST:
        if (token_configured && token_present)
          /* A token holder takes control from a first viewer that has
           * none. */
          controls = s->has_token && !s->view_only;
        else
          controls = !s->view_only && !taken;
        break;
    }
    s->controls = controls;
    if (controls) {
      taken = TRUE;
      if (leader < 0)
        leader = i;
    }
  }
  return leader >= 0 ? leader : oldest;
}
