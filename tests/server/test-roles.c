/* Unit tests: who controls, for every policy (server/vs-roles.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>
#include "vs-roles.h"

/* seats as a string, oldest first: 'v' joined, 't' joined with the token,
 * 'o' view-only, 'O' view-only with the token, '-' not joined yet.
 * Returns the controllers as a string of 'C' and '.', and the leader. */
static gchar *
assign (VsControlPolicy policy, gboolean token, const gchar * who,
    gint * leader)
{
  guint n = strlen (who);
  VsRoleSeat *seats = g_new0 (VsRoleSeat, n);
  gchar *out = g_malloc0 (n + 1);

  for (guint i = 0; i < n; i++) {
    seats[i].joined = who[i] != '-';
    seats[i].has_token = who[i] == 't' || who[i] == 'O';
    seats[i].view_only = who[i] == 'o' || who[i] == 'O';
  }
  *leader = vs_roles_assign (policy, token, seats, n);
  for (guint i = 0; i < n; i++)
    out[i] = seats[i].controls ? 'C' : '.';
  g_free (seats);
  return out;
}

static void
check (VsControlPolicy policy, gboolean token, const gchar * who,
    const gchar * want, gint want_leader)
{
  gint leader;
  gchar *got = assign (policy, token, who, &leader);

  if (g_strcmp0 (got, want) != 0 || leader != want_leader)
    g_error ("policy %d token %d seats '%s': controls '%s' leader %d, "
        "wanted '%s' leader %d", policy, token, who, got, leader, want,
        want_leader);
  g_free (got);
}

static void
test_first (void)
{
  check (VS_CONTROL_FIRST, FALSE, "vvv", "C..", 0);
  check (VS_CONTROL_FIRST, FALSE, "-vv", ".C.", 1);
  check (VS_CONTROL_FIRST, FALSE, "ovv", ".C.", 1);
  check (VS_CONTROL_FIRST, FALSE, "oo", "..", 0);
  check (VS_CONTROL_FIRST, FALSE, "", "", -1);
  check (VS_CONTROL_FIRST, FALSE, "--", "..", -1);
}

static void
test_first_with_token (void)
{
  /* Alone without the token: view only. */
  check (VS_CONTROL_FIRST, TRUE, "v", ".", 0);
  check (VS_CONTROL_FIRST, TRUE, "vv", "..", 0);
  /* The oldest token holder controls; the others watch. */
  check (VS_CONTROL_FIRST, TRUE, "vtv", ".C.", 1);
  check (VS_CONTROL_FIRST, TRUE, "vtt", ".C.", 1);
  /* A view-only token holder does not control; the next holder does. */
  check (VS_CONTROL_FIRST, TRUE, "vO", "..", 0);
  check (VS_CONTROL_FIRST, TRUE, "Ovt", "..C", 2);
}

static void
test_all_none_token (void)
{
  check (VS_CONTROL_ALL, FALSE, "vov", "C.C", 0);
  check (VS_CONTROL_ALL, FALSE, "ov", ".C", 1);
  /* all with a token: every holder, nobody else. */
  check (VS_CONTROL_ALL, TRUE, "vtOt", ".C.C", 1);
  check (VS_CONTROL_ALL, TRUE, "vv", "..", 0);
  check (VS_CONTROL_NONE, TRUE, "tvt", "...", 0);
  check (VS_CONTROL_NONE, FALSE, "vv", "..", 0);
  check (VS_CONTROL_TOKEN, TRUE, "vvtO", "..C.", 2);
  check (VS_CONTROL_TOKEN, TRUE, "vtt", ".CC", 1);
  check (VS_CONTROL_TOKEN, TRUE, "vv", "..", 0);
}

static void
test_token_matches (void)
{
  g_assert_true (vs_roles_token_matches ("s3cret", "s3cret"));
  g_assert_false (vs_roles_token_matches ("s3cret", "s3cre"));
  g_assert_false (vs_roles_token_matches ("s3cret", "s3crets"));
  g_assert_false (vs_roles_token_matches ("s3cret", "S3cret"));
  g_assert_false (vs_roles_token_matches ("s3cret", ""));
  g_assert_false (vs_roles_token_matches ("s3cret", NULL));
  g_assert_false (vs_roles_token_matches (NULL, "x"));
  g_assert_false (vs_roles_token_matches ("", ""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/roles/first", test_first);
  g_test_add_func ("/roles/first-with-token", test_first_with_token);
  g_test_add_func ("/roles/all-none-token", test_all_none_token);
  g_test_add_func ("/roles/token-matches", test_token_matches);
  return g_test_run ();
}
