/* vizstream-server: who controls (vs-roles.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-roles.h"

#include <string.h>

gint
vs_roles_assign (VsControlPolicy policy, gboolean token_configured,
    VsRoleSeat * seats, guint n)
{
  gboolean taken = FALSE;
  gint leader = -1, oldest = -1;

  for (guint i = 0; i < n; i++) {
    VsRoleSeat *s = &seats[i];
    /* With a token, only its holders may control, whatever the policy. */
    gboolean may = s->joined && !s->view_only
        && (!token_configured || s->has_token);

    s->controls = FALSE;
    if (!s->joined)
      continue;
    if (oldest < 0)
      oldest = i;
    switch (policy) {
      case VS_CONTROL_ALL:
      case VS_CONTROL_TOKEN:
        s->controls = may;
        break;
      case VS_CONTROL_NONE:
        break;
      case VS_CONTROL_FIRST:
        s->controls = may && !taken;
        break;
    }
    if (s->controls) {
      taken = TRUE;
      if (leader < 0)
        leader = i;
    }
  }
  return leader >= 0 ? leader : oldest;
}

gboolean
vs_roles_token_matches (const gchar * expected, const gchar * given)
{
  gsize ne, ng;
  guint diff;

  if (!expected || !given)
    return FALSE;
  ne = strlen (expected);
  ng = strlen (given);
  /* Time independent of where they differ (not of the length). */
  diff = ne != ng;
  for (gsize i = 0; i < ng; i++)
    diff |= (guint) (guchar) given[i] ^ (guchar) expected[i % MAX (ne, 1)];
  return diff == 0 && ne > 0;
}
